#!/usr/bin/env bash
# Builds the benchmark peers — virtual-kubelet's `cmd/virtual-kubelet` (mock provider) and kwok's `cmd/kwok` —
# from the Go modules next to this script, into a per-user cache outside the checkout (none of their code is
# vendored or committed here):
#   ${XDG_CACHE_HOME:-$HOME/.cache}/eci-virtual-node/peers/<version-key>/bin/{virtual-kubelet,kwok}
# Same pattern as tools/control-plane/build.sh: the key changes with the versions, the go.mod/go.sum files or this
# recipe, a stamp file marks a finished build, and a lock lets parallel callers wait for one build.
# PEER_BINARIES_DIR=/path skips building (it must hold both executables).
# Next to them: kwok-stages.yaml, kwok's default Stage set (what kwokctl gives kwok), from the module.
# Progress goes to stderr; the bin directory is the last line on stdout.
set -euo pipefail

VK_VERSION=v1.13.0
KWOK_VERSION=v0.8.0
RECIPE=2 # bump when the build flags below change (forces a new cache key)
PEERS=(virtual-kubelet kwok)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '[peers] %s\n' "$*" >&2; }

if [[ -n "${PEER_BINARIES_DIR:-}" ]]; then
  for b in "${PEERS[@]}"; do
    [[ -x "$PEER_BINARIES_DIR/$b" ]] || { log "PEER_BINARIES_DIR=$PEER_BINARIES_DIR has no executable $b"; exit 1; }
  done
  [[ -f "$PEER_BINARIES_DIR/kwok-stages.yaml" ]] || { log "PEER_BINARIES_DIR=$PEER_BINARIES_DIR has no kwok-stages.yaml"; exit 1; }
  log "using prebuilt binaries from PEER_BINARIES_DIR"
  echo "$PEER_BINARIES_DIR"
  exit 0
fi

key_input() {
  echo "vk=$VK_VERSION kwok=$KWOK_VERSION recipe=$RECIPE"
  for m in vk kwok; do cat "$here/$m/go.mod" "$here/$m/go.sum"; done
}
key="vk-$VK_VERSION-kwok-$KWOK_VERSION-$(key_input | sha256sum | cut -c1-12)"
root="${XDG_CACHE_HOME:-$HOME/.cache}/eci-virtual-node/peers/$key"
bin="$root/bin"
stamp="$root/.complete" # written last: its presence means every binary is there

if [[ -f "$stamp" ]]; then
  log "binaries up to date ($key)"
  echo "$bin"
  exit 0
fi

mkdir -p "$root"
exec 9>"$root/.lock"
if ! flock -n 9; then
  log "another build holds $root/.lock; waiting for it"
  flock 9
fi
if [[ -f "$stamp" ]]; then echo "$bin"; exit 0; fi

command -v go >/dev/null || { log "Go >= 1.26 is required to build the benchmark peers (or set PEER_BINARIES_DIR)"; exit 1; }
# Fail loudly instead of fetching another toolchain; ignore any go.work or vendor flags from the environment.
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -mod=readonly"

start=$SECONDS
staging="$root/bin.partial"
rm -rf "$staging" && mkdir -p "$staging"
date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

build() { # NAME MODULE_DIR PACKAGE LDFLAGS
  local name=$1 dir=$2 pkg=$3 ldflags=$4 t0=$SECONDS hb
  log "building $name ($pkg)"
  ( while sleep 60; do log "  ... still building $name ($((SECONDS - t0))s)"; done ) &
  hb=$!
  if ! (cd "$here/$dir" && go build -ldflags "$ldflags" -o "$staging/$name" "$pkg"); then
    kill "$hb" 2>/dev/null || true
    log "FAILED building $name after $((SECONDS - t0))s"
    exit 1
  fi
  kill "$hb" 2>/dev/null || true
  wait "$hb" 2>/dev/null || true
  log "built $name in $((SECONDS - t0))s (total $((SECONDS - start))s)"
}

# Stamps as the upstream Makefile (VK) and hack/releases.sh (kwok) do.
build virtual-kubelet vk github.com/virtual-kubelet/virtual-kubelet/cmd/virtual-kubelet \
  "-s -w -X main.buildVersion=$VK_VERSION -X main.buildTime=$date"
build kwok kwok sigs.k8s.io/kwok/cmd/kwok \
  "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"

# kwok alone has no stages (kwokctl hands it its defaults): take the same defaults kwokctl uses
# (runtime/cluster.go getDefaultNodeStages/getDefaultPodStages, with the Lease heartbeat) from the module.
kwok_dir="$(cd "$here/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
{
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo "---"
    cat "$kwok_dir/kustomize/stage/$f"
  done
} >"$staging/kwok-stages.yaml"

rm -rf "$bin"
mv "$staging" "$bin"
echo "vk=$VK_VERSION kwok=$KWOK_VERSION built=$date seconds=$((SECONDS - start))" >"$stamp"
log "all peers built in $((SECONDS - start))s -> $bin"
echo "$bin"
