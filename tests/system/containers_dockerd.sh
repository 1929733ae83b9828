#!/usr/bin/env bash
# The Docker test plumbing (docs/CONTAINERS_DESIGN.md §1.2, §8.1), before any plugin: two
# dockerds, each in its own simulated server's network namespace with its own directories, the
# busybox image imported into each (no registry), a `--network none` container run and exec'd in
# each, removed; the daemons stopped; nothing left — no process naming their directories, no
# mount of them (on the host or in any namespace), no cgroup, no namespace.
. "$(dirname "$0")/../lib/system.sh"

[ -x "$SB_DOCKERD" ] || { fail "$SB_DOCKERD missing (package docker.io)"; finish; exit; }
[ -x /bin/busybox ] || { fail "/bin/busybox missing (package busybox-static)"; finish; exit; }

# Lines of any mount table that name this sandbox's directory.
sandbox_mounts() {
  local f
  for f in /proc/[0-9]*/mountinfo; do grep -F "$SB_DIR" "$f" 2>/dev/null; done | sort -u
}

for s in hv1 hv2; do
  check "dockerd $s starts in namespace $s and answers" sb_dockerd_start "$s" "$s"
done
d1=$(sb_dockerd_pid hv1)
d2=$(sb_dockerd_pid hv2)
check "dockerd hv1 runs in hv1's network namespace" \
  test "$(readlink "/proc/$d1/ns/net")" = "$(ip netns exec "$(sb_ns hv1)" readlink /proc/self/ns/net)"
check "dockerd hv2 runs in hv2's network namespace" \
  test "$(readlink "/proc/$d2/ns/net")" = "$(ip netns exec "$(sb_ns hv2)" readlink /proc/self/ns/net)"
check "the two daemons are separate processes with separate mount namespaces" \
  test "$(readlink "/proc/$d1/ns/mnt")" != "$(readlink "/proc/$d2/ns/mnt")"
check "neither shares the host's mount namespace" \
  test "$(readlink "/proc/$d1/ns/mnt")" != "$(readlink /proc/self/ns/mnt)"
check_output "hv1: cgroup v1 with cgroupfs, overlay2 storage" "cgroupfs 1 overlay2" \
  sb_docker hv1 info --format '{{.CgroupDriver}} {{.CgroupVersion}} {{.Driver}}'
check_output "hv1's data root is its own" "$(sb_docker_dir hv1)/root" \
  sb_docker hv1 info --format '{{.DockerRootDir}}'
check "the host's mount table shows nothing of either daemon" test -z "$(grep -F "$SB_DIR" /proc/self/mountinfo)"
check "no /run/docker appeared on the host" test ! -e /run/docker
check "hv1's /etc/docker is private: its key.json is in the daemon's directory" test -s "$(sb_docker_dir hv1)/etc/key.json"
check "and not in the host's /etc/docker" test ! -e /etc/docker/key.json
check "its plugin spec names the socket hv1's vlcpd will serve" \
  grep -qx "unix://$SB_DIR/hv1-docker.sock" "$(sb_docker_dir hv1)/etc/plugins/vlcp.spec"
check_output "each daemon's containerd is in the ledger" "containerd:hv2" sb_status

check "hv1: image $SB_DOCKER_IMAGE imported from the local busybox" sb_docker_image hv1
check_fails "hv2 does not have hv1's image: each daemon has its own store" \
  sb_docker hv2 image inspect "$SB_DOCKER_IMAGE"
check "hv2: image $SB_DOCKER_IMAGE imported" sb_docker_image hv2
for s in hv1 hv2; do
  check "$s: run --network none busybox true" sb_docker "$s" run --rm --network none "$SB_DOCKER_IMAGE" /bin/busybox true
  check_output "$s: a --network none container has only lo" "1: lo:" \
    sb_docker "$s" run --rm --network none "$SB_DOCKER_IMAGE" ip -o link
  check "$s: a detached container starts" sb_docker "$s" run -d --name "c-$s" --network none "$SB_DOCKER_IMAGE" sleep 300
  check "$s: exec busybox true in it" sb_docker "$s" exec "c-$s" busybox true
done
check_output "hv1 lists only its own container" "c-hv1" sb_docker hv1 ps --format '{{.Names}}'
check_fails "hv1 does not list hv2's" bash -c "DOCKER_HOST=unix://$(sb_docker_sock hv1) $SB_DOCKER ps --format '{{.Names}}' | grep -q c-hv2"
check "hv1: the container's cgroup is under the sandbox's parent" \
  test -d "/sys/fs/cgroup/memory/$(sb_docker_cgroup hv1)/$(sb_docker hv1 inspect -f '{{.Id}}' c-hv1)"
shims=$(sb_docker_procs hv1 | wc -l)
check "hv1's containerd and shim name its directory (so stop can find them)" test "$shims" -ge 2

for s in hv1 hv2; do
  check "$s: rm -f the container" sb_docker "$s" rm -f "c-$s"
  check_output "$s: no container left" "" sb_docker "$s" ps -aq
done
for s in hv1 hv2; do
  sb_dockerd_stop "$s"
  check "$s: dockerd stopped" bash -c "! kill -0 $(sb_dockerd_pid "$s") 2>/dev/null"
  check "$s: no process names its directory (containerd, shims)" test -z "$(sb_docker_procs "$s")"
  check "$s: its cgroups are removed" bash -c "! compgen -G '/sys/fs/cgroup/*/$(sb_docker_cgroup "$s")' >/dev/null"
  check "$s: its pidfile is removed" test ! -e "$(sb_docker_dir "$s")/docker.pid"
done
check "no mount anywhere names the sandbox" test -z "$(sandbox_mounts)"
check "stopping again is harmless" sb_dockerd_stop hv1

# And a dockerd killed with -9 (its pidfile left, containerd and a shim surviving) restarts and
# is still cleaned by sb_dockerd_stop.
sb_dockerd_start hv1 hv1 && sb_docker hv1 run -d --name killed --network none "$SB_DOCKER_IMAGE" sleep 300 >/dev/null
kill -KILL "$(sb_dockerd_pid hv1)"
sb_wait 10 bash -c "! kill -0 $(sb_dockerd_pid hv1)"
check "after kill -9 the pidfile is left" test -e "$(sb_docker_dir hv1)/docker.pid"
check "after kill -9 containerd or its shim survives" test -n "$(sb_docker_procs hv1)"
check "and so does the container's process, in the daemon's cgroup parent" \
  test -n "$(cat /sys/fs/cgroup/pids/"$(sb_docker_cgroup hv1)"/*/cgroup.procs 2>/dev/null)"
sb_dockerd_stop hv1
check "sb_dockerd_stop after a kill -9 stops the survivors" test -z "$(sb_docker_procs hv1)"
check "and the container's process (its cgroups are gone)" bash -c "! compgen -G '/sys/fs/cgroup/*/$(sb_docker_cgroup hv1)' >/dev/null"
check "and leaves no mount" test -z "$(sandbox_mounts)"

ns1=$(sb_ns hv1)
ns2=$(sb_ns hv2)
sb_down
trap - EXIT
check "no sandbox namespace is left" bash -c "! ip netns list | grep -qE '^($ns1|$ns2)\b'"
finish
