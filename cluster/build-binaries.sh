#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok) from Go modules and caches the binaries outside the repo,
# keyed by version, so only the first run on a machine pays for the build.
#
# Why from source, and the recipe (docs/testing.md, "The local control plane"):
# no registry reachable here ships these binaries; k8s.io/kubernetes is built in a
# wrapper module whose go.mod replaces every staging module with its published
# v0.<minor>.<patch>; etcd server/v3 in a second wrapper module; kwok by `go install`.
set -euo pipefail

source "$(dirname "$0")/versions.env"

CACHE_ROOT="${PADDOCK_CACHE:-$HOME/.cache/paddock}"
BIN_DIR="$CACHE_ROOT/bin/k8s-${KUBE_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
BUILD_DIR="$CACHE_ROOT/build"
export GOTOOLCHAIN=local GOSUMDB=off GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0

want=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
missing=()
for b in "${want[@]}"; do [[ -x "$BIN_DIR/$b" ]] || missing+=("$b"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "$BIN_DIR"
  exit 0
fi
mkdir -p "$BIN_DIR" "$BUILD_DIR"
log() { echo "[build-binaries] $*" >&2; }
log "building ${missing[*]} into $BIN_DIR (first run on this machine; later runs reuse it)"

kube_minor="${KUBE_VERSION#v1.}"        # 35.4
staging_version="v0.${kube_minor}"      # v0.35.4

build_kube() {
  local dir="$BUILD_DIR/kube-$KUBE_VERSION"
  mkdir -p "$dir"
  (
    cd "$dir"
    go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" >/dev/null
    local upstream
    upstream="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBE_VERSION.mod"
    {
      echo "module paddock.dev/localcluster/kube"
      echo
      echo "go $(awk '$1=="go"{print $2; exit}' "$upstream")"
      echo
      echo "require k8s.io/kubernetes $KUBE_VERSION"
      echo
      echo "replace ("
      awk '$2=="=>" && $3 ~ /^\.\/staging\// {print "\t" $1 " => " $1 " '"$staging_version"'"}' "$upstream"
      echo ")"
    } >go.mod
    cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
    go mod tidy -e >/dev/null 2>&1 || true
    local major="${KUBE_VERSION#v}"; major="${major%%.*}"
    local minor="${kube_minor%%.*}"
    local ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
      ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    done
    for b in kube-apiserver kube-controller-manager kube-scheduler; do
      [[ -x "$BIN_DIR/$b" ]] && continue
      log "go build $b"
      go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR/$b.tmp" "k8s.io/kubernetes/cmd/$b"
      mv "$BIN_DIR/$b.tmp" "$BIN_DIR/$b"
    done
  )
}

build_etcd() {
  [[ -x "$BIN_DIR/etcd" ]] && return
  local dir="$BUILD_DIR/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  (
    cd "$dir"
    cat >go.mod <<MOD
module paddock.dev/localcluster/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
    cat >main.go <<'GO'
// Command etcd runs the etcd server from go.etcd.io/etcd/server/v3.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    go mod tidy >/dev/null
    log "go build etcd"
    go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/etcd.tmp" .
    mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
  )
}

build_kwok() {
  [[ -x "$BIN_DIR/kwok" ]] && return
  log "go install kwok"
  GOBIN="$BUILD_DIR/kwok-$KWOK_VERSION" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  cp "$BUILD_DIR/kwok-$KWOK_VERSION/kwok" "$BIN_DIR/kwok"
}

build_etcd
build_kwok
build_kube
echo "$BIN_DIR"
