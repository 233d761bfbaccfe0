#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-scheduler, kube-controller-manager, kubectl,
# metrics-server) from the Go modules next to this script, into a per-user cache outside the checkout:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/eci-virtual-node/control-plane/<version-key>/bin/
# The key changes when the Kubernetes version, a go.mod/go.sum or this recipe changes, so fresh clones reuse
# a finished build. KUBE_BINARIES_DIR=/path (e.g. a Nix store path) skips building entirely.
# Progress goes to stderr; the bin directory is the last line on stdout.
set -euo pipefail

K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
METRICS_SERVER_VERSION=v0.9.0
RECIPE=1 # bump when the build flags below change (forces a new cache key)
CORE=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '[control-plane] %s\n' "$*" >&2; }

if [[ -n "${KUBE_BINARIES_DIR:-}" ]]; then
  for b in "${CORE[@]}"; do
    [[ -x "$KUBE_BINARIES_DIR/$b" ]] || { log "KUBE_BINARIES_DIR=$KUBE_BINARIES_DIR has no executable $b"; exit 1; }
  done
  [[ -x "$KUBE_BINARIES_DIR/metrics-server" ]] || log "note: no metrics-server in KUBE_BINARIES_DIR (only needed with metricsServer: true)"
  log "using prebuilt binaries from KUBE_BINARIES_DIR"
  echo "$KUBE_BINARIES_DIR"
  exit 0
fi

key_input() {
  echo "k8s=$K8S_VERSION etcd=$ETCD_VERSION metrics-server=$METRICS_SERVER_VERSION recipe=$RECIPE"
  for m in k8s etcd metrics-server; do cat "$here/$m/go.mod" "$here/$m/go.sum"; done
}
key="k8s-$K8S_VERSION-$(key_input | sha256sum | cut -c1-12)"
root="${XDG_CACHE_HOME:-$HOME/.cache}/eci-virtual-node/control-plane/$key"
bin="$root/bin"
stamp="$root/.complete" # written last: its presence means every binary is there

if [[ -f "$stamp" ]]; then
  log "binaries up to date ($key)"
  echo "$bin"
  exit 0
fi

mkdir -p "$root"
# Parallel callers (several test workers, a person running `npm start`) wait for one build instead of racing.
exec 9>"$root/.lock"
if ! flock -n 9; then
  log "another build holds $root/.lock; waiting for it"
  flock 9
fi
if [[ -f "$stamp" ]]; then echo "$bin"; exit 0; fi

command -v go >/dev/null || { log "Go >= 1.26 is required to build the control plane (or set KUBE_BINARIES_DIR)"; exit 1; }
# Fail loudly instead of fetching another toolchain; ignore any go.work or vendor flags from the environment.
export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -mod=readonly"

start=$SECONDS
staging="$root/bin.partial"
rm -rf "$staging" && mkdir -p "$staging"

# Version stamps, as upstream's hack/lib/version.sh does: unstamped binaries report v0.0.0-master.
date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
k8s_ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$date"
done

# build NAME MODULE_DIR PACKAGE LDFLAGS [TAGS]: one binary, with a heartbeat so a 20-minute cold build shows life.
build() {
  local name=$1 dir=$2 pkg=$3 ldflags=$4 tags=${5:-} t0=$SECONDS hb
  log "building $name ($pkg)"
  ( while sleep 60; do log "  ... still building $name ($((SECONDS - t0))s)"; done ) &
  hb=$!
  if ! (cd "$here/$dir" && go build -tags="$tags" -ldflags "$ldflags" -o "$staging/$name" "$pkg"); then
    kill "$hb" 2>/dev/null || true
    log "FAILED building $name after $((SECONDS - t0))s"
    exit 1
  fi
  kill "$hb" 2>/dev/null || true
  wait "$hb" 2>/dev/null || true
  log "built $name in $((SECONDS - t0))s (total $((SECONDS - start))s)"
}

# kube-apiserver first: it pulls in most shared packages, so the later k8s binaries mostly hit GOCACHE.
tags=selinux,notest,grpcnotrace
build kube-apiserver k8s k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags" "$tags"
build kube-controller-manager k8s k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags" "$tags"
build kube-scheduler k8s k8s.io/kubernetes/cmd/kube-scheduler "$k8s_ldflags" "$tags"
build kubectl k8s k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags" "$tags"
build etcd etcd go.etcd.io/etcd/server/v3 "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION"
build metrics-server metrics-server sigs.k8s.io/metrics-server/cmd/metrics-server \
  "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$METRICS_SERVER_VERSION -X k8s.io/client-go/pkg/version.buildDate=$date"

rm -rf "$bin"
mv "$staging" "$bin"
echo "k8s=$K8S_VERSION etcd=$ETCD_VERSION metrics-server=$METRICS_SERVER_VERSION built=$date seconds=$((SECONDS - start))" >"$stamp"
log "all binaries built in $((SECONDS - start))s -> $bin"
echo "$bin"
