# Shared by appliance/image/build.sh, seed-image.sh and the image tests. Sourced, not run.
# shellcheck shell=bash disable=SC2034  # the layout variables are for the scripts that source it

img_log() { echo "image: $*" >&2; }
img_die() {
  echo "image: error: $*" >&2
  exit 1
}

# img_in_root ROOT WORKDIR COMMAND: runs COMMAND (bash) as root chrooted into ROOT with /proc,
# /sys and /dev mounted and WORKDIR bound at /mnt/work, all in a private mount namespace (the
# mounts vanish with it even if this is killed). The image's own tools (mkfs.fat, mtools,
# sfdisk, apt) do the work, so the host needs no more than mmdebstrap, e2fsprogs and util-linux.
img_in_root() {
  local root=$1 work=$2 cmd=$3
  mkdir -p "$root/mnt/work"
  setsid unshare --mount --propagation private -- bash -euo pipefail -c '
    root=$1 work=$2 cmd=$3
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mount --bind "$work" "$root/mnt/work"
    chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 /bin/bash -euo pipefail -c "$cmd"
  ' img_in_root "$root" "$work" "$cmd"
}

# The partition layout of the disk image (GPT, 1 MiB aligned): the ESP from 1 MiB, then the root.
IMG_ESP_MB=256
IMG_ESP_START_MB=1
IMG_ROOT_START_MB=$((IMG_ESP_START_MB + IMG_ESP_MB))
# The ESP's byte offset, for mtools (`mcopy -i DISK@@OFFSET`).
IMG_ESP_OFFSET=$((IMG_ESP_START_MB * 1024 * 1024))
