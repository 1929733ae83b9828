#!/usr/bin/env bash
# The CNI layer against libcni (tests/unit/cni/libcni_oracle/main.go), built offline from
# Debian's golang-github-appc-cni-dev with golang-go: skipped (77) when either is missing.
# Usage: libcni_oracle.sh VLCP_CNI CNI_RENDER
set -u
cni=${1:?usage: libcni_oracle.sh VLCP_CNI CNI_RENDER}
render=${2:?}
here=$(cd "$(dirname "$0")" && pwd)
gocode=/usr/share/gocode
if ! command -v go >/dev/null || [ ! -d "$gocode/src/github.com/containernetworking/cni/libcni" ]; then
  echo "skipped: needs golang-go and golang-github-appc-cni-dev"
  exit 77
fi
work=$(mktemp -d /tmp/vlcp-libcni.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/libcni_oracle" "$work/run"
cp "$here/libcni_oracle/main.go" "$work/src/libcni_oracle/"
# The plugin is found by its type, the binary's name, in the CNI path.
mkdir -p "$work/bin" && ln -s "$(realpath "$cni")" "$work/bin/vlcp-cni"
(cd "$work/src/libcni_oracle" && GO111MODULE=off GOPATH="$work:$gocode" GOCACHE="${GOCACHE:-$work/gocache}" \
  GOFLAGS='' go build -o "$work/libcni_oracle" .) || { echo "FAIL: building the libcni driver"; exit 1; }
"$work/libcni_oracle" "$work/bin/vlcp-cni" "$(realpath "$render")" "$work/run"
