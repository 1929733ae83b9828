#!/usr/bin/env bash
# The appliance image's root, booted for real with `systemd-nspawn --boot` (its own systemd as
# PID 1, a private network namespace with only loopback, the root read-only under a tmpfs
# overlay: --volatile=overlay) and seeded by a file (/boot/vlcp-seed.conf). Checked from
# outside through the container's namespaces (nsenter): vlcp-firstboot applied the seed, OVS and
# vlcpd are active under systemd, /metrics is served, the WebAPI answers (with the seeded token
# only), and the integration bridge is taken over: fail_mode=secure, controller vlcpd's socket,
# connected, the seeded system-id and tunnel port, the switch in vlcpd's API; SSH: the seed's key
# in root's authorized_keys (0600), sshd running keys only (sshd -T), host keys made at this boot
# (the image root has none) and the one sshd serves, a login with the test's key (the host's ssh
# client in the container's network namespace) and none without it, and sshd not started once
# authorized_keys is gone. Then the container is powered off cleanly (SIGTERM to nspawn: its
# systemd shuts down).
#
# The root is build/image/rootfs (`make image`, or appliance/image/build.sh --rootfs-only). When
# it is missing or older than the packages in build/deb (VLCP_DEB_DIR) or the recipe, it is
# rebuilt here from the cached base (about 1 min, measured in appliance/image/README.md); with no
# cached base (a cold build: minutes of download and install) or no .debs, the test is skipped
# with the command to run. VLCP_APPLIANCE_ROOTFS names another root.
. "$(dirname "$0")/../lib/system.sh"
src=$(cd "$here/../.." && pwd)
rootfs=${VLCP_APPLIANCE_ROOTFS:-$src/build/image/rootfs}
debs=${VLCP_DEB_DIR:-$src/build/deb}
SKIP=77

command -v systemd-nspawn >/dev/null || { echo "SKIP: systemd-nspawn not installed (systemd-container)"; exit $SKIP; }

# --- the root ----------------------------------------------------------------------------------
stamp=$rootfs/etc/fstab
stale() {
  [ -f "$stamp" ] || return 0
  [ -n "${VLCP_APPLIANCE_ROOTFS:-}" ] && return 1
  [ -n "$(find "$debs" -maxdepth 1 -name 'vlcp*.deb' -newer "$stamp" 2>/dev/null)" ] && return 0
  local recipe=("$src/appliance/image/overlay" "$src/appliance/image/packages.list" "$src/appliance/image/build.sh"
    "$src/appliance/image/lib.sh")
  [ -n "$(find "${recipe[@]}" -newer "$stamp" -type f 2>/dev/null)" ]
}
if [ -n "${VLCP_APPLIANCE_ROOTFS:-}" ] && [ ! -f "$stamp" ]; then
  echo "SKIP: VLCP_APPLIANCE_ROOTFS=$rootfs is not an appliance root"
  exit $SKIP
fi
if stale; then
  if ! compgen -G "$debs/vlcpd_*.deb" >/dev/null; then
    echo "SKIP: no appliance root at $rootfs and no packages in $debs: run make image (or make deb)"
    exit $SKIP
  fi
  if ! compgen -G "$src/build/image/cache/base-*.tar" >/dev/null; then
    echo "SKIP: the appliance's base root is not cached (a cold build downloads and installs"
    echo "      ~300 packages, minutes: over this test's budget): run make image once"
    exit $SKIP
  fi
  t0=$SECONDS
  if ! VLCP_DEB_DIR=$debs "$src/appliance/image/build.sh" --rootfs-only >"$SB_DIR/build.log" 2>&1; then
    tail -20 "$SB_DIR/build.log"
    fail "the appliance root builds from the cached base"
    finish
    exit 1
  fi
  pass "the appliance root rebuilt from the cached base and build/deb in $((SECONDS - t0)) s"
fi

# --- boot --------------------------------------------------------------------------------------
machine=vlcp-appl-$SB_ID
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
seed=$SB_DIR/vlcp-seed.conf
ssh-keygen -q -t ed25519 -N '' -C nspawn-test -f "$SB_DIR/ssh_id"
cat >"$seed" <<EOF
# the nspawn test's seed (a file: /boot/vlcp-seed.conf)
system_id = nspawn-$SB_ID
tunnel_ip = 192.0.2.17
token = $token
datapath_type = netdev
ssh_authorized_keys = $(cat "$SB_DIR/ssh_id.pub")
EOF
no_host_keys() { ! compgen -G "$rootfs/etc/ssh/ssh_host_*" >/dev/null; }
check "the image's root ships no SSH host keys" no_host_keys
t_boot=$SECONDS
t_boot_epoch=$(date +%s)
# No host systemd or D-Bus here (PID 1 is not systemd): --register=no --keep-unit (no machined,
# no scope unit). nspawn keeps state in /run/systemd/nspawn and removes it only from a tmpfs: a
# tmpfs there in a private mount namespace (unshare and sh exec, so $! is nspawn's PID).
# /dev/net/tun for the userspace datapath; /sys/module (nspawn shows only part of /sys) because
# DPDK's EAL, which vlcpd's workers run on, fails without it ("Cannot init VFIO").
setsid unshare --mount --propagation private -- sh -c 'mount -t tmpfs -o mode=755 tmpfs /run/systemd &&
  exec systemd-nspawn "$@"' nspawn --quiet --boot --register=no --keep-unit --machine="$machine" \
  --directory="$rootfs" --volatile=overlay --private-network --bind=/dev/net/tun --bind-ro=/sys/module --console=read-only \
  --bind-ro="$seed:/boot/vlcp-seed.conf" >"$SB_DIR/console.log" 2>&1 </dev/null &
nspawn=$!
sb_record pid "$nspawn" systemd-nspawn

# The container's PID 1 is nspawn's child (its own PID namespace's init).
leader=""
leader_found() {
  leader=$(cat "/proc/$nspawn/task/$nspawn/children" 2>/dev/null | awk '{print $1}')
  [ -n "$leader" ] && [ "$(cat "/proc/$leader/comm" 2>/dev/null)" = systemd ]
}
in_ct() { nsenter --target "$leader" --mount --uts --ipc --net --pid -- "$@"; }
in_net() { nsenter --target "$leader" --net -- "$@"; }
booted() {
  local s
  s=$(in_ct systemctl is-system-running 2>/dev/null)
  [ "$s" = running ] || [ "$s" = degraded ]
}
if ! sb_wait 30 leader_found; then
  cat "$SB_DIR/console.log"
  fail "systemd-nspawn starts the appliance's systemd"
  finish
  exit 1
fi
check "the appliance boots to multi-user under nspawn" sb_wait 60 booted
pass "booted in $((SECONDS - t_boot)) s ($(in_ct systemctl is-system-running 2>&1))"
if [ "$(in_ct systemctl is-system-running 2>&1)" = degraded ]; then
  echo "failed units: $(in_ct systemctl --failed --no-legend --plain 2>&1 | awk '{print $1}' | tr '\n' ' ')"
fi

check_output "vlcp-firstboot ran and stayed active" "active" in_ct systemctl is-active vlcp-firstboot.service
check_output "openvswitch-switch is active" "active" in_ct systemctl is-active openvswitch-switch.service
if ! sb_wait 30 in_ct systemctl is-active --quiet vlcpd.service; then
  fail "vlcpd is active under systemd"
  in_ct journalctl -u vlcpd.service --no-pager | tail -15
else
  pass "vlcpd is active under systemd"
fi
check_output "vlcpd was ordered after vlcp-firstboot" "vlcp-firstboot.service" \
  in_ct systemctl show -p After --value vlcpd.service
check_output "the seed's token is in first boot's drop-in" "module.httpserver.token = '$token'" \
  in_ct cat /etc/vlcp/vlcp.conf.d/50-firstboot.conf
check_fails "  and not in the packaged /etc/vlcp/vlcp.conf" in_ct grep -q "$token" /etc/vlcp/vlcp.conf
check_output "the stamp names the seed file" "/boot/vlcp-seed.conf:3" \
  in_ct cat /var/lib/vlcp-firstboot/applied

# /metrics and the WebAPI from the container's own loopback (the host's curl in its netns).
metrics() { in_net curl -sf --max-time 5 http://127.0.0.1:9464/metrics; }
check "/metrics is served" sb_wait 20 metrics
check_output "/metrics has vlcpd's series" "vlcp_" metrics
api() { in_net curl -sf --max-time 5 -H "Authorization: Bearer $token" "http://127.0.0.1:8081$1"; }
check "the WebAPI answers with the seeded token" sb_wait 20 api /introspect/switches
check_output "the WebAPI refuses a request without the token" "401" \
  in_net curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:8081/introspect/switches

# The bridge: made by vlcp-firstboot, held by vlcpd.
vsctl() { in_ct ovs-vsctl --timeout=10 "$@"; }
check_output "br-int has fail_mode=secure" "secure" vsctl get bridge br-int fail_mode
check_output "br-int's controller is vlcpd's socket" "unix:/var/run/openvswitch/vlcp-controller.sock" \
  vsctl get-controller br-int
connected() { [ "$(vsctl get controller br-int is_connected)" = true ]; }
check "vlcpd holds br-int (controller connected)" sb_wait 30 connected
check_output "the seeded system-id is OVS's" "nspawn-$SB_ID" vsctl get Open_vSwitch . external_ids:system-id
check_output "the tunnel port carries the seeded address" "192.0.2.17" vsctl get interface vxlan0 options:local_ip
dpid=$(vsctl get bridge br-int datapath_id | tr -d '"')
in_switches() { api /introspect/switches | grep -q "$dpid"; }
check "vlcpd's API lists br-int's datapath ($dpid)" sb_wait 20 in_switches
check_output "vlcpd knows the seeded system id" "nspawn-$SB_ID" api /ovsdbmanager/getsystemids

# SSH: the seed's key, sshd keys only, this boot's host keys.
check_output "root's authorized_keys holds the seed's key, 0600 root" "600 root $(cut -d' ' -f1-2 "$SB_DIR/ssh_id.pub")" \
  in_ct sh -c 'echo $(stat -c "%a %U" /root/.ssh/authorized_keys) $(grep -v "^#" /root/.ssh/authorized_keys | cut -d" " -f1-2)'
sshd_ready() { in_ct systemctl is-active --quiet ssh.service; }
check "sshd is active (the seed gave a key)" sb_wait 30 sshd_ready
check_output "sshd -T: no password, no keyboard-interactive, root by key only, public keys only" \
  "authenticationmethods publickey kbdinteractiveauthentication no passwordauthentication no permitrootlogin without-password" \
  bash -c 'echo $(nsenter --target '"$leader"' --mount --pid -- sshd -T |
    grep -E "^(passwordauthentication|kbdinteractiveauthentication|permitrootlogin|authenticationmethods) " | sort)'
host_keys_new() {
  local t n=0
  for t in $(in_ct stat -c %Y /etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ed25519_key); do
    [ "$t" -ge "$t_boot_epoch" ] && n=$((n + 1))
  done
  [ $n = 3 ]
}
check "RSA, ECDSA and Ed25519 host keys made at this boot (none from the image)" host_keys_new
hostfp=$(in_ct ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub | awk '{print $2}')
check_output "  their fingerprints in vlcp-ssh-hostkeys' output (the console)" "SSH host key 256 $hostfp" \
  in_ct journalctl -u vlcp-ssh-hostkeys.service --no-pager -o cat
echo "127.0.0.1 $(in_ct cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f1-2)" >"$SB_DIR/known_hosts"
to_ct() {
  in_net ssh -F /dev/null -o BatchMode=yes -o ConnectTimeout=10 -o UserKnownHostsFile="$SB_DIR/known_hosts" \
    -o StrictHostKeyChecking=yes -o LogLevel=ERROR "$@"
}
check_output "ssh root@ with the test's key (the host key checked): vlcpd active" "over ssh: vlcpd active" \
  to_ct -o IdentitiesOnly=yes -i "$SB_DIR/ssh_id" root@127.0.0.1 'echo over ssh: vlcpd $(systemctl is-active vlcpd)'
check_output "a login without the key is refused: public keys only" "Permission denied (publickey)." \
  to_ct -o PubkeyAuthentication=no root@127.0.0.1 true
# Without authorized_keys sshd does not start (ssh.service.d/10-vlcp.conf's condition).
in_ct mv /root/.ssh/authorized_keys /root/.ssh/authorized_keys.off
in_ct systemctl restart ssh.service >/dev/null 2>&1
check_output "without authorized_keys sshd does not start (its condition fails)" "ActiveState=inactive ConditionResult=no" \
  bash -c 'echo $(nsenter --target '"$leader"' --mount --pid -- systemctl show -p ActiveState -p ConditionResult ssh.service | sort)'
in_ct mv /root/.ssh/authorized_keys.off /root/.ssh/authorized_keys

# vlcpd stays up past its systemd watchdog (WatchdogSec: it pings from its control loop): still
# active and never restarted once a whole watchdog period (and 5 s) has passed since it started.
wd=$(in_ct systemctl show -p WatchdogUSec --value vlcpd.service)
wd_s=""
if [[ $wd =~ ^([0-9]+)s$ ]]; then
  wd_s=${BASH_REMATCH[1]}
elif [[ $wd =~ ^([0-9]+)min( ([0-9]+)s)?$ ]]; then
  wd_s=$((BASH_REMATCH[1] * 60 + ${BASH_REMATCH[3]:-0}))
fi
if [ -n "$wd_s" ] && [ "$wd_s" -le 60 ]; then
  entered=$(in_ct systemctl show -p ActiveEnterTimestampMonotonic --value vlcpd.service)
  now=$(/usr/bin/python3 -c 'import time; print(int(time.monotonic() * 1e6))')
  left=$(((entered + (wd_s + 5) * 1000000 - now) / 1000000))
  [ "$left" -gt 0 ] && sleep "$left"
  check_output "vlcpd outlives its watchdog (WatchdogSec=$wd: active, 0 restarts)" "ActiveState=active NRestarts=0" \
    bash -c 'echo $(nsenter --target '"$leader"' --mount --pid -- systemctl show -p ActiveState -p NRestarts vlcpd.service | sort)'
else
  echo "note: vlcpd's unit has WatchdogUSec='$wd': the watchdog check is skipped"
fi

# --- stop --------------------------------------------------------------------------------------
t_stop=$SECONDS
kill -TERM "$nspawn"
stopped() { ! kill -0 "$nspawn" 2>/dev/null; }
if sb_wait 40 stopped; then
  wait "$nspawn"
  rc=$?
  check_status "the container powers off cleanly (nspawn exit 0)" 0 test "$rc" -eq 0
  pass "stopped in $((SECONDS - t_stop)) s"
else
  fail "the container powers off within 40 s"
fi
grep -q "vlcp-appl-$SB_ID" /proc/self/mountinfo && fail "mounts of the container remain" || pass "no mount of the container remains"
[ "$T_FAILED" -gt 0 ] && tail -40 "$SB_DIR/console.log"
finish
