#!/usr/bin/env bash
# Seeds a copy of the appliance's disk image before its first boot, on the ESP (no mount, no
# loop device: mtools from the image's root does it):
#   seed-image.sh DISK.raw --file SEED.conf      copies SEED.conf to the ESP as vlcp-seed.conf
#   seed-image.sh DISK.raw --cmdline 'WORDS'     appends WORDS (vlcp.KEY=VALUE ...) to the boot
#                                                entry's kernel command line
# Both may be given. The file is the place for secrets (token, passwords): the kernel command
# line is readable by every process of the appliance (/proc/cmdline). Checks the seed first with
# the image's own vlcp-firstboot --print. Needs root and build/image/rootfs (make image).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# shellcheck source=appliance/image/lib.sh
. "$here/lib.sh"
root=$(realpath -m "${VLCP_IMAGE_DIR:-$src/build/image}")/rootfs

[ $# -ge 3 ] || img_die "usage: seed-image.sh DISK.raw [--file SEED.conf] [--cmdline 'vlcp.KEY=VALUE ...']"
disk=$(realpath "$1")
shift
file="" words=""
while [ $# -gt 0 ]; do
  case $1 in
  --file) file=$(realpath "$2"); shift 2 ;;
  --cmdline) words=$2; shift 2 ;;
  *) img_die "unknown argument $1" ;;
  esac
done
[ "$(id -u)" -eq 0 ] || img_die "needs root (chroot)"
[ -x "$root/usr/sbin/vlcp-firstboot" ] || img_die "no appliance root at $root: run make image"
[ -f "$disk" ] || img_die "no disk image $disk"
case $(qemu-img info --output=json "$disk" 2>/dev/null | grep -o '"format": "[a-z0-9]*"' || echo raw) in
*raw*) ;;
*) img_die "$disk is not a raw image (seed a raw copy, then convert)" ;;
esac

# The seed is checked by the image's own parser first: a bad seed is refused here, not at boot.
args=()
[ -n "$file" ] && args+=("$file")
printf '%s\n' "$words" | "$root/usr/sbin/vlcp-firstboot" --print --cmdline - "${args[@]}" >/dev/null ||
  img_die "the seed is refused (above); the image is unchanged"

# Beside the disk, so a hard link puts it in the directory bound into the chroot.
work=$(mktemp -d "$(dirname "$disk")/.seed.XXXXXX")
trap 'rm -rf "$work"' EXIT
ln "$disk" "$work/disk.raw"
[ -n "$file" ] && cp "$file" "$work/seed.conf"
printf '%s' "$words" >"$work/words"
img_in_root "$root" "$work" "
  export MTOOLS_SKIP_CHECK=1
  cd /mnt/work
  esp=disk.raw@@$IMG_ESP_OFFSET
  if [ -f seed.conf ]; then mcopy -o -i \$esp seed.conf ::/vlcp-seed.conf; fi
  if [ -s words ]; then
    mtype -i \$esp ::/loader/entries/vlcp.conf | tr -d '\r' >entry
    awk -v w=\"\$(cat words)\" '/^options[ \t]/ { \$0 = \$0 \" \" w } { print }' entry >entry.new
    mcopy -o -i \$esp entry.new ::/loader/entries/vlcp.conf
    grep '^options' entry.new
  fi
"
