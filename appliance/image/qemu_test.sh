#!/usr/bin/env bash
# `make image-test`: the appliance's disk image booted for real in qemu — UEFI (OVMF), systemd-
# boot from the ESP, Debian's kernel and initramfs, the root from the ext4 partition — under TCG
# (no KVM here), headless (-nographic: the serial console is the log). What is booted is what
# ships: build/image/vlcp-appliance.qcow2, through a throw-away qcow2 overlay. Seeded two ways at
# once: a second small disk labelled VLCP-SEED (seed-image.sh --seed-disk: the test's SSH key, the
# site's TLS pair, the tunnel address, a system id) and the kernel command line of the overlay's
# boot entry (seed-image.sh --cmdline: the token, the API and metrics endpoints, and a system id
# that wins over the disk's). Checked from outside through ports forwarded on loopback (user
# networking with restrict=on: the guest reaches nothing but the forwards) and the console:
#   vlcp-firstboot and vlcpd started by systemd, both seed sources applied (the command line's
#   system id over the disk's), the WebAPI over https with the seed disk's certificate (curl
#   verifies it) answering with the seeded token and refusing without it, /metrics behind the
#   seeded password, the integration bridge taken over; then ssh, as root with the test's key
#   (the only way in: keys only, a login without a key is refused), the host key the console
#   printed (made at this first boot: the image has none), the WebAPI's key and certificate
#   root:vlcp 0640, the ESP mounted, /etc/kernel/cmdline beside the boot entry, the seed's secrets
#   gone from the ESP, `vlcpctl profile apply nfv-dedicated`, a reboot, and on the new boot (ssh
#   with the same host key) the isolation and hugepage arguments on /proc/cmdline, the CPUs
#   isolated, the hugepages reserved and mounted, OVS's pmd-cpu-mask and dpdk-socket-mem, vlcpd
#   active, vlcp.conf as the package shipped it and `vlcpctl profile check nfv-dedicated` finding
#   nothing different; then an ACPI power-off that ends in a clean shutdown.
# Environment: VLCP_IMAGE_DIR (build/image), IMAGE_TEST_TIMEOUT (s, 900), IMAGE_TEST_MEM (MB,
# 6144: nfv-dedicated reserves 2 GB of 1G pages and refuses more than half a node's memory),
# IMAGE_TEST_SMP (8: nfv-dedicated needs 2 housekeeping + 2 PMD + 2 worker CPUs),
# IMAGE_TEST_KEEP=1 keeps the work directory (console log, overlay).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# shellcheck source=appliance/image/lib.sh
. "$here/lib.sh"
out=$(realpath -m "${VLCP_IMAGE_DIR:-$src/build/image}")
timeout=${IMAGE_TEST_TIMEOUT:-900}
image=$out/vlcp-appliance.qcow2
code=/usr/share/OVMF/OVMF_CODE_4M.fd
vars=/usr/share/OVMF/OVMF_VARS_4M.fd

[ "$(id -u)" -eq 0 ] || img_die "needs root (seeding uses chroot)"
[ -f "$image" ] || img_die "no $image: run make image"
command -v qemu-system-x86_64 >/dev/null || img_die "qemu-system-x86 is not installed"
command -v qemu-io >/dev/null || img_die "qemu-io is not installed (qemu-utils)"
[ -f "$code" ] && [ -f "$vars" ] || img_die "OVMF is not installed ($code)"
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || img_die "ssh is not installed (openssh-client)"
mem=${IMAGE_TEST_MEM:-6144}
smp=${IMAGE_TEST_SMP:-8}

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

work=$(mktemp -d "$out/.image-test.XXXXXX")
qemu=""
cleanup() {
  if [ -n "$qemu" ] && kill -0 "$qemu" 2>/dev/null; then
    kill -TERM "$qemu" 2>/dev/null
    sleep 2
    kill -KILL "$qemu" 2>/dev/null
  fi
  if [ "${IMAGE_TEST_KEEP:-0}" = 1 ] || [ $failed -gt 0 ]; then
    [ "${IMAGE_TEST_KEEP:-0}" = 1 ] || rm -f "$work/disk.qcow2"
    echo "image-test: console log kept in $work/console.log"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
# What ships is what is booted: the qcow2, through a throw-away overlay (the seed lands there).
qemu-img create -q -f qcow2 -F qcow2 -b "$image" "$work/disk.qcow2"
cp "$vars" "$work/vars.fd"
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
mpass=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
sysid=qemu-$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
# The test's own SSH key, and the site's TLS pair (a certificate for 127.0.0.1: curl verifies it).
ssh-keygen -q -t ed25519 -N '' -C image-test -f "$work/id"
mkdir "$work/seed"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=vlcp-image-test" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/seed/site.key" -out "$work/seed/site.crt" 2>/dev/null
byo_fp=$(openssl x509 -noout -fingerprint -sha256 -in "$work/seed/site.crt")
# The seed disk: the SSH key, the TLS pair, the tunnel address, and a system id that the kernel
# command line overrides.
{
  echo "system_id = from-the-seed-disk"
  echo "tunnel_ip = 192.0.2.18"
  echo "ssh_authorized_keys = $(cat "$work/id.pub")"
  echo "tls_cert_file = site.crt"
  echo "tls_key_file = site.key"
} >"$work/seed/vlcp-seed.conf"
if ! "$here/seed-image.sh" --seed-disk "$work/seed.img" --file "$work/seed/vlcp-seed.conf" >"$work/seed.log" 2>&1; then
  fail "the seed disk (VLCP-SEED) is made: $(tail -3 "$work/seed.log")"
  exit 1
fi
words="vlcp.system_id=$sysid vlcp.token=$token vlcp.api=0.0.0.0:8081"
words+=" vlcp.metrics=0.0.0.0:9464 vlcp.metrics_password=$mpass"
# The guest's journal on the serial console too (systemd's own status lines stop once a getty
# holds the console): "systemd[1]: Started vlcpd.service" is how the console shows it active.
words+=" systemd.journald.forward_to_console=1 systemd.journald.max_level_console=info"
# (TCG on a busy host: the kernel's early timer check can fail and panic "IO-APIC + timer
# doesn't work"; no_timer_check skips it, as for any QEMU guest)
words+=" no_timer_check"
if ! "$here/seed-image.sh" "$work/disk.qcow2" --cmdline "$words" >"$work/seed.log" 2>&1; then
  fail "the overlay is seeded on the kernel command line: $(tail -3 "$work/seed.log")"
  exit 1
fi
backing=$(qemu-img info --output=json "$work/disk.qcow2" | sed -n 's/.*"backing-filename": "\(.*\)",*$/\1/p' | head -1)
[ "$backing" = "$image" ] &&
  pass "an overlay of the shipped $(basename "$image") seeded ($(grep -o '[0-9]* ESP block(s) of 64 KiB' "$work/seed.log") written into it)" ||
  fail "the overlay's backing file is [$backing], not $image"
api_port=$(free_port)
metrics_port=$(free_port)
ssh_port=$(free_port)
mon_port=$(free_port)
echo "image-test: booting an overlay of $image and a VLCP-SEED disk (TCG, $smp vCPUs, $mem MB); API on" \
  "127.0.0.1:$api_port, metrics on 127.0.0.1:$metrics_port, ssh on 127.0.0.1:$ssh_port; timeout $timeout s"
t_boot=$SECONDS
qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp "$smp" -m "$mem" -nographic \
  -drive if=pflash,format=raw,readonly=on,file="$code" -drive if=pflash,format=raw,file="$work/vars.fd" \
  -drive file="$work/disk.qcow2",format=qcow2,if=virtio \
  -drive file="$work/seed.img",format=raw,if=virtio,readonly=on \
  -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$api_port-:8081,hostfwd=tcp:127.0.0.1:$metrics_port-:9464,hostfwd=tcp:127.0.0.1:$ssh_port-:22" \
  -device virtio-net-pci,netdev=n0 \
  -monitor "tcp:127.0.0.1:$mon_port,server,nowait" -serial "file:$work/console.log" \
  </dev/null >"$work/qemu.log" 2>&1 &
qemu=$!

# The WebAPI off loopback is https, here with the seed disk's certificate: curl verifies it
# (issued for 127.0.0.1, trusted as its own CA), no -k.
api() { curl -sf --max-time 10 --cacert "$work/seed/site.crt" -H "Authorization: Bearer $token" "https://127.0.0.1:$api_port$1"; }
# wait_for SECONDS WHAT cmd...: polls every 2 s while qemu runs.
wait_for() {
  local secs=$1 deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$qemu" 2>/dev/null; then
      fail "$what (qemu exited: $(tail -3 "$work/qemu.log"))"
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      fail "$what (not within $secs s)"
      return 1
    fi
    sleep 2
  done
  pass "$what"
}
# The console without systemd's colours.
# (Outputs are captured before grep -q: with pipefail, a writer killed by SIGPIPE when grep -q
# stops reading early would fail the check.)
console_has() {
  sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$work/console.log" >"$work/console.txt"
  grep -qaF -- "$1" "$work/console.txt"
}
console_count() {
  sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$work/console.log" >"$work/console.txt"
  grep -acF -- "$1" "$work/console.txt"
}
# out_has PATTERN cmd...: cmd's output matches the extended regex PATTERN.
out_has() {
  local pat=$1 out
  shift
  out=$("$@") || return 1
  grep -qE -- "$pat" <<<"$out"
}

wait_for "$timeout" "systemd-boot loads the kernel (console: Linux version)" console_has "Linux version" &&
  echo "image-test: kernel after $((SECONDS - t_boot)) s"
wait_for "$timeout" "the WebAPI answers through the forwarded port with the seeded token" api /introspect/switches
t_api=$((SECONDS - t_boot))
echo "image-test: WebAPI answering $t_api s after qemu started"
console_has "vlcp-firstboot: bridge br-int" &&
  pass "vlcp-firstboot ran on the console (bridge br-int)" || fail "vlcp-firstboot on the console"
console_has "systemd[1]: Started vlcpd.service" && pass "systemd started vlcpd.service (Type=notify: ready)" ||
  fail "systemd started vlcpd.service"
console_has "vlcp-firstboot: system_id = $sysid (from kernel command line)" &&
  pass "the kernel command line's system id wins over the seed disk's" || fail "system_id from the command line"
console_has "vlcp-firstboot: tunnel_ip = 192.0.2.18 (from /run/vlcp-seed." &&
  console_has "the seed disk (VLCP-SEED) is read-only here and holds the seed's secrets: remove it" &&
  pass "keys from the VLCP-SEED disk applied (tunnel_ip from it), the disk left with a word to remove it" ||
  fail "the VLCP-SEED disk's keys on the console"
code_noauth=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$work/seed/site.crt" "https://127.0.0.1:$api_port/introspect/switches")
[ "$code_noauth" = 401 ] && pass "the WebAPI refuses a request without the token (401)" ||
  fail "the WebAPI without the token answered $code_noauth"
served=$(openssl s_client -connect "127.0.0.1:$api_port" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null)
[ "$served" = "$byo_fp" ] && console_has "WebAPI TLS certificate /etc/vlcp/tls/api.crt (the seed's /run/vlcp-seed." &&
  console_has "$served" && pass "the WebAPI serves the seed disk's certificate, its fingerprint on the console ($served)" ||
  fail "the served certificate ($served) is not the seed's ($byo_fp) or not on the console"
metrics() { curl -sf --max-time 10 -u "vlcp:$mpass" "http://127.0.0.1:$metrics_port/metrics"; }
out_has '^vlcp_' metrics && pass "/metrics served (basic auth, seeded password)" || fail "/metrics"
code_noauth=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$metrics_port/metrics")
[ "$code_noauth" = 401 ] && pass "/metrics refuses a scrape without the password (401)" ||
  fail "/metrics without the password answered $code_noauth"
connected() { out_has '"connected": *true' api /introspect/switches; }
wait_for 120 "vlcpd holds the integration bridge (a switch in /introspect/switches)" connected
ctl_connected() { out_has '"is_connected": *true' api /introspect/ovsdb; }
wait_for 60 "br-int's controller (vlcpd's socket) is connected in OVSDB" ctl_connected
out_has "$sysid" api /ovsdbmanager/getsystemids && pass "the seeded system-id is OVS's ($sysid)" ||
  fail "system-id: $(api /ovsdbmanager/getsystemids)"
out_has '"local_ip": *"192\.0\.2\.18"' api /introspect/ovsdb && pass "the tunnel port carries the seed disk's address" ||
  fail "tunnel port: $(api /introspect/ovsdb | head -c 400)"
out_has '"fail_mode": *"secure"' api /introspect/ovsdb && pass "br-int has fail_mode=secure (OVSDB through the API)" ||
  fail "fail_mode: $(api /introspect/ovsdb | head -c 400)"

# vlcpd outlives its systemd watchdog (WatchdogSec=30 in the unit): 35 s on, no watchdog timeout
# and no second start on the console, and the API still answers.
sleep 35
starts=$(console_count 'systemd[1]: Started vlcpd.service')
if ! console_has "vlcpd.service: Watchdog timeout" && [ "$starts" = 1 ] && api /introspect/switches >/dev/null; then
  pass "vlcpd outlives its watchdog (35 s on: started once, no watchdog timeout, API answering)"
else
  fail "vlcpd restarted or timed out (starts: $starts)"
fi

# --- ssh: the seed's key, the way in ----------------------------------------------------------------
# to_guest STRICT COMMAND: COMMAND (bash) in the guest over ssh as root with the test's key; its
# output in $gout, its status in $grc (255: ssh failed). STRICT: accept-new for the first login
# (the host key is recorded), yes afterwards (the same host key, across the reboot).
ssh_opts() {
  echo -F /dev/null -p "$ssh_port" -o BatchMode=yes -o ConnectTimeout=60 -o ServerAliveInterval=15 \
    -o UserKnownHostsFile="$work/known_hosts" -o LogLevel=ERROR
}
to_guest() {
  # shellcheck disable=SC2046  # the options are words
  gout=$(timeout 660 ssh $(ssh_opts) -o StrictHostKeyChecking="$1" -o IdentitiesOnly=yes -i "$work/id" \
    root@127.0.0.1 "$2" 2>&1)
  grc=$?
  gout+=$'\n'
  [ "$gout" = $'\n' ] && gout=""
}
guest() { to_guest yes "$1"; }
ssh_in() {
  to_guest accept-new 'cat /proc/sys/kernel/random/boot_id'
  [ "$grc" = 0 ]
}

t_profile=$SECONDS
if wait_for 300 "ssh as root with the seed disk's key, through the forwarded port" ssh_in; then
  boot1=$gout
  fp=$(ssh-keygen -l -f "$work/known_hosts" 2>/dev/null | awk '{ print $2; exit }')
  [ -n "$fp" ] && console_has "vlcp-ssh-hostkeys: SSH host key 256 $fp" &&
    console_has "vlcp-ssh-hostkeys: made this appliance's SSH host keys (missing: rsa ecdsa ed25519)" &&
    pass "the host key ssh saw ($fp) is the one the console printed, made at this first boot (the image has none)" ||
    fail "the host key $fp is not on the console as made at the first boot"
  guest 'systemctl is-active vlcpd ssh vlcp-ssh-hostkeys'
  [ "$gout" = $'active\nactive\nactive\n' ] && pass "over ssh: systemctl is-active vlcpd ssh vlcp-ssh-hostkeys: active" ||
    fail "over ssh, systemctl is-active: $gout"
  # shellcheck disable=SC2046
  denied=$(timeout 120 ssh $(ssh_opts) -o StrictHostKeyChecking=yes -o PubkeyAuthentication=no root@127.0.0.1 true 2>&1)
  [ $? = 255 ] && [[ $denied == *"Permission denied (publickey)."* ]] &&
    pass "a login without the key is refused, sshd offering public keys only ($denied)" || fail "a login without a key: $denied"
  guest 'sshd -T | grep -E "^(passwordauthentication|kbdinteractiveauthentication|permitrootlogin|authenticationmethods) " | sort'
  [ "$gout" = $'authenticationmethods publickey\nkbdinteractiveauthentication no\npasswordauthentication no\npermitrootlogin without-password\n' ] &&
    pass "sshd -T: keys only (no password, no keyboard-interactive, root by key only)" || fail "sshd -T: $gout"
  guest 'stat -c "%a %U:%G %n" /root/.ssh/authorized_keys /etc/vlcp/tls/api.crt /etc/vlcp/tls/api.key; sha256sum </etc/vlcp/tls/api.key'
  [ "$(sed -n 1,3p <<<"$gout")" = $'600 root:root /root/.ssh/authorized_keys\n640 root:vlcp /etc/vlcp/tls/api.crt\n640 root:vlcp /etc/vlcp/tls/api.key' ] &&
    [ "$(sed -n 4p <<<"$gout" | cut -d' ' -f1)" = "$(sha256sum <"$work/seed/site.key" | cut -d' ' -f1)" ] &&
    pass "authorized_keys 0600; the WebAPI's certificate and key root:vlcp 0640, the key the seed disk's" ||
    fail "modes or key: $gout"
  guest 'stat -f -c %T /boot/efi/loader/entries'
  [ "$grc" = 0 ] && [ "$gout" = $'msdos\n' ] && pass "the ESP is mounted at /boot/efi (its FAT file system, through the automount)" ||
    fail "the ESP at /boot/efi: $gout"
  guest 'cat /etc/kernel/cmdline; sed -n "s/^options //p" /boot/efi/loader/entries/vlcp.conf'
  kcmd=$(sed -n 1p <<<"$gout") entry=$(sed -n 2p <<<"$gout")
  [[ $kcmd == "root=UUID="*" console=ttyS0,115200" && $entry == "$kcmd"* ]] &&
    pass "/etc/kernel/cmdline holds the boot entry's root and console arguments ($kcmd)" ||
    fail "/etc/kernel/cmdline [$kcmd], the entry's options [$entry]"
  guest "grep -rl -e '$token' -e '$mpass' /boot/efi"
  [ "$grc" = 1 ] && [ -z "$gout" ] && pass "after the first boot no file on the ESP holds the seed's token or password" ||
    fail "the seed's secrets are still on the ESP: $gout"

  # --- the perf profile nfv-dedicated, applied inside and booted into ------------------------------
  # show_value NAME: the value `vlcpctl profile show` derived for the setting NAME.
  show_value() { awk -v k="  $1: " 'index($0, k) == 1 { print substr($0, length(k) + 1); exit }' "$work/show.txt"; }
  guest 'vlcpctl profile show nfv-dedicated'
  printf '%s' "$gout" >"$work/show.txt"
  [ "$grc" = 0 ] && pass "vlcpctl profile show nfv-dedicated fits the guest ($(grep -m1 'isolated' "$work/show.txt" | sed 's/^ *//'))" ||
    fail "profile show nfv-dedicated: $gout"
  guest 'vlcpctl profile apply nfv-dedicated'
  printf '%s' "$gout" >"$work/apply.txt"
  [ "$grc" = 0 ] && grep -q "^wrote /boot/efi/loader/entries/vlcp.conf$" "$work/apply.txt" &&
    pass "vlcpctl profile apply nfv-dedicated (wrote the ESP's boot entry)" || fail "profile apply: $gout"
  guest 'vlcpctl profile check nfv-dedicated --configured'
  [ "$grc" = 0 ] && pass "profile check --configured: the written configuration matches" || fail "check --configured: $gout"
  # (the answer does not matter: sshd may be stopped before it answers)
  guest 'systemctl reboot'
  t_reboot=$SECONDS
  rebooted() {
    guest 'cat /proc/sys/kernel/random/boot_id'
    [ "$grc" = 0 ] && [ "$gout" != "$boot1" ]
  }
  if wait_for "$timeout" "the guest rebooted into the profile (ssh, the same host key)" rebooted; then
    echo "image-test: $((SECONDS - t_reboot)) s from the reboot to ssh"
    made=$(console_count "made this appliance's SSH host keys")
    [ "$made" = 1 ] && pass "the host keys were made once (not again at the second boot)" || fail "host keys made $made times"
    guest 'cat /proc/cmdline'
    cmdline=" $gout"
    missing=""
    for arg in isolcpus nohz_full rcu_nocbs irqaffinity default_hugepagesz hugepagesz hugepages; do
      want=$(show_value "kernel command line $arg")
      [ -n "$want" ] && [[ $cmdline == *" $arg=$want "* || $cmdline == *" $arg=$want"$'\n'* ]] || missing+=" $arg=$want"
    done
    [ -z "$missing" ] && pass "/proc/cmdline has the profile's arguments ($(show_value 'kernel command line isolcpus'), ...)" ||
      fail "/proc/cmdline lacks$missing: $cmdline"
    guest 'cat /sys/devices/system/cpu/isolated /sys/devices/system/cpu/nohz_full'
    want=$(show_value "isolated CPUs (/sys/devices/system/cpu/isolated)")
    [ "$gout" = "$want"$'\n'"$want"$'\n' ] && pass "CPUs $want isolated and nohz_full" || fail "isolated/nohz_full: $gout (want $want)"
    guest 'grep -H . /sys/kernel/mm/hugepages/hugepages-*/nr_hugepages; findmnt -n -t hugetlbfs -o TARGET,OPTIONS'
    pages=$(sed -n "s/^  hugepages reserved on NUMA node 0 (\([0-9]*\) kB pages): \([0-9]*\)$/\1 \2/p" "$work/show.txt")
    if [ -n "$pages" ] && grep -q "hugepages-${pages% *}kB/nr_hugepages:${pages#* }$" <<<"$gout" &&
      grep -q "^/var/lib/vlcp/hugepages .*pagesize=" <<<"$gout"; then
      pass "hugepages reserved (${pages#* } of ${pages% *} kB) and mounted at /var/lib/vlcp/hugepages"
    else
      fail "hugepages (want ${pages:-?}): $gout"
    fi
    guest 'ovs-vsctl get Open_vSwitch . other_config:pmd-cpu-mask other_config:dpdk-socket-mem'
    want="\"$(show_value "OVS other_config:pmd-cpu-mask")\""$'\n'"\"$(show_value "OVS other_config:dpdk-socket-mem")\""$'\n'
    [ "$gout" = "$want" ] && pass "OVS pmd-cpu-mask and dpdk-socket-mem set ($(tr '\n' ' ' <<<"$gout"))" ||
      fail "OVS other_config: $gout (want $want)"
    guest 'dpkg --verify vlcpd; ls /etc/vlcp/vlcp.conf.d'
    [[ $gout != *vlcp.conf$'\n'* ]] && [[ $gout == *60-perf-profile.conf* ]] &&
      pass "vlcp.conf as the package shipped it (dpkg --verify); the profile's keys in vlcp.conf.d/60-perf-profile.conf" ||
      fail "vlcp.conf changed or no drop-in: $gout"
    guest 'systemctl is-active vlcpd'
    [ "$gout" = $'active\n' ] && pass "vlcpd active under nfv-dedicated" || fail "vlcpd under nfv-dedicated: $gout"
    guest 'vlcpctl profile check nfv-dedicated'
    printf '%s' "$gout" >"$work/check.txt"
    [ "$grc" = 0 ] && grep -q "^the running system matches profile nfv-dedicated$" "$work/check.txt" &&
      ! grep -q "pending reboot" "$work/check.txt" &&
      pass "vlcpctl profile check nfv-dedicated: nothing differs, no reboot pending" || fail "profile check: $gout"
  fi
fi
t_profile=$((SECONDS - t_profile))
echo "image-test: the ssh and perf profile part took $t_profile s"

# A clean power-off: ACPI through the monitor (loopback), then the guest's systemd shuts down.
t_stop=$SECONDS
# (The monitor drops a command whose connection closes at once: read its banner, send, linger.)
if exec 3<>"/dev/tcp/127.0.0.1/$mon_port"; then
  read -r -t 10 -u 3 _ || true
  echo system_powerdown >&3
  sleep 2
  exec 3>&-
fi
deadline=$((SECONDS + 180))
while kill -0 "$qemu" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 1; done
if kill -0 "$qemu" 2>/dev/null; then
  fail "the guest powers off within 180 s"
else
  wait "$qemu"
  qemu=""
  console_has "reboot: Power down" && pass "clean power-off in $((SECONDS - t_stop)) s (reboot: Power down)" ||
    fail "power-off without 'reboot: Power down' on the console"
fi
echo "image-test: $passed passed, $failed failed; WebAPI up $t_api s after start; ssh and perf profile part" \
  "$t_profile s; whole test $((SECONDS - t0)) s"
[ $failed -gt 0 ] && tail -60 "$work/console.log"
[ $failed -eq 0 ]
