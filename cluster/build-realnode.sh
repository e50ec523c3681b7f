#!/usr/bin/env bash
# Builds everything the real kubelet node needs (docs/testing.md, "The real node") and caches it outside the
# repo, keyed by version, so only the first run on a machine pays for it:
#   - kubelet and kube-proxy (KUBE_VERSION) from the same wrapper module as cluster/build-binaries.sh;
#   - kube-router (KUBE_ROUTER_VERSION) by `go install`;
#   - CoreDNS (COREDNS_VERSION) in a wrapper module with only the plugins the cluster uses;
#   - Debian packages (containerd, runc, CNI plugins, catatonit, busybox-static, iptables, ipset, conntrack and
#     whatever libraries of theirs the machine lacks), fetched with `apt-get download` and unpacked with
#     `dpkg -x` into the cache: nothing is installed system-wide and no daemon is started.
# Prints the cache directory on stdout (the build log goes to stderr).
set -euo pipefail

source "$(dirname "$0")/versions.env"

CACHE_ROOT="${PADDOCK_CACHE:-$HOME/.cache/paddock}"
KEY="kube-${KUBE_VERSION}_kube-router-${KUBE_ROUTER_VERSION}_coredns-${COREDNS_VERSION}_r${REALNODE_LAYOUT}"
OUT="$CACHE_ROOT/realnode/$KEY"
BUILD_DIR="$CACHE_ROOT/build"
export GOTOOLCHAIN=local GOSUMDB=off GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0

# The tools, and the libraries they link: always unpacked into the cache, so the cache never depends on what
# the machine happens to have installed (libc excepted).
DEBS=(containerd runc containernetworking-plugins catatonit busybox-static iptables ipset conntrack
  libxtables12 libip4tc2 libip6tc2 libmnl0 libnftnl11 libipset13 libnetfilter-conntrack3 libnfnetlink0 libseccomp2)

if [[ -f "$OUT/.complete" ]]; then
  echo "$OUT"
  exit 0
fi
log() { echo "[build-realnode] $*" >&2; }
if [[ "$(uname -s)" != Linux ]]; then
  echo "build-realnode: a real node needs Linux (this is $(uname -s))" >&2
  exit 2
fi
for tool in go apt-get dpkg; do
  command -v "$tool" >/dev/null || { echo "build-realnode: $tool not found (a real node needs Debian or Ubuntu with Go)" >&2; exit 2; }
done
mkdir -p "$OUT/bin" "$BUILD_DIR"
log "building into $OUT (first run on this machine; later runs reuse it)"
t0=$SECONDS

kube_minor="${KUBE_VERSION#v1.}"
staging_version="v0.${kube_minor}"

build_kube() {
  local dir="$BUILD_DIR/realnode-kube-$KUBE_VERSION"
  mkdir -p "$dir"
  (
    cd "$dir"
    go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" >/dev/null
    local upstream
    upstream="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBE_VERSION.mod"
    {
      echo "module paddock.dev/localcluster/realnode"
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
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubelet"
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
    for b in kubelet kube-proxy; do
      [[ -x "$OUT/bin/$b" ]] && continue
      log "go build $b"
      go build -trimpath -ldflags "$ldflags" -o "$OUT/bin/$b.tmp" "k8s.io/kubernetes/cmd/$b"
      mv "$OUT/bin/$b.tmp" "$OUT/bin/$b"
    done
  )
}

build_kube_router() {
  [[ -x "$OUT/bin/kube-router" ]] && return
  log "go install kube-router"
  GOBIN="$BUILD_DIR/kube-router-$KUBE_ROUTER_VERSION" go install -trimpath -ldflags "-s -w" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
  cp "$BUILD_DIR/kube-router-$KUBE_ROUTER_VERSION/kube-router" "$OUT/bin/kube-router"
}

build_coredns() {
  [[ -x "$OUT/bin/coredns" ]] && return
  local dir="$BUILD_DIR/coredns-$COREDNS_VERSION"
  mkdir -p "$dir"
  (
    cd "$dir"
    go mod download -json "github.com/coredns/coredns@$COREDNS_VERSION" >/dev/null
    local upstream
    upstream="$(go env GOMODCACHE)/cache/download/github.com/coredns/coredns/@v/$COREDNS_VERSION.mod"
    cat >go.mod <<MOD
module paddock.dev/localcluster/coredns

go $(awk '$1=="go"{print $2; exit}' "$upstream")

require github.com/coredns/coredns $COREDNS_VERSION
MOD
    # Only the plugins the cluster's Corefile uses (cluster/src/real-node-dns.ts), in CoreDNS's own order:
    # a build with every plugin pulls in every cloud SDK.
    cat >main.go <<'GO'
// Command coredns is CoreDNS with the plugins a local cluster needs.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	dnsserver.Directives = []string{"ready", "health", "errors", "log", "cache", "kubernetes"}
}

func main() { coremain.Run() }
GO
    go mod tidy >/dev/null
    log "go build coredns"
    go build -trimpath -ldflags "-s -w" -o "$OUT/bin/coredns.tmp" .
    mv "$OUT/bin/coredns.tmp" "$OUT/bin/coredns"
  )
}

fetch_debs() {
  [[ -f "$OUT/debs.txt" ]] && return
  local dl="$BUILD_DIR/realnode-debs"
  rm -rf "$dl" "$OUT/root"
  mkdir -p "$dl" "$OUT/root"
  # A fresh machine has no package lists yet: fetch them once.
  local d
  for d in "${DEBS[@]}"; do
    if ! apt-cache show "$d" >/dev/null 2>&1; then
      log "apt-get update (no package list knows $d)"
      apt-get update -qq >&2
      break
    fi
  done
  # The packages and those of their dependencies this machine lacks: exactly what an install would add.
  local pkgs
  mapfile -t pkgs < <(apt-get install --simulate --no-install-recommends "${DEBS[@]}" 2>/dev/null |
    awk '$1=="Inst"{print $2}')
  # Packages already installed are still needed inside the cache when they are among DEBS themselves.
  for d in "${DEBS[@]}"; do
    printf '%s\n' "${pkgs[@]}" | grep -qx "$d" || pkgs+=("$d")
  done
  log "apt-get download ${pkgs[*]}"
  (cd "$dl" && apt-get -o APT::Sandbox::User=root download "${pkgs[@]}" >&2)
  for deb in "$dl"/*.deb; do
    dpkg -x "$deb" "$OUT/root"
    dpkg-deb -f "$deb" Package Version | paste -sd' ' >>"$OUT/debs.txt.tmp"
  done
  mv "$OUT/debs.txt.tmp" "$OUT/debs.txt"
  rm -rf "$dl"
}

link_tools() {
  local r="$OUT/root" b="$OUT/bin"
  for t in containerd containerd-shim-runc-v2 ctr; do ln -sf "../root/usr/bin/$t" "$b/$t"; done
  ln -sf ../root/usr/bin/runc "$b/runc"
  ln -sf ../root/usr/sbin/ipset "$b/ipset"
  ln -sf ../root/usr/sbin/conntrack "$b/conntrack"
  # Debian picks iptables' backend with update-alternatives; here the nft backend, by name.
  for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sf ../root/usr/sbin/xtables-nft-multi "$b/$t"
  done
  mkdir -p "$OUT/cni"
  ln -sfn ../root/usr/lib/cni "$OUT/cni/bin"
  [[ -x "$r/usr/bin/catatonit" && -x "$r/bin/busybox" ]] || { log "catatonit or busybox missing"; exit 1; }
}

fetch_debs
link_tools
build_coredns
build_kube
build_kube_router
"$OUT/bin/kubelet" --version >&2
touch "$OUT/.complete"
log "done in $((SECONDS - t0)) s"
echo "$OUT"
