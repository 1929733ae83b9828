#!/usr/bin/env bash
# Seeds a copy of the appliance's disk image before its first boot, on the ESP (no mount, no
# loop device: mtools from the image's root does it), or makes a seed disk:
#   seed-image.sh DISK --file SEED.conf      copies SEED.conf to the ESP as vlcp-seed.conf
#   seed-image.sh DISK --cmdline 'WORDS'     appends WORDS (vlcp.KEY=VALUE ...) to the boot
#                                            entry's kernel command line
#   seed-image.sh --seed-disk OUT.img --file SEED.conf
#                                            makes OUT.img, a small FAT disk labelled VLCP-SEED
#                                            holding SEED.conf as vlcp-seed.conf: attach it as a
#                                            second disk (it stays read-only; remove it after the
#                                            first boot, it holds the seed's secrets)
# DISK is raw or qcow2 (a qcow2 — an overlay of the shipped vlcp-appliance.qcow2, say — is edited
# through qemu-img convert and qemu-io: the ESP read out, changed, and only the changed blocks written
# back). --file and --cmdline may both be given. The files a seed file names (tls_cert_file,
# tls_key_file: relative to it) are copied beside it, at the same relative paths. The file is
# the place for secrets (token, passwords): the kernel command line is readable by every process
# of the appliance (/proc/cmdline). Checks the seed first with the image's own vlcp-firstboot
# --print. Needs root and build/image/rootfs (make image).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# shellcheck source=appliance/image/lib.sh
. "$here/lib.sh"
root=$(realpath -m "${VLCP_IMAGE_DIR:-$src/build/image}")/rootfs

usage="usage: seed-image.sh DISK [--file SEED.conf] [--cmdline 'vlcp.KEY=VALUE ...'] | --seed-disk OUT.img --file SEED.conf"
[ $# -ge 3 ] || img_die "$usage"
seed_disk=""
if [ "$1" = --seed-disk ]; then
  seed_disk=$(realpath -m "$2")
  shift 2
else
  disk=$(realpath "$1")
  shift
fi
file="" words=""
while [ $# -gt 0 ]; do
  case $1 in
  --file) file=$(realpath "$2"); shift 2 ;;
  --cmdline) words=$2; shift 2 ;;
  *) img_die "unknown argument $1 ($usage)" ;;
  esac
done
[ "$(id -u)" -eq 0 ] || img_die "needs root (chroot)"
[ -x "$root/usr/sbin/vlcp-firstboot" ] || img_die "no appliance root at $root: run make image"
if [ -n "$seed_disk" ]; then
  [ -n "$file" ] && [ -z "$words" ] || img_die "--seed-disk takes a --file (and no --cmdline)"
  [ ! -e "$seed_disk" ] || img_die "$seed_disk exists"
else
  [ -f "$disk" ] || img_die "no disk image $disk"
  format=$(qemu-img info --output=json "$disk" 2>/dev/null | grep -o '"format": "[a-z0-9]*"' | head -1 | cut -d'"' -f4) ||
    format=raw
  case ${format:-raw} in
  raw | qcow2) ;;
  *) img_die "$disk is a $format image (raw or qcow2 only)" ;;
  esac
fi
# The TLS files are named by the file (copied beside it); on the command line they would name
# files already on the ESP, which cannot be checked here.
case " $words " in
*" vlcp.tls_"* | *' "vlcp.tls_'*) img_die "give tls_cert_file and tls_key_file in the --file seed (they are copied beside it)" ;;
esac

# The seed is checked by the image's own parser first: a bad seed is refused here, not at boot.
args=()
[ -n "$file" ] && args+=("$file")
checked=$(printf '%s\n' "$words" | "$root/usr/sbin/vlcp-firstboot" --print --cmdline - "${args[@]}") ||
  img_die "the seed is refused (above); nothing is changed"
# The files the seed file names, relative to it.
extra=()
while IFS= read -r line; do
  case $line in
  tls_cert_file=* | tls_key_file=*) extra+=("${line#*=}") ;;
  esac
done <<<"$checked"

# Beside the output, so a hard link (or the new file) is in the directory bound into the chroot.
if [ -n "$seed_disk" ]; then
  work=$(mktemp -d "$(dirname "$seed_disk")/.seed.XXXXXX")
else
  work=$(mktemp -d "$(dirname "$disk")/.seed.XXXXXX")
fi
trap 'rm -rf "$work"' EXIT
if [ -n "$file" ]; then
  cp "$file" "$work/seed.conf"
  mkdir "$work/extra"
  for f in "${extra[@]}"; do
    rel=${f#"$(dirname "$file")"/}
    mkdir -p "$work/extra/$(dirname "$rel")"
    cp "$f" "$work/extra/$rel"
  done
fi
printf '%s' "$words" >"$work/words"

# copy_seed IMAGE_SPEC (in the chroot): the seed file and its files onto the FAT file system.
copy_seed='
  copy_seed() {
    local fs=$1 d f
    [ -f seed.conf ] || return 0
    mcopy -o -i "$fs" seed.conf ::/vlcp-seed.conf
    (cd extra && find . -mindepth 1 -type d | sort) | while read -r d; do mmd -i "$fs" "::/${d#./}" 2>/dev/null || true; done
    (cd extra && find . -type f | sort) | while read -r f; do mcopy -o -i "$fs" "extra/${f#./}" "::/${f#./}"; done
  }'
if [ -n "$seed_disk" ]; then
  img_in_root "$root" "$work" "
    export MTOOLS_SKIP_CHECK=1
    cd /mnt/work
    $copy_seed
    mkfs.fat -C -n VLCP-SEED seed-disk.img 4096 >/dev/null
    copy_seed seed-disk.img
    mdir -i seed-disk.img -/ ::/ | grep -v '^ *$'
  "
  mv "$work/seed-disk.img" "$seed_disk"
  img_log "seed disk $seed_disk (label VLCP-SEED)"
  exit 0
fi

# The ESP: in place in a raw disk (mtools at its offset); read out of a qcow2 and written back.
if [ "$format" = qcow2 ]; then
  command -v qemu-io >/dev/null || img_die "qemu-io is not installed (qemu-utils)"
  # (the ESP's byte range of the disk, as a raw node over the qcow2; qemu-img dd's skip= would
  # shorten its count= by as much)
  esp_node=$(printf '{"driver": "raw", "offset": %d, "size": %d, "file": {"driver": "qcow2", "file": {"driver": "file", "filename": "%s"}}}' \
    "$IMG_ESP_OFFSET" "$((IMG_ESP_MB * 1024 * 1024))" "$disk")
  qemu-img convert -O raw "json:$esp_node" "$work/esp.raw"
  cp --sparse=always "$work/esp.raw" "$work/esp.orig"
  esp=esp.raw
else
  ln "$disk" "$work/disk.raw"
  esp=disk.raw@@$IMG_ESP_OFFSET
fi
img_in_root "$root" "$work" "
  export MTOOLS_SKIP_CHECK=1
  cd /mnt/work
  $copy_seed
  copy_seed '$esp'
  if [ -s words ]; then
    mtype -i '$esp' ::/loader/entries/vlcp.conf | tr -d '\r' >entry
    awk -v w=\"\$(cat words)\" '/^options[ \t]/ { \$0 = \$0 \" \" w } { print }' entry >entry.new
    mcopy -o -i '$esp' entry.new ::/loader/entries/vlcp.conf
    grep '^options' entry.new
  fi
"
if [ "$format" = qcow2 ]; then
  # Only the 64 KiB blocks mtools changed go back (a few: the FAT, directories, the new files).
  block=65536
  cmds=()
  for b in $({ cmp -l "$work/esp.orig" "$work/esp.raw" || true; } | awk -v s=$block '{ print int(($1 - 1) / s) }' | uniq); do
    dd if="$work/esp.raw" of="$work/block.$b" bs=$block skip="$b" count=1 status=none
    cmds+=(-c "write -q -s $work/block.$b $((IMG_ESP_OFFSET + b * block)) $block")
  done
  [ ${#cmds[@]} -eq 0 ] || qemu-io -f qcow2 "${cmds[@]}" "$disk"
  img_log "$disk: ${#cmds[@]} ESP block(s) of 64 KiB written"
fi
