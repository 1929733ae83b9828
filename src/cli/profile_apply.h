// `vlcpctl profile list|show|apply|check`: a derived Plan (profile.h) written to a machine's
// files under a root (the kernel command line, sysctl.d, the hugepage mount unit, vlcpd's
// drop-in and keys, OVS's other_config through ovs-vsctl or a first-boot unit), and compared
// with what the running system (or, --configured, the written configuration) says.
#pragma once

#include <string>
#include <vector>

#include "cli/profile.h"

namespace vlcp::cli {

// args: what follows "profile".
int profile_verb(const std::vector<std::string>& args);

namespace profile {

// The files apply writes, relative to the root.
inline constexpr const char* kGrubFile = "/etc/default/grub.d/vlcp.cfg";
inline constexpr const char* kKernelCmdlineFile = "/etc/kernel/cmdline";
inline constexpr const char* kSysctlFile = "/etc/sysctl.d/90-vlcp-profile.conf";
inline constexpr const char* kMountUnit = "/etc/systemd/system/var-lib-vlcp-hugepages.mount";
inline constexpr const char* kVlcpConf = "/etc/vlcp/vlcp.conf";
inline constexpr const char* kProfileNameFile = "/etc/vlcp/perf-profile";
inline constexpr const char* kOvsPendingFile = "/etc/vlcp/profile-ovs.pending";
inline constexpr const char* kOvsFirstBootUnit = "/etc/systemd/system/vlcp-profile-ovs.service";
inline constexpr const char* kOvsDbSocket =
    "/run/openvswitch/db.sock";  // not /var/run: in a root it is a link to the host's /run

// Writes the plan under machine.root (or, dry_run, only says what it would write); the lines
// say what was done and what to do next.
Result<std::vector<std::string>> apply(const Plan& plan, const Machine& machine, bool dry_run);

struct Difference {
  std::string what, expected, actual;
};
// The settings of the plan that differ on the machine: the running system (its /proc, /sys,
// mounts, OVS database and files), or with `configured` what apply wrote (the next boot's).
// `notes` gets the settings that could not be checked and why.
std::vector<Difference> check(const Plan& plan, const Machine& machine, bool configured,
                              std::vector<std::string>* notes);

// The kernel side of the plan as a tuned profile (tuned.conf: [sysctl], [bootloader] cmdline,
// [scheduler] and [irqbalance] keeping threads and IRQs off the isolated cores), for tuned-adm;
// OVS's settings, vlcpd's keys and the hugepage mount stay with `profile apply`.
std::string tuned_conf(const Plan& plan, const std::string& description, const Machine& machine);

// A vlcp.conf text with the plan's vlcpd keys set (replaced in place, or appended) or removed.
std::string edit_vlcp_conf(const std::string& text, const Plan& plan);

}  // namespace profile
}  // namespace vlcp::cli
