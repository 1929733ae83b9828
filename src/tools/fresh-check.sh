#!/usr/bin/env bash
# `make fresh-check`: proves the README's commands on a pristine Debian 12. Builds a minimal
# bookworm root from Debian's own packages (mmdebstrap --variant=minbase, plus `make`, the one
# package a new user installs by hand), copies the committed HEAD of this checkout into it
# (`git archive HEAD`: no uncommitted file, no build tree), and runs, as root inside it,
#   make deps            (with the host's network: apt-get needs deb.debian.org)
#   make && make unit-test   (in a fresh network namespace with only loopback)
# timing each. The root's /proc, /sys and /dev are mounted in a private mount namespace, so they
# vanish with it even if this script is killed; the root is deleted at the end (FRESH_KEEP=1 keeps
# it). Services never start inside (policy-rc.d exits 101, as on our CI machines): an OVS or
# ZooKeeper started there would share the host's network.
# Environment: FRESH_ROOT (default build/fresh-root), FRESH_MIRROR, FRESH_SECURITY_MIRROR,
# FRESH_KEEP. Needs root; installs mmdebstrap (its own dependency) if missing.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
root=$(realpath -m "${FRESH_ROOT:-$src/build/fresh-root}")
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
security=${FRESH_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
keep=${FRESH_KEEP:-0}
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-check: needs root (mmdebstrap, chroot, mounts)" >&2
  exit 1
fi
case "$root" in
/ | /usr | /usr/* | /etc | /etc/* | /bin | /lib | /sbin)
  echo "fresh-check: refusing root directory $root" >&2
  exit 1
  ;;
esac

if [ "$(dpkg-query -W -f='${db:Status-Status}' mmdebstrap 2>/dev/null || true)" != installed ]; then
  echo "fresh-check: installing mmdebstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap
fi

mounts_under() { findmnt -rn -o TARGET | awk -v r="$root" 'index($0, r "/") == 1 || $0 == r'; }
remove_root() {
  [ -e "$root" ] || return 0
  if [ -n "$(mounts_under)" ]; then
    echo "fresh-check: mounts remain under $root; not deleting it:" >&2
    mounts_under >&2
    return 1
  fi
  rm -rf --one-file-system "$root"
}
cleanup() {
  local rc=$?
  if [ "$keep" = 1 ]; then
    echo "fresh-check: root kept in $root (FRESH_KEEP=1)"
  else
    remove_root || rc=1
  fi
  exit $rc
}
child=""
stop() {
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM -- "-$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit 130
}
remove_root
trap cleanup EXIT
trap stop INT TERM

commit=$(git -C "$src" rev-parse HEAD)
echo "fresh-check: commit $commit into a minbase bookworm root at $root"
t0=$(date +%s)
# mmdebstrap mounts /proc, /sys and /dev in the root while it installs: a private mount namespace
# keeps those mounts off the host even if it is killed.
setsid unshare --mount --propagation private -- mmdebstrap --quiet --variant=minbase --include=make \
  bookworm "$root" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
  "deb $security bookworm-security main" &
child=$!
wait $child
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/root/vlcp"
git -C "$src" archive --format=tar HEAD | tar -x -C "$root/root/vlcp"
t1=$(date +%s)
echo "fresh-check: root ready in $((t1 - t0)) s ($(du -sm "$root" | cut -f1) MB)"

# in_root NETNS COMMAND: COMMAND as root in /root/vlcp inside the root, with a clean environment,
# in a private mount namespace (and a new network namespace when NETNS is 1).
in_root() {
  local net=() setup=""
  if [ "$1" = 1 ]; then
    net=(--net)
    setup="ip link set lo up;"
  fi
  # Its own session, so that an interrupt stops everything it started (and nothing else).
  setsid unshare --mount --propagation private "${net[@]}" -- bash -euo pipefail -c "
    $setup
    mount -t proc proc '$root/proc'
    mount --rbind /sys '$root/sys'
    mount --rbind /dev '$root/dev'
    trap 'umount -R \"$root/dev\" \"$root/sys\" \"$root/proc\" 2>/dev/null || true' EXIT
    chroot '$root' /usr/bin/env -i HOME=/root PATH=$path TERM=dumb \
      /bin/bash -c 'cd /root/vlcp && $2'" &
  child=$!
  wait $child
}

step() {
  local name=$1 start rc=0
  shift
  echo "=== fresh-check: $name ==="
  start=$(date +%s)
  "$@" || rc=$?
  elapsed=$(($(date +%s) - start))
  echo "=== fresh-check: $name: exit $rc after $elapsed s ==="
  return $rc
}
status=0
d_deps=- d_build=- d_unit=-
step "make deps" in_root 0 "make deps" && d_deps=$elapsed || status=1
if [ $status -eq 0 ]; then
  step "make" in_root 1 "make" && d_build=$elapsed || status=1
fi
if [ $status -eq 0 ]; then
  step "make unit-test" in_root 1 "make unit-test" && d_unit=$elapsed || status=1
fi
t2=$(date +%s)
echo "fresh-check: commit ${commit:0:12}: root $((t1 - t0)) s; make deps $d_deps s, make $d_build s," \
  "make unit-test $d_unit s; the three commands $((t2 - t1)) s ($(((t2 - t1) / 60)) min $(((t2 - t1) % 60)) s)"
if [ $status -eq 0 ]; then
  echo "fresh-check: PASS"
else
  echo "fresh-check: FAIL" >&2
fi
exit $status
