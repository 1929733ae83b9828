// `vlcpctl profile list|show|apply|check`: a derived Plan (profile.h) written to a machine's
// files under a root (the kernel command line where its boot loader reads it, sysctl.d, the
// hugepage mount unit, vlcpd's systemd drop-in and its configuration drop-in, OVS's
// other_config through ovs-vsctl or a first-boot unit), and compared with what the running
// system (or, --configured, the written configuration) says.
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
inline constexpr const char* kVlcpConf = "/etc/vlcp/vlcp.conf";  // the package's: never written
// vlcpd's keys of the profile (module.sched.*), read after vlcp.conf (Config::load_with_dropins).
inline constexpr const char* kVlcpConfDropIn = "/etc/vlcp/vlcp.conf.d/60-perf-profile.conf";
inline constexpr const char* kProfileNameFile = "/etc/vlcp/perf-profile";
inline constexpr const char* kOvsPendingFile = "/etc/vlcp/profile-ovs.pending";
inline constexpr const char* kOvsFirstBootUnit = "/etc/systemd/system/vlcp-profile-ovs.service";
inline constexpr const char* kOvsDbSocket =
    "/run/openvswitch/db.sock";  // not /var/run: in a root it is a link to the host's /run

// Where the machine's boot loader takes the kernel command line from, under its root.
struct BootLoader {
  enum Kind { kSystemdBoot, kGrub, kNone } kind = kNone;
  // systemd-boot: the entries that boot a kernel (a `linux` line), absolute paths on the machine
  // (under /boot/efi, /efi or /boot: loader/entries/*.conf), in name order.
  std::vector<std::string> entries;
  std::string describe() const;  // "systemd-boot (/boot/efi/loader/entries/vlcp.conf)", "grub", ...
};
BootLoader detect_boot_loader(const Machine& machine);

// A kernel command line with the profile's kernel arguments (profile.h kManagedKernelArgs)
// replaced by the plan's: every other word kept in its place, the plan's added before a `--`
// (after it the words are init's), quoted words ("a b") kept whole. No trailing newline.
std::string edit_kernel_cmdline(const std::string& cmdline, const Plan& plan);
// A systemd-boot entry (Boot Loader Specification type #1) with its `options` lines edited so:
// the managed arguments removed from each, the plan's added to the first (one is added when
// there is none). Lines that change nothing are kept byte for byte.
std::string edit_loader_entry(const std::string& entry, const Plan& plan);

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

}  // namespace profile
}  // namespace vlcp::cli
