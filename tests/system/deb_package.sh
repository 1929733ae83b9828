#!/usr/bin/env bash
# The Debian packages and the systemd unit (issue 18).
#
#   deb_package.sh           (make test, system_deb_package; the build tree's binaries from
#                            VLCP_VLCPD / VLCP_VLCPCTL) the unit passes `systemd-analyze verify`
#                            and keeps its `systemd-analyze security` exposure; the man pages
#                            generated from --help are warning-free; and vlcpd run as the unit runs
#                            it (uid 0, no capability at all, no new privileges, a group of its
#                            own) takes a bridge over, programs it, and is restarted under a 10 ms
#                            ping between two hosts on that bridge without losing one packet.
#   deb_package.sh DEB_DIR   (make deb-test, after make deb) the same with the packages of DEB_DIR
#                            installed (`dpkg --root`) into a throw-away Debian 12 root
#                            (mmdebstrap, cached under build/deb/roots): files, the vlcp user,
#                            the binaries run with only what the packages depend on; the daemon
#                            runs from the installed files, and `dpkg -i` of a newer version
#                            during the ping leaves it running until the postinst asks for the
#                            restart (no stop in the prerm); a newer default vlcp.conf (the
#                            conffile) is installed without a prompt because local settings
#                            live in /etc/vlcp/vlcp.conf.d (first boot's and a perf profile's
#                            drop-ins are kept and still override it); the restart loses no
#                            packet; purge removes /etc/vlcp and /var/lib/vlcp.
#
# In the throw-away root there is no systemd to act on the maintainer scripts' requests:
# deb-systemd-invoke there is a stub that records them, and the test carries them out (stop,
# start, restart) on the daemon it runs in the sandbox.
. "$(dirname "$0")/../lib/system.sh"
repo=$(cd "$here/../.." && pwd)
deb_dir=${1:-}
unit_src=$repo/systemd/vlcpd.service

# --- the unit, offline ----------------------------------------------------------------------
if [ -z "$deb_dir" ]; then
  vlcpd=${VLCP_VLCPD:?set VLCP_VLCPD}
  vlcpctl=${VLCP_VLCPCTL:?set VLCP_VLCPCTL}
  # verify and security on a root holding the unit and the build tree's vlcpd at its path, with
  # the host's own units beside it (sysinit.target and the rest verify resolves).
  uroot=$SB_DIR/unit-root
  mkdir -p "$uroot/usr/sbin" "$uroot/lib/systemd" "$uroot/etc/systemd/system"
  cp -a /lib/systemd/system "$uroot/lib/systemd/"
  cp "$vlcpd" "$uroot/usr/sbin/vlcpd"
  cp "$unit_src" "$uroot/lib/systemd/system/vlcpd.service"
  verify() { systemd-analyze verify --man=no --root="$uroot" vlcpd.service 2>&1; }
else
  :
fi
exposure() {
  systemd-analyze security --offline=yes --root="$1" vlcpd.service 2>/dev/null |
    sed -n 's/.*Overall exposure level for vlcpd.service: \([0-9.]*\).*/\1/p'
}

# --- the man pages --------------------------------------------------------------------------
# man_clean FILE: groff formats it without a warning (what lintian checks too).
man_clean() {
  local warnings
  warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$1" 2>&1 >/dev/null)
  [ -z "$warnings" ] || { echo "$warnings"; return 1; }
}

# --- vlcpd as the unit runs it --------------------------------------------------------------
# as_unit GID BINARY ARGS...: what systemd does with User= unset, Group=, CapabilityBoundingSet=
# (empty) and NoNewPrivileges=yes.
as_unit_wrapper() {  # as_unit_wrapper FILE GID BINARY
  cat >"$1" <<EOF
#!/bin/sh
exec setpriv --regid=$2 --clear-groups --bounding-set=-all --inh-caps=-all --no-new-privs -- "$3" "\$@"
EOF
  chmod +x "$1"
}

sandbox_up() {
  sb_ovs_start hv1 && sb_vsctl hv1 set Open_vSwitch . external_ids:system-id=hv1 &&
    sb_bridge hv1 br-int 0000000000000001
}
api() { sb_exec hv1 curl -sf --max-time 5 "http://127.0.0.1:8081$1"; }
ctl() { sb_exec hv1 "$ctl_bin" --api http://127.0.0.1:8081 "$@"; }
synced() {
  [ "$(api /ioprocessing/status | python3 -c "
import json, sys
s = json.load(sys.stdin)['result']['switches']
print(bool(s) and s[0].get('attached') and s[0].get('synced'))")" = True ]
}
reconcile_mods() {
  api /ioprocessing/status | python3 -c "
import json, sys
s = json.load(sys.stdin)['result']['switches'][0]
print(s['last_reconcile_flow_mods'], s['group_mods'])"
}
model() {
  ctl call viperflow createphysicalnetwork id=pl type=local >/dev/null &&
    ctl call viperflow createlogicalnetwork id=n1 physicalnetwork=pl >/dev/null &&
    ctl call viperflow createsubnet id=s1 logicalnetwork=n1 cidr=10.1.0.0/24 >/dev/null &&
    ctl call viperflow createlogicalport id=p1 logicalnetwork=n1 subnet=s1 mac_address=02:00:00:00:e0:01 \
      ip_address=10.1.0.1 >/dev/null &&
    ctl call viperflow createlogicalport id=p2 logicalnetwork=n1 subnet=s1 mac_address=02:00:00:00:e0:02 \
      ip_address=10.1.0.2 >/dev/null
}
flows_now() {
  sb_ofctl hv1 dump-flows br-int cookie=0/0x8000000000000000 |
    sed 's/duration=[^,]*, //; s/n_packets=[^,]*, //; s/n_bytes=[^,]*, //; s/idle_age=[^,]*, //' | sort | md5sum
}
cap_eff() { awk '/^CapEff/ {print $2}' "/proc/$1/status"; }
started() {  # the daemon's API answers
  api /manager/modules >/dev/null
}
daemon_start() {  # daemon_start: vlcpd (VLCP_VLCPD, the unit's identity) on $conf, waits for its API
  sb_vlcpd_start hv1 "$conf" hv1 && sb_wait 30 started
}
daemon_stop() { sb_stop_pid "$(sb_vlcpd_pid hv1)"; }

# start_ping: 10 ms pings vm1 -> vm2 in the background (long enough for what follows)
start_ping() {
  sb_exec vm1 ping -q -i 0.01 -c "$1" -W 1 10.1.0.2 >"$SB_DIR/ping.txt" 2>&1 &
  pinger=$!
}

# The sandbox: one OVS, vlcpd on an embedded ObjectDB in STATE, two hosts on a local network.
# bring_up STATE GID VLCPD_BINARY
bring_up() {
  local state=$1 gid=$2 bin=$3
  check "OVS and a bridge" sandbox_up || return 1
  conf=$SB_DIR/hv1.conf
  sb_vlcpd_server_conf "$conf" hv1 "server.loglevel = 'info'" "module.objectdb.backend = 'embedded'" \
    "module.objectdb.path = '$state/vlcp.mdb'" 2>/dev/null  # (no ZooKeeper: its default is unused)
  as_unit_wrapper "$SB_DIR/vlcpd-as-unit" "$gid" "$bin"
  export VLCP_VLCPD=$SB_DIR/vlcpd-as-unit
  check "vlcpd starts with the unit's identity" daemon_start || return 1
  local pid
  pid=$(sb_vlcpd_pid hv1)
  check "  as uid 0 with no capability (CapEff 0)" test "$(cap_eff "$pid")" = 0000000000000000
  check "  in group $gid" test "$(awk '/^Gid/ {print $2}' "/proc/$pid/status")" = "$gid"
  check "  and no new privileges" test "$(awk '/^NoNewPrivs/ {print $2}' "/proc/$pid/status")" = 1
  check "  which is enough: its OpenFlow socket in OVS's run dir, OVSDB, the bridge in sync" sb_wait 30 synced
  check "a network and two ports (vlcpctl)" model
  sb_host vm1 hv1 br-int 10.1.0.1/24 mac=02:00:00:00:e0:01 iface_id=p1
  sb_host vm2 hv1 br-int 10.1.0.2/24 mac=02:00:00:00:e0:02 iface_id=p2
  check "  the switch reconciled" sb_wait 30 synced
  check "  the hosts talk (vm1 -> vm2)" sb_wait 10 sb_ping vm1 vm2 1
}

# restart_checks: after a restart under a running ping ($pinger), what must hold.
restart_checks() {
  check "  the restarted vlcpd is in sync" sb_wait 30 synced
  wait "$pinger"
  cat "$SB_DIR/ping.txt"
  check_output "  a 10 ms ping across the restart lost no packet" " 0% packet loss" cat "$SB_DIR/ping.txt"
  check_output "  the reconcile sent no FLOW_MOD" "0 0" reconcile_mods
  check_output "  the flows are the ones that were there" "$flows_before" flows_now
}

if [ -z "$deb_dir" ]; then
  # ---------------------------------------------------------------- make test: the unit ----
  out=$(verify)
  echo "$out"
  check "systemd-analyze verify: the unit is clean" test -z "$out"
  score=$(exposure "$uroot")
  echo "systemd-analyze security vlcpd.service: exposure $score"
  check "  exposure $score stays below 2.5 (appliance/README.md)" python3 -c "import sys; sys.exit(not 0 < float('${score:-99}') < 2.5)"
  "$vlcpd" --help | "$repo/appliance/man-from-help.py" vlcpd 8 test "the VLCP SDN controller daemon" >"$SB_DIR/vlcpd.8"
  "$vlcpctl" --help | "$repo/appliance/man-from-help.py" vlcpctl 1 test "the VLCP command-line client" >"$SB_DIR/vlcpctl.1"
  check "vlcpd(8) from vlcpd --help is warning-free" man_clean "$SB_DIR/vlcpd.8"
  check_output "  and documents every key (module.sched.workers)" "module.sched.workers" man -l "$SB_DIR/vlcpd.8"
  check "vlcpctl(1) from vlcpctl --help is warning-free" man_clean "$SB_DIR/vlcpctl.1"

  ctl_bin=$vlcpctl
  mkdir -p "$SB_DIR/state"
  bring_up "$SB_DIR/state" 64999 "$vlcpd" || { finish; exit; }
  flows_before=$(flows_now)
  start_ping 400
  sleep 0.5
  daemon_stop
  check "vlcpd restarted (stop, start) during the ping" daemon_start
  restart_checks
  [ "$T_FAILED" -gt 0 ] && tail -30 "$SB_DIR/vlcpd-hv1.log"
  finish
  exit
fi

# ---------------------------------------------------------- make deb-test: the packages ----
deb_dir=$(cd "$deb_dir" && pwd)
vlcpd_deb=$(ls "$deb_dir"/vlcpd_*.deb)
vlcpctl_deb=$(ls "$deb_dir"/vlcpctl_*.deb)
version=$(dpkg-deb -f "$vlcpd_deb" Version)
echo "packages: $(basename "$vlcpd_deb") $(basename "$vlcpctl_deb")"

# The throw-away root: Debian 12 minbase with what the packages depend on (names from their
# Depends, so a dependency missing from them fails the binaries below), adduser, and systemd
# (systemd-analyze's view of the installed unit). Cached by that list.
depends=$( (dpkg-deb -f "$vlcpd_deb" Depends; dpkg-deb -f "$vlcpctl_deb" Depends) | tr ',' '\n' |
  sed 's/([^)]*)//; s/|.*//; s/ //g' | grep -v '^$' | sort -u | paste -sd,)
include="adduser,systemd,$depends"
roots=$repo/build/deb/roots
key=$(echo "$include" | md5sum | cut -c1-12)
tarball=$roots/bookworm-$key.tar
if [ ! -f "$tarball" ]; then
  mkdir -p "$roots"
  echo "root: mmdebstrap bookworm minbase + $include"
  check "a bookworm root (mmdebstrap, cached in $tarball)" mmdebstrap --quiet --variant=minbase --format=tar \
    --include="$include" bookworm "$tarball.tmp" \
    "deb http://deb.debian.org/debian bookworm main" "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" && mv "$tarball.tmp" "$tarball"
fi
root=$SB_DIR/root
mkdir -p "$root"
check "the root unpacked" tar -C "$root" -xf "$tarball" || { finish; exit; }
# The stub that records what the maintainer scripts ask of systemd (see the top).
mkdir -p "$root/run/systemd/system"
for stub in deb-systemd-invoke systemctl; do
  printf '#!/bin/sh\necho "%s $*" >>/var/log/systemd-requests\n' "$stub" >"$root/usr/bin/$stub"
  chmod +x "$root/usr/bin/$stub"
done
requests() { cat "$root/var/log/systemd-requests" 2>/dev/null; }
dpkg_root() { DEBIAN_FRONTEND=noninteractive dpkg --root="$root" "$@" </dev/null; }

check "dpkg -i vlcpd vlcpctl into the root" dpkg_root -i "$vlcpd_deb" "$vlcpctl_deb" || { finish; exit; }
for f in /usr/sbin/vlcpd /usr/bin/vlcpctl; do check "  $f installed" test -x "$root$f"; done
for f in /lib/systemd/system/vlcpd.service /etc/vlcp/vlcp.conf /usr/share/man/man8/vlcpd.8.gz \
  /usr/share/man/man1/vlcpctl.1.gz; do check "  $f installed" test -f "$root$f"; done
check "  the unit is systemd/vlcpd.service" cmp -s "$unit_src" "$root/lib/systemd/system/vlcpd.service"
check "  bash completion for vlcpctl" test -f "$root/usr/share/bash-completion/completions/vlcpctl"
check_output "  /etc/vlcp/vlcp.conf is a conffile" "/etc/vlcp/vlcp.conf" \
  dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Conffiles}' vlcpd
vlcp_user=$(grep '^vlcp:' "$root/etc/passwd")
echo "user: $vlcp_user"
check "  the vlcp system user (uid < 1000, no login shell)" python3 -c "
import sys; f = sys.argv[1].split(':'); sys.exit(not (int(f[2]) < 1000 and f[6].endswith('nologin')))" "$vlcp_user"
gid=$(awk -F: '$1 == "vlcp" {print $3}' "$root/etc/group")
check_output "  /var/lib/vlcp is root:vlcp 0750" "0:$gid 750" stat -c '%u:%g %a' "$root/var/lib/vlcp"
check_output "  /etc/vlcp/vlcp.conf (secrets) is root:vlcp 0640" "0:$gid 640" stat -c '%u:%g %a' "$root/etc/vlcp/vlcp.conf"
check_output "  /etc/vlcp/vlcp.conf.d (local settings, drop-ins) is root:vlcp 0750" "0:$gid 750" \
  stat -c '%u:%g %a' "$root/etc/vlcp/vlcp.conf.d"
check_output "  the postinst asked systemd to start vlcpd" "deb-systemd-invoke start vlcpd.service" requests
check "vlcpd runs with only what the packages depend on (chroot)" chroot "$root" /usr/sbin/vlcpd --version
check "  so does vlcpctl" chroot "$root" /usr/bin/vlcpctl --version
check "  and the shipped configuration is valid" chroot "$root" /usr/sbin/vlcpd --check-config -c /etc/vlcp/vlcp.conf
check_output "  vlcpctl profile list finds the shipped profiles" "nfv-dedicated" chroot "$root" /usr/bin/vlcpctl profile list
check "  and their vlcpd drop-ins" test -f "$root/usr/share/vlcp/profiles/systemd/nfv-dedicated.conf"
for page in man1/vlcpctl.1.gz man8/vlcpd.8.gz; do
  zcat "$root/usr/share/man/$page" >"$SB_DIR/page"
  check "  $page is warning-free" man_clean "$SB_DIR/page"
done
zcat "$root/usr/share/man/man1/vlcpctl.1.gz" >"$SB_DIR/page"
check_output "  vlcpctl(1) documents the profile command (generated from the declarations)" "profile apply" \
  man -l "$SB_DIR/page"
out=$(systemd-analyze verify --man=no --root="$root" vlcpd.service 2>&1)
echo "$out"
check "systemd-analyze verify: the installed unit is clean" test -z "$out"
score=$(exposure "$root")
echo "systemd-analyze security vlcpd.service: exposure $score"
check "  exposure $score stays below 2.5" python3 -c "import sys; sys.exit(not 0 < float('${score:-99}') < 2.5)"

# The daemon from the installed files, as systemd would have started it.
ctl_bin=$root/usr/bin/vlcpctl
bring_up "$root/var/lib/vlcp" "$gid" "$root/usr/sbin/vlcpd" || { finish; exit; }
old_pid=$(sb_vlcpd_pid hv1)

# A newer version: the same packages, version + "+1" (what a rebuild of a later commit gives).
newer=$SB_DIR/newer
for deb in "$vlcpd_deb" "$vlcpctl_deb"; do
  rm -rf "$newer/x"
  mkdir -p "$newer/x"
  dpkg-deb -R "$deb" "$newer/x"
  sed -i "s/^Version: .*/Version: $version+1/" "$newer/x/DEBIAN/control"
  # The newer version changes the default configuration (the conffile): its md5sum with it.
  if [ -f "$newer/x/etc/vlcp/vlcp.conf" ]; then
    echo "# a default added in $version+1" >>"$newer/x/etc/vlcp/vlcp.conf"
    sed -i "s|^[0-9a-f]*  etc/vlcp/vlcp.conf\$|$(cd "$newer/x" && md5sum etc/vlcp/vlcp.conf)|" "$newer/x/DEBIAN/md5sums"
  fi
  dpkg-deb -b -Zgzip "$newer/x" "$newer/" >/dev/null
done
# Local settings as first boot and a perf profile write them: drop-ins, the conffile untouched.
# (Were they edits of vlcp.conf, dpkg would stop at its conffile prompt: stdin is /dev/null.)
printf "server.loglevel = 'debug'\n" >"$root/etc/vlcp/vlcp.conf.d/50-firstboot.conf"
printf "server.loglevel = 'warn'\n" >"$root/etc/vlcp/vlcp.conf.d/60-perf-profile.conf"
chmod 640 "$root"/etc/vlcp/vlcp.conf.d/*.conf
: >"$root/var/log/systemd-requests"
flows_before=$(flows_now)
start_ping 1000
sleep 0.5
check "dpkg -i of version $version+1 during the ping" dpkg_root -i "$newer"/vlcpd_*.deb "$newer"/vlcpctl_*.deb
requests
check_output "  upgraded" "$version+1" dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Version}' vlcpd
check "  the old vlcpd was left running through the unpack" kill -0 "$old_pid"
check_fails "  (the prerm asked for no stop)" grep -q "stop vlcpd" "$root/var/log/systemd-requests"
check_output "  the postinst asked for the restart" "deb-systemd-invoke restart vlcpd.service" requests
check_output "  the newer default vlcp.conf is installed (no prompt: it was not edited)" \
  "a default added in $version+1" cat "$root/etc/vlcp/vlcp.conf"
check_output "  still root:vlcp 0640" "0:$gid 640" stat -c '%u:%g %a' "$root/etc/vlcp/vlcp.conf"
check "  no .dpkg-dist or .dpkg-old copy" test -z "$(ls "$root"/etc/vlcp/ | grep dpkg-)"
check_output "  the drop-ins are kept" "50-firstboot.conf 60-perf-profile.conf" \
  bash -c "cd '$root/etc/vlcp/vlcp.conf.d' && echo *.conf"
check_output "  the installed vlcpd reads them over the new default" \
  "from 3 files" chroot "$root" /usr/sbin/vlcpd --check-config
check_output "  the last word is 60-perf-profile.conf's" \
  "server.loglevel = \"warn\"  # /etc/vlcp/vlcp.conf.d/60-perf-profile.conf:1" \
  chroot "$root" /usr/sbin/vlcpd --show-config
# The restart the postinst asked for.
daemon_stop
check "vlcpd restarted from the upgraded files" daemon_start
new_pid=$(sb_vlcpd_pid hv1)
check "  runs the new file (not a deleted inode)" test "$(stat -L -c %i "/proc/$new_pid/exe")" = "$(stat -c %i "$root/usr/sbin/vlcpd")"
restart_checks

# A perf profile's hugetlbfs mount inside the state directory (var-lib-vlcp-hugepages.mount):
# the purge unmounts it rather than failing on it (a tmpfs stands in for hugetlbfs).
mkdir -p "$root/var/lib/vlcp/hugepages"
mount -t tmpfs -o size=1m vlcp-test-hugepages "$root/var/lib/vlcp/hugepages"
check "dpkg --purge vlcpd vlcpctl" dpkg_root --purge vlcpd vlcpctl
if mountpoint -q "$root/var/lib/vlcp/hugepages" 2>/dev/null; then
  fail "  the purge unmounted the hugepage mount"
  umount "$root/var/lib/vlcp/hugepages"
else
  pass "  the purge unmounted the hugepage mount"
fi
check_output "  the prerm asked systemd to stop vlcpd" "deb-systemd-invoke stop vlcpd.service" requests
daemon_stop
for f in /etc/vlcp /var/lib/vlcp /usr/sbin/vlcpd /usr/bin/vlcpctl /lib/systemd/system/vlcpd.service; do
  check "  $f is gone" test ! -e "$root$f"
done
[ "$T_FAILED" -gt 0 ] && tail -30 "$SB_DIR/vlcpd-hv1.log"
finish
