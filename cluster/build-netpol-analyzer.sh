#!/usr/bin/env bash
# Builds the NetworkPolicy analyzer (cyclonus, github.com/mattfenwick/cyclonus) from
# its Go module and caches the binary outside the repo, keyed by version, so only
# the first run on a machine pays for the build (1-2.5 minutes). Prints the path
# of the binary on stdout; the build log goes to stderr.
#
# Why cyclonus: its `analyze --mode query-traffic` evaluates NetworkPolicies
# offline against hand-described traffic (source and destination pods with
# namespace/pod labels and IPs, or bare external IPs; port and protocol), which
# is what we need while the local cluster has no CNI to enforce them. Its go.mod
# has no replace directives, so a plain `go install module@version` builds it.
set -euo pipefail

source "$(dirname "$0")/versions.env"

CACHE_ROOT="${PADDOCK_CACHE:-$HOME/.cache/paddock}"
BIN_DIR="$CACHE_ROOT/bin/cyclonus-${CYCLONUS_VERSION}"
BIN="$BIN_DIR/cyclonus"
BUILD_DIR="$CACHE_ROOT/build/cyclonus-${CYCLONUS_VERSION}"
export GOTOOLCHAIN=local GOSUMDB=off GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0

if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi
mkdir -p "$BIN_DIR" "$BUILD_DIR"
echo "[build-netpol-analyzer] go install cyclonus $CYCLONUS_VERSION into $BIN_DIR (first run on this machine; later runs reuse it)" >&2
GOBIN="$BUILD_DIR" go install -trimpath \
  -ldflags "-s -w -X github.com/mattfenwick/cyclonus/pkg/cli.version=$CYCLONUS_VERSION" \
  "github.com/mattfenwick/cyclonus/cmd/cyclonus@$CYCLONUS_VERSION"
cp "$BUILD_DIR/cyclonus" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
echo "$BIN"
