#!/usr/bin/env bash
# `make image-test`: the appliance's disk image booted for real in qemu — UEFI (OVMF), systemd-
# boot from the ESP, Debian's kernel and initramfs, the root from the ext4 partition — under TCG
# (no KVM here), headless (-nographic: the serial console is the log). Seeded on the kernel
# command line (seed-image.sh --cmdline on a copy of the image). Checked from outside through
# ports forwarded on loopback (user networking with restrict=on: the guest reaches nothing but
# the forwards) and the serial console:
#   vlcp-firstboot and vlcpd started by systemd (console), the WebAPI answering with the seeded
#   token and refusing without it, /metrics served behind the seeded password, the integration
#   bridge taken over (its datapath connected in vlcpd's API, the seeded system-id); then, through
#   a test agent on a virtio serial port (test-agent/, written into the copy's root with debugfs:
#   never in the image), the ESP mounted, /etc/kernel/cmdline beside the boot entry, the seed's
#   secrets gone from the ESP, `vlcpctl profile apply nfv-dedicated`, a reboot, and on the new
#   boot the isolation and hugepage arguments on /proc/cmdline, the CPUs isolated, the hugepages
#   reserved and mounted, OVS's pmd-cpu-mask and dpdk-socket-mem, vlcpd active, vlcp.conf as the
#   package shipped it and `vlcpctl profile check nfv-dedicated` finding nothing different; then
#   an ACPI power-off that ends in a clean shutdown.
# Environment: VLCP_IMAGE_DIR (build/image), IMAGE_TEST_TIMEOUT (s, 900), IMAGE_TEST_MEM (MB,
# 6144: nfv-dedicated reserves 2 GB of 1G pages and refuses more than half a node's memory),
# IMAGE_TEST_SMP (8: nfv-dedicated needs 2 housekeeping + 2 PMD + 2 worker CPUs),
# IMAGE_TEST_KEEP=1 keeps the work directory (console log, disk copy).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# shellcheck source=appliance/image/lib.sh
. "$here/lib.sh"
out=$(realpath -m "${VLCP_IMAGE_DIR:-$src/build/image}")
timeout=${IMAGE_TEST_TIMEOUT:-900}
disk=$out/vlcp-appliance.raw
code=/usr/share/OVMF/OVMF_CODE_4M.fd
vars=/usr/share/OVMF/OVMF_VARS_4M.fd

[ "$(id -u)" -eq 0 ] || img_die "needs root (seeding the copy uses chroot)"
[ -f "$disk" ] || img_die "no $disk: run make image"
command -v qemu-system-x86_64 >/dev/null || img_die "qemu-system-x86 is not installed"
[ -f "$code" ] && [ -f "$vars" ] || img_die "OVMF is not installed ($code)"
command -v debugfs >/dev/null || img_die "debugfs is not installed (e2fsprogs)"
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
    rm -f "$work/disk.raw"
    echo "image-test: console log kept in $work/console.log"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
cp --sparse=always "$disk" "$work/disk.raw"
cp "$vars" "$work/vars.fd"
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
mpass=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
sysid=qemu-$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
words="vlcp.system_id=$sysid vlcp.tunnel_ip=192.0.2.18 vlcp.token=$token vlcp.api=0.0.0.0:8081"
words+=" vlcp.metrics=0.0.0.0:9464 vlcp.metrics_password=$mpass"
# The guest's journal on the serial console too (systemd's own status lines stop once a getty
# holds the console): "systemd[1]: Started vlcpd.service" is how the console shows it active.
words+=" systemd.journald.forward_to_console=1 systemd.journald.max_level_console=info"
# (TCG on a busy host: the kernel's early timer check can fail and panic "IO-APIC + timer
# doesn't work"; no_timer_check skips it, as for any QEMU guest)
words+=" no_timer_check"
"$here/seed-image.sh" "$work/disk.raw" --cmdline "$words" >/dev/null || {
  fail "the copy of the image is seeded"
  exit 1
}
# The test agent into the copy's root partition (debugfs at the partition's offset: no mount).
cat >"$work/agent.debugfs" <<EOF
mkdir /usr/local/sbin
cd /usr/local/sbin
write $here/test-agent/vlcp-test-agent vlcp-test-agent
sif /usr/local/sbin/vlcp-test-agent mode 0100755
sif /usr/local/sbin/vlcp-test-agent uid 0
sif /usr/local/sbin/vlcp-test-agent gid 0
cd /etc/systemd/system
write $here/test-agent/vlcp-test-agent.service vlcp-test-agent.service
sif /etc/systemd/system/vlcp-test-agent.service mode 0100644
sif /etc/systemd/system/vlcp-test-agent.service uid 0
sif /etc/systemd/system/vlcp-test-agent.service gid 0
symlink /etc/systemd/system/multi-user.target.wants/vlcp-test-agent.service /etc/systemd/system/vlcp-test-agent.service
EOF
debugfs -w -f "$work/agent.debugfs" "$work/disk.raw?offset=$((IMG_ROOT_START_MB * 1024 * 1024))" >"$work/debugfs.log" 2>&1
if ! debugfs -R "stat /usr/local/sbin/vlcp-test-agent" "$work/disk.raw?offset=$((IMG_ROOT_START_MB * 1024 * 1024))" 2>/dev/null |
  grep -q "Mode:  0755"; then
  fail "the test agent is written into the copy's root ($(tail -3 "$work/debugfs.log"))"
  exit 1
fi
mkfifo "$work/agent.in" "$work/agent.out"
api_port=$(free_port)
metrics_port=$(free_port)
mon_port=$(free_port)
echo "image-test: booting a copy of $disk (TCG, $smp vCPUs, $mem MB); API on 127.0.0.1:$api_port," \
  "metrics on 127.0.0.1:$metrics_port; timeout $timeout s"
t_boot=$SECONDS
qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp "$smp" -m "$mem" -nographic \
  -drive if=pflash,format=raw,readonly=on,file="$code" -drive if=pflash,format=raw,file="$work/vars.fd" \
  -drive file="$work/disk.raw",format=raw,if=virtio \
  -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$api_port-:8081,hostfwd=tcp:127.0.0.1:$metrics_port-:9464" \
  -device virtio-net-pci,netdev=n0 \
  -device virtio-serial-pci -chardev "pipe,id=agent,path=$work/agent" -device virtserialport,chardev=agent,name=vlcp.test \
  -monitor "tcp:127.0.0.1:$mon_port,server,nowait" -serial "file:$work/console.log" \
  </dev/null >"$work/qemu.log" 2>&1 &
qemu=$!
# (read-write opens: a FIFO opened so never blocks, and stays open across the guest's reboot)
exec 4<>"$work/agent.in" 5<>"$work/agent.out"

# The WebAPI off loopback is https with the key and self-signed certificate vlcp-firstboot made
# (-k here; its fingerprint, logged on the console, is compared below).
api() { curl -skf --max-time 10 -H "Authorization: Bearer $token" "https://127.0.0.1:$api_port$1"; }
# wait_for SECONDS WHAT cmd...: polls every 2 s while qemu runs.
wait_for() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$qemu" 2>/dev/null; then
      fail "$what (qemu exited: $(tail -3 "$work/qemu.log"))"
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      fail "$what (not within $1 s)"
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
console_has "kernel command line" && pass "the seed came from the kernel command line (firstboot log)" ||
  fail "firstboot names the kernel command line"
code_noauth=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 10 "https://127.0.0.1:$api_port/introspect/switches")
[ "$code_noauth" = 401 ] && pass "the WebAPI refuses a request without the token (401)" ||
  fail "the WebAPI without the token answered $code_noauth"
served=$(openssl s_client -connect "127.0.0.1:$api_port" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null)
[ -n "$served" ] && console_has "$served" && pass "the WebAPI's certificate is the one vlcp-firstboot logged ($served)" ||
  fail "the served certificate ($served) is not the one on the console"
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
out_has '"local_ip": *"192\.0\.2\.18"' api /introspect/ovsdb && pass "the tunnel port carries the seeded address" ||
  fail "tunnel port: $(api /introspect/ovsdb | head -c 400)"
out_has '"fail_mode": *"secure"' api /introspect/ovsdb && pass "br-int has fail_mode=secure (OVSDB through the API)" ||
  fail "fail_mode: $(api /introspect/ovsdb | head -c 400)"

# vlcpd outlives its systemd watchdog (WatchdogSec=30 in the unit): 35 s on, no watchdog timeout
# and no second start on the console, and the API still answers.
sleep 35
starts=$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$work/console.log" | grep -ac 'systemd\[1\]: Started vlcpd.service')
if ! console_has "vlcpd.service: Watchdog timeout" && [ "$starts" = 1 ] && api /introspect/switches >/dev/null; then
  pass "vlcpd outlives its watchdog (35 s on: started once, no watchdog timeout, API answering)"
else
  fail "vlcpd restarted or timed out (starts: $starts)"
fi

# --- the perf profile nfv-dedicated, applied inside and booted into --------------------------------
# agent_ready SECONDS: the agent's "__READY__ BOOT_ID" line (boot_id set).
agent_ready() {
  local deadline=$((SECONDS + $1)) line
  while [ $SECONDS -lt $deadline ] && kill -0 "$qemu" 2>/dev/null; do
    IFS= read -r -t 5 -u 5 line || continue
    [[ $line == "__READY__ "* ]] && boot_id=${line#__READY__ } && return 0
  done
  return 1
}
# guest COMMAND: bash COMMAND in the guest; its output in $gout, its status in $grc (255: no answer).
guest() {
  local deadline=$((SECONDS + 660)) line
  gout="" grc=255
  printf '%s\n' "$(printf '%s' "$1" | base64 -w0)" >&4
  while [ $SECONDS -lt $deadline ] && kill -0 "$qemu" 2>/dev/null; do
    IFS= read -r -t 5 -u 5 line || continue
    case $line in
    "__RC__ "*) grc=${line#__RC__ } && return 0 ;;
    "__READY__ "*) ;;
    *) gout+=$line$'\n' ;;
    esac
  done
  return 1
}
# show_value NAME: the value `vlcpctl profile show` derived for the setting NAME.
show_value() { awk -v k="  $1: " 'index($0, k) == 1 { print substr($0, length(k) + 1); exit }' "$work/show.txt"; }

t_profile=$SECONDS
if agent_ready 300; then
  boot1=$boot_id
  pass "the test agent answers on the virtio serial port"
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
  # (no answer awaited: the agent may be stopped before it answers; the next boot's agent says READY)
  printf '%s\n' "$(printf '%s' 'systemctl reboot' | base64 -w0)" >&4
  t_reboot=$SECONDS
  if agent_ready "$timeout" && [ "$boot_id" != "$boot1" ]; then
    pass "the guest rebooted into the profile ($((SECONDS - t_reboot)) s to the agent)"
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
  else
    fail "the guest comes back from the reboot (agent within $timeout s)"
  fi
else
  fail "the test agent answers on the virtio serial port (within 300 s)"
fi
t_profile=$((SECONDS - t_profile))
echo "image-test: the perf profile part took $t_profile s"

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
echo "image-test: $passed passed, $failed failed; WebAPI up $t_api s after start; perf profile part $t_profile s;" \
  "whole test $((SECONDS - t0)) s"
[ $failed -gt 0 ] && tail -60 "$work/console.log"
[ $failed -eq 0 ]
