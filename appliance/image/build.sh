#!/usr/bin/env bash
# `make image`: the VLCP appliance, a bootable Debian 12 disk image, from Debian's packages and
# ours (build/deb/*.deb, made by `make deb`). Three stages, each timed:
#   base    mmdebstrap --variant=minbase with appliance/image/packages.list (OVS, OVS-DPDK,
#           systemd, the kernel, systemd-boot, vlcpd's libraries) into a tarball cached in
#           build/image/cache/ under the hash of that list and the mirror: re-runs reuse it.
#   rootfs  the base unpacked into build/image/rootfs (what `systemd-nspawn --boot` boots), our
#           .debs installed with dpkg (apt fetches a dependency the base lacks), the overlay/
#           files (first boot, networkd, the ESP hook, sshd's keys-only drop-ins), fstab,
#           services enabled, the base's SSH host keys removed (each appliance makes its own).
#   disk    build/image/vlcp-appliance.raw (GPT: a 256 MiB ESP with systemd-boot, the kernel
#           and initrd, then the ext4 root made with mke2fs -d, no loop device or mount) and
#           build/image/vlcp-appliance.qcow2 from it. Boots under qemu with OVMF (UEFI).
# Environment: VLCP_IMAGE_DIR (build/image), VLCP_DEB_DIR (build/deb), IMAGE_MIRROR,
# IMAGE_SECURITY_MIRROR, IMAGE_ROOT_MB (the root partition: the root's size + 50 % + 512 MB),
# IMAGE_CMDLINE (added to the boot entry's kernel command line). Needs root and mmdebstrap.
# `build.sh --base-only` makes (or finds) the cached base and stops; `--rootfs-only` stops
# after the rootfs (what the nspawn system test boots).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# shellcheck source=appliance/image/lib.sh
. "$here/lib.sh"

out=$(realpath -m "${VLCP_IMAGE_DIR:-$src/build/image}")
debs=$(realpath -m "${VLCP_DEB_DIR:-$src/build/deb}")
mirror=${IMAGE_MIRROR:-http://deb.debian.org/debian}
security=${IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
root=$out/rootfs
work=$out/work

# A seed on the command line belongs on the disk's entry only (seed-image.sh): first boot removes
# it from there, but this line is also /etc/kernel/cmdline, which every kernel upgrade copies back.
case " ${IMAGE_CMDLINE:-} " in
*" vlcp."*)
  img_die "IMAGE_CMDLINE holds vlcp.* seed words: seed the disk with appliance/image/seed-image.sh instead"
  ;;
esac
[ "$(id -u)" -eq 0 ] || img_die "needs root (mmdebstrap, chroot, mounts)"
command -v mmdebstrap >/dev/null || img_die "mmdebstrap is not installed (apt-get install mmdebstrap)"
command -v mke2fs >/dev/null || img_die "mke2fs is not installed (e2fsprogs)"
case "$out" in
/ | /usr | /usr/* | /etc | /etc/* | /bin | /lib | /sbin) img_die "refusing output directory $out" ;;
esac

mkdir -p "$out/cache"
timings=()
stage_start=0
stage() { stage_start=$(date +%s.%N); img_log "== $1"; }
stage_end() {
  local t
  t=$(awk -v a="$stage_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  timings+=("$1 $t s")
  img_log "== $1: $t s"
}
t_all=$(date +%s.%N)

# --- base (cached) -----------------------------------------------------------------------------
packages=$(grep -v '^\s*#' "$here/packages.list" | awk 'NF { print $1 }' | sort -u | paste -sd, -)
key=$(printf '%s\n' "v1" "$mirror" "$security" "$packages" | sha256sum | cut -c1-16)
base=$out/cache/base-$key.tar
if [ -f "$base" ]; then
  img_log "base root cached: $base"
  timings+=("base cached")
else
  stage "base (mmdebstrap, $(echo "$packages" | tr ',' '\n' | wc -l) packages)"
  rm -f "$out"/cache/base-*.tar "$base.part"
  # A private mount namespace: mmdebstrap's /proc, /sys and /dev mounts in the root never
  # reach the host, even if it is killed.
  setsid unshare --mount --propagation private -- mmdebstrap --quiet --variant=minbase \
    --include="$packages" --format=tar \
    --customize-hook='update-alternatives --root "$1" --auto ovs-vswitchd || true' \
    bookworm "$base.part" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb $security bookworm-security main"
  mv "$base.part" "$base"
  stage_end base
fi

[ "${1:-}" = --base-only ] && exit 0

# --- rootfs ------------------------------------------------------------------------------------
shopt -s nullglob
deb_files=("$debs"/vlcpd_*.deb "$debs"/vlcpctl_*.deb)
shopt -u nullglob
[ ${#deb_files[@]} -ge 2 ] || img_die "no vlcpd_*.deb and vlcpctl_*.deb in $debs (run make deb)"
stage rootfs
if [ -d "$root" ]; then
  # Nothing may still be mounted in an old root (a running nspawn boot): never delete through it.
  if findmnt -rn -o TARGET | awk -v r="$root" 'index($0, r "/") == 1 || $0 == r' | grep -q .; then
    img_die "mounts remain under $root (a container still running?); not replacing it"
  fi
  rm -rf --one-file-system "$root"
fi
rm -rf "$work"
mkdir -p "$root" "$work/debs"
tar -C "$root" --xattrs --xattrs-include='*' --numeric-owner -xpf "$base"
cp "${deb_files[@]}" "$work/debs/"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp -a --no-preserve=ownership "$here/overlay/." "$root/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
img_in_root "$root" "$work" '
  if ! dpkg -i /mnt/work/debs/*.deb; then
    echo "image: dependencies missing from the base root: fetching them" >&2
    apt-get update -q && apt-get install -y -q -f
  fi
  dpkg-query -W -f="\${Package} \${Version} \${db:Status-Status}\n" vlcpd vlcpctl
  [ "$(dpkg-query -W -f="\${db:Status-Status}" vlcpd)" = installed ]
  [ "$(dpkg-query -W -f="\${db:Status-Status}" vlcpctl)" = installed ]
  apt-get clean
  rm -rf /var/lib/apt/lists/*
  systemctl enable vlcpd.service vlcp-firstboot.service systemd-networkd.service \
    openvswitch-switch.service ssh.service
  systemctl set-default multi-user.target
'
rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf"
# No SSH host keys in the image (openssh-server made them in the base; every appliance would
# share them): vlcp-ssh-hostkeys makes each appliance's own at the first boot where sshd runs
# (ssh.service runs only where the seed gave a key: ssh.service.d/10-vlcp.conf).
rm -f "$root"/etc/ssh/ssh_host_*
! compgen -G "$root/etc/ssh/ssh_host_*" >/dev/null || img_die "SSH host keys remain in the root"
rmdir "$root/mnt/work"
echo vlcp >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tvlcp\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# Each appliance gets its own machine id (and OVS system id, unless seeded) on its first boot.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/etc/openvswitch/system-id.conf"
root_uuid=$(cat /proc/sys/kernel/random/uuid)
esp_id=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n' | tr a-f A-F)
esp_uuid=${esp_id:0:4}-${esp_id:4:4}
mkdir -p "$root/boot/efi"
# The ESP on /boot/efi through an automount: mounted when first used (vlcp-firstboot's seed,
# `vlcpctl profile apply`, the kernel hook), waiting for its device then (a slow disk on a busy
# host took more than 30 s to appear: a plain mount with a short device timeout left an empty
# /boot/efi, where the profile's boot entry was not found and the kernel hook skipped the ESP).
cat >"$root/etc/fstab" <<EOF
# <file system>  <mount point>  <type>  <options>  <dump>  <pass>
UUID=$root_uuid  /  ext4  errors=remount-ro  0  1
UUID=$esp_uuid  /boot/efi  vfat  umask=0077,nofail,x-systemd.automount,x-systemd.device-timeout=120s  0  2
EOF
# The kernel command line: the boot entry's options (below) and /etc/kernel/cmdline hold the same,
# so `vlcpctl profile apply` (which edits both) and the kernel hook (which writes the entry's
# options from /etc/kernel/cmdline after a kernel upgrade) keep a perf profile's arguments.
cmdline="root=UUID=$root_uuid rw console=tty0 console=ttyS0,115200${IMAGE_CMDLINE:+ $IMAGE_CMDLINE}"
mkdir -p "$root/etc/kernel"
echo "$cmdline" >"$root/etc/kernel/cmdline"
kver=$(basename "$(ls -d "$root"/lib/modules/* | sort -V | tail -1)")
[ -f "$root/boot/vmlinuz-$kver" ] && [ -f "$root/boot/initrd.img-$kver" ] ||
  img_die "no kernel/initrd for $kver in the root"
stage_end rootfs
if [ "${1:-}" = --rootfs-only ]; then
  rm -rf "$work"
  img_log "wall times: ${timings[*]}"
  exit 0
fi

# --- disk --------------------------------------------------------------------------------------
stage disk
cp "$root/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$work/initrd.img"
cat >"$work/loader.conf" <<EOF
default vlcp.conf
timeout 3
editor no
EOF
cat >"$work/vlcp.conf" <<EOF
title   VLCP appliance (Debian 12, $kver)
linux   /vmlinuz
initrd  /initrd.img
options $cmdline
EOF
root_used_mb=$(du -sm --one-file-system "$root" | cut -f1)
root_mb=${IMAGE_ROOT_MB:-$((root_used_mb * 3 / 2 + 512))}
disk_mb=$((IMG_ROOT_START_MB + root_mb + 1))
mke2fs -q -t ext4 -L vlcp-root -U "$root_uuid" -d "$root" "$work/root.ext4" "${root_mb}M"
img_in_root "$root" "$work" "
  cd /mnt/work
  export MTOOLS_SKIP_CHECK=1
  mkfs.fat -C -F 32 -n VLCP-ESP -i ${esp_id} esp.img $((IMG_ESP_MB * 1024)) >/dev/null
  mmd -i esp.img ::/EFI ::/EFI/BOOT ::/EFI/systemd ::/loader ::/loader/entries
  mcopy -i esp.img /usr/lib/systemd/boot/efi/systemd-bootx64.efi ::/EFI/BOOT/BOOTX64.EFI
  mcopy -i esp.img /usr/lib/systemd/boot/efi/systemd-bootx64.efi ::/EFI/systemd/systemd-bootx64.efi
  mcopy -i esp.img loader.conf ::/loader/loader.conf
  mcopy -i esp.img vlcp.conf ::/loader/entries/vlcp.conf
  mcopy -i esp.img vmlinuz ::/vmlinuz
  mcopy -i esp.img initrd.img ::/initrd.img
  mcopy -i esp.img /usr/share/doc/vlcp-firstboot/vlcp-seed.conf.example ::/vlcp-seed.conf.example
  rm -f disk.raw
  truncate -s ${disk_mb}M disk.raw
  sfdisk -q disk.raw <<EOF
label: gpt
start=${IMG_ESP_START_MB}MiB, size=${IMG_ESP_MB}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
start=${IMG_ROOT_START_MB}MiB, size=${root_mb}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=root
EOF
  dd if=esp.img of=disk.raw bs=1M seek=${IMG_ESP_START_MB} conv=notrunc,sparse status=none
  dd if=root.ext4 of=disk.raw bs=1M seek=${IMG_ROOT_START_MB} conv=notrunc,sparse status=none
  sfdisk -l disk.raw
"
mv "$work/disk.raw" "$out/vlcp-appliance.raw"
rm -f "$out/vlcp-appliance.qcow2"
qemu-img convert -O qcow2 "$out/vlcp-appliance.raw" "$out/vlcp-appliance.qcow2" 2>/dev/null ||
  img_log "qemu-img not installed: no qcow2 (the raw image boots the same)"
cat >"$out/image.env" <<EOF
# written by appliance/image/build.sh
IMAGE_KERNEL=$kver
IMAGE_ROOT_UUID=$root_uuid
IMAGE_ESP_OFFSET=$IMG_ESP_OFFSET
IMAGE_DEBS="$(cd "$work/debs" && ls | tr '\n' ' ')"
IMAGE_BASE=$(basename "$base")
EOF
rm -rf "$work"
stage_end disk

total=$(awk -v a="$t_all" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
img_log "built $out/vlcp-appliance.raw (${disk_mb} MiB, root $root_used_mb MB used) and" \
  "$out/rootfs (kernel $kver) from $(cd "$out" && grep IMAGE_DEBS image.env | cut -d'"' -f2)"
img_log "wall times: ${timings[*]}; total $total s"
