#!/usr/bin/env bash
# Perf profiles (vlcpctl profile ...): `check shared` on this machine, passing or listing
# differences that are true; `apply nfv-dedicated` in a throw-away root that looks like a
# 16-CPU, 2-node server booting with grub and a real OVS database (ovsdb-server on the root's
# db.sock): the kernel command line, sysctl, hugepage mount, OVS other_config, vlcpd's keys in
# vlcp.conf.d/60-perf-profile.conf (vlcp.conf untouched; vlcpd accepts the merged set) and
# systemd drop-in; `check --configured` passes at once and `check` once the root "boots" with
# what was written, and names a setting changed behind its back; the same on a systemd-boot
# root (the ESP's entry and /etc/kernel/cmdline); without a boot loader nfv-dedicated is refused
# and nothing written; without an OVS database the settings wait for the first boot; a 2-CPU
# machine is refused with what it lacks, and nothing written.
vlcpctl=${VLCP_VLCPCTL:?set VLCP_VLCPCTL}
. "$(dirname "$0")/../lib/system.sh"
src=$(cd "$here/../.." && pwd)
export VLCP_PROFILE_DIR=$src/perf/profiles

# A machine's /sys and /proc under ROOT: fake_machine ROOT CPUS NODES MEMORY_GB
fake_machine() {
  local root=$1 cpus=$2 nodes=$3 gb=$4 n c per
  per=$((cpus / nodes))
  mkdir -p "$root/sys/devices/system/cpu" "$root/proc/sys/vm" "$root/proc/sys/kernel" "$root/proc/irq"
  echo "0-$((cpus - 1))" >"$root/sys/devices/system/cpu/online"
  echo >"$root/sys/devices/system/cpu/isolated"
  for ((n = 0; n < nodes; n++)); do
    local d=$root/sys/devices/system/node/node$n
    mkdir -p "$d/hugepages/hugepages-2048kB" "$d/hugepages/hugepages-1048576kB"
    echo "$((n * per))-$(((n + 1) * per - 1))" >"$d/cpulist"
    echo "Node $n MemTotal:       $((gb * 1024 * 1024 / nodes)) kB" >"$d/meminfo"
    echo 0 >"$d/hugepages/hugepages-2048kB/nr_hugepages"
    echo 0 >"$d/hugepages/hugepages-1048576kB/nr_hugepages"
  done
  mkdir -p "$root/sys/kernel/mm/hugepages/hugepages-2048kB" "$root/sys/kernel/mm/hugepages/hugepages-1048576kB"
  echo "MemTotal:       $((gb * 1024 * 1024)) kB" >"$root/proc/meminfo"
  for c in vm/stat_interval kernel/nmi_watchdog kernel/numa_balancing vm/nr_hugepages; do echo 1 >"$root/proc/sys/$c"; done
  echo "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro quiet" >"$root/proc/cmdline"
  echo "ffff" >"$root/proc/irq/default_smp_affinity"
  echo "sysfs /sys sysfs rw 0 0" >"$root/proc/mounts"
  mkdir -p "$root/etc/vlcp" "$root/etc/default"
  cp "$src/appliance/vlcp.conf" "$root/etc/vlcp/vlcp.conf"
  echo 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"' >"$root/etc/default/grub"  # (a grub machine unless told)
}

# An OVS database (ovsdb-server alone) answering on ROOT/run/openvswitch/db.sock; ROOT/var/run is
# an absolute link to /run, as in every Debian root (so a path through var/run would reach the
# host's OVS, not the root's: the settings checked below would then be missing).
fake_ovsdb() {
  local root=$1 run=$1/run/openvswitch
  mkdir -p "$run" "$root/var/lib/openvswitch"
  [ -e "$root/var/run" ] || ln -s /run "$root/var/run"
  ovsdb-tool create "$root/var/lib/openvswitch/conf.db" /usr/share/openvswitch/vswitch.ovsschema || return 1
  OVS_RUNDIR=$run ovsdb-server "$root/var/lib/openvswitch/conf.db" --remote="punix:$run/db.sock" \
    --pidfile="$run/ovsdb-server.pid" --unixctl="$run/ovsdb-server.ctl" --detach -vconsole:off \
    --log-file="$root/ovsdb-server.log" || return 1
  sb_record pid "$(cat "$run/ovsdb-server.pid")" "ovsdb-server:perf-profiles"
  OVS_RUNDIR=$run ovs-vsctl --db="unix:$run/db.sock" --no-wait init
}
vsctl() { OVS_RUNDIR=$1/run/openvswitch ovs-vsctl --timeout=10 --db="unix:$1/run/openvswitch/db.sock" "${@:2}"; }

# CPU list -> hex mask, as /proc/irq/default_smp_affinity shows it.
list_to_mask() {
  local mask=0 part lo hi c
  IFS=, read -ra parts <<<"$1"
  for part in "${parts[@]}"; do
    lo=${part%-*} hi=${part#*-}
    for ((c = lo; c <= hi; c++)); do mask=$((mask | (1 << c))); done
  done
  printf '%x\n' "$mask"
}

# The root boots with what apply wrote: the kernel takes the grub file's arguments (isolation,
# IRQ affinity, 1G pages spread over the nodes), systemd mounts the unit and applies sysctl.d.
boot() {
  local root=$1 args a
  args=$(sed -n 's/^GRUB_CMDLINE_LINUX_DEFAULT="\$GRUB_CMDLINE_LINUX_DEFAULT \(.*\)"$/\1/p' \
    "$root/etc/default/grub.d/vlcp.cfg")
  echo "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro quiet $args" >"$root/proc/cmdline"
  for a in $args; do
    case $a in
      nohz_full=*) echo "${a#*=}" >"$root/sys/devices/system/cpu/nohz_full" ;;
      isolcpus=*) echo "${a##*,domain,}" >"$root/sys/devices/system/cpu/isolated" ;;
      irqaffinity=*) list_to_mask "${a#*=}" >"$root/proc/irq/default_smp_affinity" ;;
      hugepages=*) for n in 0 1; do
        echo $((${a#*=} / 2)) >"$root/sys/devices/system/node/node$n/hugepages/hugepages-1048576kB/nr_hugepages"
      done ;;
    esac
  done
  echo "hugetlbfs /var/lib/vlcp/hugepages hugetlbfs rw,relatime,pagesize=1024M 0 0" >>"$root/proc/mounts"
  while IFS=' =' read -r key value; do
    [[ $key == \#* || -z $key ]] && continue
    echo "$value" >"$root/proc/sys/${key//.//}"
  done < <(sed 's/ = /=/' "$root/etc/sysctl.d/90-vlcp-profile.conf")
}

# --- this machine: check shared, and every difference it lists is true -------------------------
out=$("$vlcpctl" profile check shared 2>/dev/null)
status=$?
check "check shared on this machine exits 0 (matches) or 1 (differs)" test "$status" -le 1
if [ "$status" -eq 0 ]; then
  check_output "  and says it matches" "the running system matches profile shared" echo "$out"
else
  untrue=""
  while IFS= read -r line; do
    what=${line%%: expected *}
    rest=${line#*: expected }
    want=${rest%%, actual *}
    got=${rest##*, actual }
    case $what in
      "kernel command line "*)
        arg=${what#kernel command line }
        real=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^$arg=//p" | tail -1)
        [ "${real:-(absent)}" = "$got" ] || untrue+="$line (the kernel has '$real'); " ;;
      "vlcpd drop-in "*)
        path=${what#vlcpd drop-in }
        { [ "$got" = "(absent)" ] && [ ! -e "$path" ]; } || { [ "$got" != "(absent)" ] && [ -e "$path" ]; } ||
          untrue+="$line; " ;;
      "vlcpd "*)
        key=${what#vlcpd }
        key=${key%% *}
        # (as vlcpd reads it: vlcp.conf, then its drop-ins in name order, the last value wins)
        real=$(cat /etc/vlcp/vlcp.conf $(LC_ALL=C ls -d /etc/vlcp/vlcp.conf.d/*.conf 2>/dev/null) 2>/dev/null |
          sed -n "s/^$key = //p" | tail -1)
        [ "${real:-(absent)}" = "$got" ] || untrue+="$line (vlcp.conf and its drop-ins have '$real'); " ;;
      "isolated CPUs"*) [ "$(cat /sys/devices/system/cpu/isolated)" = "${got/(absent)/}" ] || untrue+="$line; " ;;
      "sysctl "*) [ "$(cat "/proc/sys/$(echo "${what#sysctl }" | tr . /)")" = "$got" ] || untrue+="$line; " ;;
      *) untrue+="$line (not verified by this test); " ;;
    esac
    [ -n "$want" ] || untrue+="$line (no expected value); "
  done <<<"$out"
  check "  every difference it lists is true ($(echo "$out" | wc -l) listed)" test -z "$untrue"
  [ -z "$untrue" ] || echo "untrue: $untrue" >&2
  echo "$out" | sed 's/^/  this machine: /'
fi

# --- nfv-dedicated on a 16-CPU, 2-node server with OVS ---------------------------------------------
r1=$SB_DIR/root16
fake_machine "$r1" 16 2 64
check "an OVS database answers under the root" fake_ovsdb "$r1"
check_output "show derives it for the machine" "OVS PMD CPUs 6-7,14-15, vlcpd worker CPUs 4-5, isolated 4-7,14-15" \
  "$vlcpctl" profile show nfv-dedicated --root "$r1"
# vlcp.conf holds secrets: mode 0640 (as the package installs it), a token in it.
echo "module.httpserver.token = 'sekrit-token-1234'" >>"$r1/etc/vlcp/vlcp.conf"
chmod 0640 "$r1/etc/vlcp/vlcp.conf"
cp -p "$r1/etc/vlcp/vlcp.conf" "$SB_DIR/vlcp.conf.shipped"
"$vlcpctl" profile apply nfv-dedicated --root "$r1" --dry-run >"$SB_DIR/dry-run.out"
check "--dry-run writes nothing" test ! -e "$r1/etc/default/grub.d/vlcp.cfg" -a ! -e "$r1/etc/vlcp/perf-profile" \
  -a ! -e "$r1/etc/vlcp/vlcp.conf.d"
check "  shows the drop-in's keys" grep -q "module.sched.cores = '4-5'" "$SB_DIR/dry-run.out"
check_fails "  and nothing of vlcp.conf (the token)" grep -q sekrit "$SB_DIR/dry-run.out"
check "  and sets nothing in OVS" test -z "$(vsctl "$r1" get Open_vSwitch . other_config | tr -d '{}')"
check "apply nfv-dedicated --root" "$vlcpctl" profile apply nfv-dedicated --root "$r1"
check_output "kernel command line: isolation, IRQs, 1G pages" \
  'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT isolcpus=managed_irq,domain,4-7,14-15 nohz_full=4-7,14-15 rcu_nocbs=4-7,14-15 irqaffinity=0-3,8-13 default_hugepagesz=1G hugepagesz=1G hugepages=4"' \
  cat "$r1/etc/default/grub.d/vlcp.cfg"
check_output "sysctl: vm.stat_interval" "vm.stat_interval = 10" cat "$r1/etc/sysctl.d/90-vlcp-profile.conf"
check_output "sysctl: kernel.nmi_watchdog" "kernel.nmi_watchdog = 0" cat "$r1/etc/sysctl.d/90-vlcp-profile.conf"
check_output "hugepage mount unit: where" "Where=/var/lib/vlcp/hugepages" \
  cat "$r1/etc/systemd/system/var-lib-vlcp-hugepages.mount"
check_output "hugepage mount unit: 1G hugetlbfs" "Options=pagesize=1G" \
  cat "$r1/etc/systemd/system/var-lib-vlcp-hugepages.mount"
check "  enabled" test -L "$r1/etc/systemd/system/local-fs.target.wants/var-lib-vlcp-hugepages.mount"
check_output "OVS pmd-cpu-mask: the two highest cores of each node" '"0xc0c0"' \
  vsctl "$r1" get Open_vSwitch . other_config:pmd-cpu-mask
check_output "OVS dpdk-socket-mem: 1 GB on each node" '"1024,1024"' vsctl "$r1" get Open_vSwitch . other_config:dpdk-socket-mem
check "OVS dpdk-init" test "$(vsctl "$r1" get Open_vSwitch . other_config:dpdk-init)" = try
check "no first-boot OVS unit when OVS was reachable" test ! -e "$r1/etc/systemd/system/vlcp-profile-ovs.service"
conf=$r1/etc/vlcp/vlcp.conf
dropin=$r1/etc/vlcp/vlcp.conf.d/60-perf-profile.conf
check_output "vlcpd: module.sched.cores (in vlcp.conf.d/60-perf-profile.conf)" "module.sched.cores = '4-5'" cat "$dropin"
check_output "vlcpd: module.sched.workers" "module.sched.workers = 2" cat "$dropin"
check_output "vlcpd: module.sched.hugepages" "module.sched.hugepages = True" cat "$dropin"
check_output "vlcpd: module.sched.huge_dir" "module.sched.huge_dir = '/var/lib/vlcp/hugepages'" cat "$dropin"
check_output "vlcpd: module.sched.memory_mb" "module.sched.memory_mb = 256" cat "$dropin"
same_file_mode() { cmp -s "$1" "$2" && [ "$(stat -c %a "$1")" = "$3" ]; }
check "vlcp.conf (the package's conffile) byte-identical, mode 0640 kept" \
  same_file_mode "$conf" "$SB_DIR/vlcp.conf.shipped" 640
check "  the drop-in 0600 root:root (this root has no group vlcp)" test "$(stat -c '%a %u' "$dropin")" = "600 0"
check "  no temporary file left beside it" test "$(ls -A "$r1/etc/vlcp/vlcp.conf.d")" = 60-perf-profile.conf
if [ -n "${VLCP_VLCPD:-}" ]; then
  check_output "  and vlcpd accepts the merged set (vlcp.conf and the drop-in)" "configuration OK" \
    "$VLCP_VLCPD" -c "$conf" --check-config
fi
check "vlcpd drop-in: the profile's" cmp "$r1/etc/systemd/system/vlcpd.service.d/perf-profile.conf" \
  "$src/systemd/profiles/nfv-dedicated.conf"
check "check --configured passes right after apply" "$vlcpctl" profile check nfv-dedicated --root "$r1" --configured
check_status "check (running) fails before the reboot" 1 "$vlcpctl" profile check nfv-dedicated --root "$r1"
check_output "  naming the kernel's isolcpus" \
  "kernel command line isolcpus: expected managed_irq,domain,4-7,14-15, actual (absent)" \
  "$vlcpctl" profile check nfv-dedicated --root "$r1"
boot "$r1"
check_output "after the boot, check passes" "the running system matches profile nfv-dedicated" \
  "$vlcpctl" profile check nfv-dedicated --root "$r1"
check_status "  exit 0" 0 "$vlcpctl" profile check nfv-dedicated --root "$r1"
vsctl "$r1" --no-wait set Open_vSwitch . other_config:pmd-cpu-mask=0x3
check_output "a setting changed behind its back is named" \
  "OVS other_config:pmd-cpu-mask: expected 0xc0c0, actual 0x3" "$vlcpctl" profile check nfv-dedicated --root "$r1"
echo 0 >"$r1/sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages"
check_output "  and pages the kernel did not reserve" \
  "hugepages reserved on NUMA node 1 (1048576 kB pages): expected 2, actual 0" \
  "$vlcpctl" profile check nfv-dedicated --root "$r1"
check "apply shared undoes it" "$vlcpctl" profile apply shared --root "$r1"
check "  the kernel arguments gone" test ! -e "$r1/etc/default/grub.d/vlcp.cfg"
check "  the vlcpd drop-in gone (shared gives vlcp.conf's own values)" test ! -e "$dropin"
check "  vlcp.conf untouched" same_file_mode "$conf" "$SB_DIR/vlcp.conf.shipped" 640
check_fails "  no pmd-cpu-mask" vsctl "$r1" get Open_vSwitch . other_config:pmd-cpu-mask
check "  check shared --configured passes" "$vlcpctl" profile check shared --root "$r1" --configured

# --- systemd-boot (the appliance): the ESP's entry and /etc/kernel/cmdline -----------------------------
rs=$SB_DIR/root-sdboot
fake_machine "$rs" 16 2 64
rm "$rs/etc/default/grub"
mkdir -p "$rs/boot/efi/loader/entries" "$rs/etc/kernel"
printf '%s\n' "title   VLCP appliance" "linux   /vmlinuz" "initrd  /initrd.img" \
  "options root=UUID=abc rw console=tty0 console=ttyS0,115200" >"$rs/boot/efi/loader/entries/vlcp.conf"
cp "$rs/boot/efi/loader/entries/vlcp.conf" "$SB_DIR/entry.orig"
echo "root=UUID=abc rw console=tty0 console=ttyS0,115200" >"$rs/etc/kernel/cmdline"
check "apply nfv-dedicated on a systemd-boot root" "$vlcpctl" profile apply nfv-dedicated --root "$rs"
args="isolcpus=managed_irq,domain,4-7,14-15 nohz_full=4-7,14-15 rcu_nocbs=4-7,14-15 irqaffinity=0-3,8-13 default_hugepagesz=1G hugepagesz=1G hugepages=4"
check_output "  the ESP's entry boots with the profile's arguments after its own" \
  "options root=UUID=abc rw console=tty0 console=ttyS0,115200 $args" cat "$rs/boot/efi/loader/entries/vlcp.conf"
check "  /etc/kernel/cmdline the same (a kernel upgrade keeps them)" \
  test "$(cat "$rs/etc/kernel/cmdline")" = "root=UUID=abc rw console=tty0 console=ttyS0,115200 $args"
check "  no grub file" test ! -e "$rs/etc/default/grub.d/vlcp.cfg"
check "  check --configured passes" "$vlcpctl" profile check nfv-dedicated --root "$rs" --configured
check_output "  check (running) says a reboot is pending" \
  "pending reboot: kernel command line isolcpus is managed_irq,domain,4-7,14-15 in systemd-boot entry /boot/efi/loader/entries/vlcp.conf, the running kernel has (absent)" \
  "$vlcpctl" profile check nfv-dedicated --root "$rs"
check "apply shared: the entry as it was" "$vlcpctl" profile apply shared --root "$rs"
check "  byte for byte" cmp "$rs/boot/efi/loader/entries/vlcp.conf" "$SB_DIR/entry.orig"

# --- no boot loader: a profile with kernel arguments is refused, nothing written ----------------------
rn=$SB_DIR/root-noboot
fake_machine "$rn" 16 2 64
rm "$rn/etc/default/grub"
(cd "$rn" && find . -printf '%p %s %T@\n' | sort) >"$SB_DIR/noboot.before"
check_status "nfv-dedicated without a boot loader is refused" 1 "$vlcpctl" profile apply nfv-dedicated --root "$rn"
check_output "  saying what is needed" "(is the ESP mounted?), grub needs /etc/default/grub or update-grub; nothing written" \
  "$vlcpctl" profile apply nfv-dedicated --root "$rn"
check "  and nothing written" test "$(cd "$rn" && find . -printf '%p %s %T@\n' | sort)" = "$(cat "$SB_DIR/noboot.before")"

# --- without an OVS database: recorded for the first boot ----------------------------------------
r2=$SB_DIR/root16b
fake_machine "$r2" 16 2 64
check "apply without OVS" "$vlcpctl" profile apply nfv-dedicated --root "$r2"
check_output "OVS settings pending for the first boot" "pmd-cpu-mask=0xc0c0" cat "$r2/etc/vlcp/profile-ovs.pending"
check_output "  set by a one-shot unit before ovs-vswitchd" \
  "ExecStart=/usr/bin/ovs-vsctl --no-wait init -- set Open_vSwitch . other_config:pmd-cpu-mask=0xc0c0 other_config:dpdk-socket-mem=1024,1024 other_config:dpdk-init=try -- remove Open_vSwitch . other_config pmd-maxsleep" \
  cat "$r2/etc/systemd/system/vlcp-profile-ovs.service"
check "  enabled" test -L "$r2/etc/systemd/system/multi-user.target.wants/vlcp-profile-ovs.service"
check "check --configured passes" "$vlcpctl" profile check nfv-dedicated --root "$r2" --configured

# --- the units apply writes, as systemd reads them (vlcpd.service with each profile's drop-in) ----
if command -v systemd-analyze >/dev/null; then
  for p in shared nfv-dedicated lab; do
    u=$SB_DIR/units-$p
    mkdir -p "$u/vlcpd.service.d"
    # (the unit's binary need not be installed here: /bin/true stands in for it)
    sed 's|/usr/sbin/vlcpd|/bin/true|g' "$src/systemd/vlcpd.service" >"$u/vlcpd.service"
    cp "$src/systemd/profiles/$p.conf" "$u/vlcpd.service.d/perf-profile.conf"
    out=$(timeout 60 systemd-analyze verify --man=no "$u/vlcpd.service" 2>&1)
    check "systemd-analyze verify: vlcpd.service with the $p drop-in (${out:-no complaint})" test -z "$out"
  done
  out=$(cd "$r2/etc/systemd/system" && timeout 60 systemd-analyze verify --man=no var-lib-vlcp-hugepages.mount \
    vlcp-profile-ovs.service 2>&1 | grep -v 'ovsdb-server.service\|ovs-vswitchd.service\|vlcpd.service')
  check "systemd-analyze verify: the hugepage mount and the first-boot OVS unit (${out:-no complaint})" test -z "$out"
fi

# --- a machine that cannot take it ------------------------------------------------------------------
r3=$SB_DIR/root2
fake_machine "$r3" 2 1 8
check_status "nfv-dedicated on 2 CPUs is refused" 1 "$vlcpctl" profile apply nfv-dedicated --root "$r3"
check_output "  saying what it needs and what the machine has" \
  "profile nfv-dedicated needs at least 6 CPUs: 2 housekeeping" "$vlcpctl" profile apply nfv-dedicated --root "$r3"
check_output "  and the machine" "This machine: 2 CPUs (0-1), 1 NUMA node" \
  "$vlcpctl" profile apply nfv-dedicated --root "$r3"
check "  nothing written" test ! -e "$r3/etc/default/grub.d/vlcp.cfg" -a ! -e "$r3/etc/vlcp/perf-profile"
check "lab fits it" "$vlcpctl" profile apply lab --root "$r3"
check_output "  one PMD on CPU 1" "pmd-cpu-mask=0x2" cat "$r3/etc/vlcp/profile-ovs.pending"
check_output "  2M pages reserved at run time, no reboot" "vm.nr_hugepages = 160" \
  cat "$r3/etc/sysctl.d/90-vlcp-profile.conf"
check "  no kernel arguments" test ! -e "$r3/etc/default/grub.d/vlcp.cfg"

finish
