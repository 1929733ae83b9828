// `vlcpctl profile apply` and `check` in throw-away roots: the kernel command line where the
// machine's boot loader reads it (systemd-boot's entries on the ESP and /etc/kernel/cmdline,
// grub's drop-in, or a refusal that writes nothing), idempotent and undone by `shared`, a `--`
// kept in its place; vlcpd's keys in the drop-in /etc/vlcp/vlcp.conf.d/60-perf-profile.conf
// (vlcp.conf, the package's conffile, never edited) and check reading the merged configuration.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/config.h"
#include "cli/profile.h"
#include "cli/profile_apply.h"
#include "fake_machine.h"

namespace vlcp::cli::profile {
namespace {
namespace fs = std::filesystem;
using namespace testing;

// Every file under `root` (path -> content, links as "-> target"): what a refusal must not change.
std::map<std::string, std::string> snapshot(const std::string& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_symlink())
      out[e.path().string()] = "-> " + fs::read_symlink(e.path()).string();
    else if (e.is_regular_file())
      out[e.path().string()] = read(e.path().string());
    else
      out[e.path().string()] = "(dir)";
  }
  return out;
}

// An 8-CPU, one-node, 16 GB machine offering 1G pages (the image-test's qemu guest), no OVS
// database (its settings wait for the first boot: not this test's subject).
class Root : public FakeMachine {
 public:
  Root() : FakeMachine(spec()) {
    write(root + "/etc/vlcp/vlcp.conf",
          "# vlcpd\nserver.loglevel = 'info'\nmodule.httpserver.token = 'sekrit-token-1234'\n"
          "module.sched.workers = 1\nmodule.sched.memory_mb = 64\n");
  }
  static FakeSpec spec() {
    FakeSpec s;
    s.cpus = 8;
    s.memory_gb = 16;
    s.numa_sysfs = false;
    s.grub = false;
    s.booted = false;
    s.irq_affinity = "ff";
    return s;
  }
  Plan plan(const std::string& name) const {
    std::vector<std::string> dirs = {VLCP_SOURCE_DIR "/perf/profiles"};
    auto p = load_profile(dirs, name);
    EXPECT_TRUE(p.ok()) << p.error().message();
    auto dropin = load_dropin(dirs, name);
    EXPECT_TRUE(dropin.ok()) << dropin.error().message();
    auto plan = derive(*p, machine(), *dropin);
    EXPECT_TRUE(plan.ok()) << plan.error().message();
    return *plan;
  }
  // The root boots: the kernel takes `cmdline`.
  void boot_with(const std::string& cmdline) const { write(root + "/proc/cmdline", cmdline + "\n"); }
};

// The plan's kernel arguments, as the profile's own words (in the order apply writes them).
std::string ours(const Plan& plan) {
  std::string out;
  for (const auto& name : kManagedKernelArgs)
    for (const auto& s : plan.settings)
      if (s.kind == SettingKind::kKernelArg && s.key == name && !s.expected.empty())
        out += (out.empty() ? "" : " ") + name + "=" + s.expected;
  return out;
}

bool has_line(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines)
    if (l.find(part) != std::string::npos) return true;
  return false;
}

const std::string kEntry = "/boot/efi/loader/entries/vlcp.conf";
const std::string kEntryText =
    "title   VLCP appliance\nlinux   /vmlinuz\ninitrd  /initrd.img\n"
    "options root=UUID=abc rw console=tty0 console=ttyS0,115200 vlcp.token=0123456789abcdef\n";

TEST(KernelCmdline, TheProfilesArgumentsReplacedOthersKeptInitsAfterTheDashes) {
  Root r;
  Plan nfv = r.plan("nfv-dedicated"), shared = r.plan("shared");
  ASSERT_NE(ours(nfv), "");
  EXPECT_NE(ours(nfv).find("isolcpus=managed_irq,domain,4-7"), std::string::npos) << ours(nfv);
  std::string line = "root=UUID=x ro isolcpus=1 dyndbg=\"file a.c +p\" hugepages=9 -- single foo=bar";
  EXPECT_EQ(edit_kernel_cmdline(line, nfv),
            "root=UUID=x ro dyndbg=\"file a.c +p\" " + ours(nfv) + " -- single foo=bar");
  // After `--` the words are init's: a managed name there is not the kernel's, left alone.
  EXPECT_EQ(edit_kernel_cmdline("ro -- nohz_full=3", shared), "ro -- nohz_full=3");
  EXPECT_EQ(edit_kernel_cmdline(edit_kernel_cmdline(line, nfv), nfv), edit_kernel_cmdline(line, nfv));
  EXPECT_EQ(edit_kernel_cmdline(edit_kernel_cmdline(line, nfv), shared),
            "root=UUID=x ro dyndbg=\"file a.c +p\" -- single foo=bar");
  EXPECT_EQ(edit_kernel_cmdline("-- x", nfv), ours(nfv) + " -- x");
}

TEST(LoaderEntry, OptionsEditedTheOtherLinesKeptByteForByte) {
  Root r;
  Plan nfv = r.plan("nfv-dedicated"), shared = r.plan("shared");
  std::string entry =
      "# mine\ntitle  T\nlinux /vmlinuz\noptions   root=/dev/vda2  rw\noptions isolcpus=3 quiet\n";
  EXPECT_EQ(edit_loader_entry(entry, nfv),
            "# mine\ntitle  T\nlinux /vmlinuz\noptions root=/dev/vda2 rw " + ours(nfv) + "\noptions quiet\n");
  EXPECT_EQ(edit_loader_entry(entry, shared),
            "# mine\ntitle  T\nlinux /vmlinuz\noptions   root=/dev/vda2  rw\noptions quiet\n");
  EXPECT_EQ(edit_loader_entry("linux /vmlinuz\n", nfv), "linux /vmlinuz\noptions " + ours(nfv) + "\n");
  EXPECT_EQ(edit_loader_entry("linux /vmlinuz\n", shared), "linux /vmlinuz\n");
}

TEST(SystemdBoot, TheEntryOnTheEspAndKernelCmdlineRewrittenIdempotentUndoneByShared) {
  Root r;
  write(r.root + kEntry, kEntryText);
  // Not a kernel's entry (an EFI program): never edited.
  write(r.root + "/boot/efi/loader/entries/shell.conf", "title Shell\nefi /shellx64.efi\n");
  write(r.root + "/etc/kernel/cmdline", "root=UUID=abc rw console=tty0 console=ttyS0,115200\n");
  Machine m = r.machine();
  BootLoader boot = detect_boot_loader(m);
  EXPECT_EQ(boot.kind, BootLoader::kSystemdBoot);
  EXPECT_EQ(boot.entries, std::vector<std::string>{kEntry});
  Plan nfv = r.plan("nfv-dedicated");

  auto dry = apply(nfv, m, true);
  ASSERT_TRUE(dry.ok()) << dry.error().message();
  EXPECT_EQ(read(r.root + kEntry), kEntryText);  // a dry run writes nothing
  EXPECT_FALSE(has_line(*dry, "0123456789abcdef")) << "the dry run shows the entry's secret word";
  EXPECT_TRUE(has_line(*dry, "the profile's kernel arguments: " + ours(nfv)));

  auto report = apply(nfv, m, false);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_EQ(read(r.root + kEntry),
            "title   VLCP appliance\nlinux   /vmlinuz\ninitrd  /initrd.img\n"
            "options root=UUID=abc rw console=tty0 console=ttyS0,115200 vlcp.token=0123456789abcdef " +
                ours(nfv) + "\n");
  EXPECT_EQ(read(r.root + "/etc/kernel/cmdline"),
            "root=UUID=abc rw console=tty0 console=ttyS0,115200 " + ours(nfv) + "\n");
  EXPECT_EQ(read(r.root + "/boot/efi/loader/entries/shell.conf"), "title Shell\nefi /shellx64.efi\n");
  EXPECT_FALSE(fs::exists(r.root + kGrubFile));
  EXPECT_TRUE(has_line(*report, "reboot (the kernel command line changed: systemd-boot (" + kEntry + ")"));
  for (const auto& e : fs::directory_iterator(r.root + "/boot/efi/loader/entries"))  // renamed in whole
    EXPECT_EQ(e.path().extension(), ".conf") << e.path();

  // Again: nothing changes.
  std::string entry_once = read(r.root + kEntry), cmdline_once = read(r.root + "/etc/kernel/cmdline");
  auto again = apply(nfv, m, false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(has_line(*again, "unchanged " + r.root + kEntry));
  EXPECT_EQ(read(r.root + kEntry), entry_once);
  EXPECT_EQ(read(r.root + "/etc/kernel/cmdline"), cmdline_once);

  std::vector<std::string> notes;
  for (const auto& d : check(nfv, m, true, &notes))  // the next boot's: the entry's arguments
    EXPECT_NE(d.what.rfind("kernel command line", 0), 0u) << d.what << ": " << d.actual;
  // Running on the old command line: the arguments differ, and a reboot is pending.
  r.boot_with("BOOT_IMAGE=/vmlinuz root=UUID=abc rw");
  notes.clear();
  bool isolcpus_differs = false;
  for (const auto& d : check(nfv, m, false, &notes))
    isolcpus_differs = isolcpus_differs || d.what == "kernel command line isolcpus";
  EXPECT_TRUE(isolcpus_differs);
  EXPECT_TRUE(has_line(notes,
                       "pending reboot: kernel command line isolcpus is managed_irq,domain,4-7 in "
                       "systemd-boot entry " +
                           kEntry + ", the running kernel has (absent)"));
  // Booted with the entry: no kernel argument differs, nothing pending.
  r.boot_with("BOOT_IMAGE=/vmlinuz root=UUID=abc rw " + ours(nfv));
  notes.clear();
  for (const auto& d : check(nfv, m, false, &notes))
    EXPECT_NE(d.what.rfind("kernel command line", 0), 0u) << d.what << ": " << d.actual;
  EXPECT_FALSE(has_line(notes, "pending reboot"));
  // Someone edits the entry behind the profile's back: the next boot would lose it.
  write(r.root + kEntry, kEntryText);
  bool next_differs = false;
  for (const auto& d : check(nfv, m, false, &notes))
    next_differs =
        next_differs ||
        d.what == "kernel command line isolcpus at the next boot (systemd-boot entry " + kEntry + ")";
  EXPECT_TRUE(next_differs);
  write(r.root + kEntry, entry_once);

  // shared: the profile's arguments leave both; everything else as it was.
  ASSERT_TRUE(apply(r.plan("shared"), m, false).ok());
  EXPECT_EQ(read(r.root + kEntry), kEntryText);
  EXPECT_EQ(read(r.root + "/etc/kernel/cmdline"), "root=UUID=abc rw console=tty0 console=ttyS0,115200\n");
}

TEST(SystemdBoot, ADashDashInKernelCmdlineStaysAfterTheProfilesArguments) {
  Root r;
  write(r.root + kEntry, "linux /vmlinuz\noptions root=/dev/vda2 -- emergency\n");
  write(r.root + "/etc/kernel/cmdline", "root=/dev/vda2 -- emergency\n");
  Machine m = r.machine();
  Plan nfv = r.plan("nfv-dedicated");
  ASSERT_TRUE(apply(nfv, m, false).ok());
  EXPECT_EQ(read(r.root + "/etc/kernel/cmdline"), "root=/dev/vda2 " + ours(nfv) + " -- emergency\n");
  EXPECT_EQ(read(r.root + kEntry), "linux /vmlinuz\noptions root=/dev/vda2 " + ours(nfv) + " -- emergency\n");
  ASSERT_TRUE(apply(r.plan("shared"), m, false).ok());
  EXPECT_EQ(read(r.root + "/etc/kernel/cmdline"), "root=/dev/vda2 -- emergency\n");
}

// grub and systemd-boot entries on one machine: the boot loader that booted it (systemd-boot
// leaves its LoaderInfo EFI variable) is the one whose configuration is written.
TEST(BothBootLoaders, TheOneThatBootedTheMachineIsUsed) {
  Root r;
  write(r.root + kEntry, kEntryText);
  write(r.root + "/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
  BootLoader grub = detect_boot_loader(r.machine());
  EXPECT_EQ(grub.kind, BootLoader::kGrub) << grub.describe();
  EXPECT_TRUE(grub.entries.empty());
  write(r.root + "/sys/firmware/efi/efivars/LoaderInfo-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f", "x");
  BootLoader sdboot = detect_boot_loader(r.machine());
  EXPECT_EQ(sdboot.kind, BootLoader::kSystemdBoot) << sdboot.describe();
  EXPECT_EQ(sdboot.entries, std::vector<std::string>{kEntry});
}

// grub's drop-in appends: an operator's own isolcpus= in /etc/default/grub would stand before
// the profile's (and check would read the profile's), so apply refuses, writing nothing.
TEST(Grub, AnArgumentTheOperatorSetsInGrubIsRefusedNothingWritten) {
  Root r;
  write(r.root + "/etc/default/grub",
        "GRUB_CMDLINE_LINUX=\"isolcpus=1-3\"\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
  Machine m = r.machine();
  ASSERT_EQ(detect_boot_loader(m).kind, BootLoader::kGrub);
  auto before = snapshot(r.root);
  auto report = apply(r.plan("nfv-dedicated"), m, false);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message().find("grub's configuration already sets isolcpus=1-3"),
            std::string::npos)
      << report.error().message();
  EXPECT_EQ(snapshot(r.root), before);
  // Our own earlier drop-in is not "the operator's": applying again over it is fine.
  write(r.root + "/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
  ASSERT_TRUE(apply(r.plan("nfv-dedicated"), r.machine(), false).ok());
  auto again = apply(r.plan("nfv-dedicated"), r.machine(), false);
  EXPECT_TRUE(again.ok()) << again.error().message();
}

TEST(Grub, TheGrubDropInWrittenAndRemovedByShared) {
  Root r;
  write(r.root + "/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
  Machine m = r.machine();
  EXPECT_EQ(detect_boot_loader(m).kind, BootLoader::kGrub);
  Plan nfv = r.plan("nfv-dedicated");
  auto report = apply(nfv, m, false);
  ASSERT_TRUE(report.ok()) << report.error().message();
  EXPECT_NE(read(r.root + kGrubFile)
                .find("GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT " + ours(nfv) + "\""),
            std::string::npos);
  EXPECT_TRUE(has_line(*report, "update-grub; reboot"));
  std::vector<std::string> notes;
  for (const auto& d : check(nfv, m, true, &notes))
    EXPECT_NE(d.what.rfind("kernel command line", 0), 0u) << d.what << ": " << d.actual;
  // Running without them: a reboot is pending (what update-grub gives: /etc/default/grub, then
  // grub.d/*.cfg, "$GRUB_CMDLINE_LINUX_DEFAULT" expanded); booted with them: nothing pending.
  r.boot_with("BOOT_IMAGE=/vmlinuz quiet");
  notes.clear();
  check(nfv, m, false, &notes);
  EXPECT_TRUE(has_line(notes, "pending reboot: kernel command line nohz_full is 4-7 in grub ("));
  r.boot_with("BOOT_IMAGE=/vmlinuz quiet " + ours(nfv));
  notes.clear();
  for (const auto& d : check(nfv, m, false, &notes))
    EXPECT_NE(d.what.rfind("kernel command line", 0), 0u) << d.what << ": " << d.actual;
  EXPECT_FALSE(has_line(notes, "pending reboot")) << notes.front();
  ASSERT_TRUE(apply(r.plan("shared"), m, false).ok());
  EXPECT_FALSE(fs::exists(r.root + kGrubFile));
  EXPECT_EQ(read(r.root + "/etc/default/grub"), "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n");
}

TEST(NoBootLoader, AProfileWithKernelArgumentsIsRefusedAndNothingWritten) {
  Root r;
  // /etc/kernel/cmdline alone says nothing of who reads it (a unified kernel image's build?).
  write(r.root + "/etc/kernel/cmdline", "root=/dev/vda2\n");
  write(r.root + "/boot/efi/EFI/BOOT/BOOTX64.EFI", "MZ");  // an ESP, no entries (not mounted?)
  Machine m = r.machine();
  EXPECT_EQ(detect_boot_loader(m).kind, BootLoader::kNone);
  auto before = snapshot(r.root);
  for (bool dry : {true, false}) {
    auto report = apply(r.plan("nfv-dedicated"), m, dry);
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.error().message().find("needs kernel arguments (isolcpus="), std::string::npos)
        << report.error().message();
    EXPECT_NE(report.error().message().find("is the ESP mounted?"), std::string::npos);
    EXPECT_NE(report.error().message().find("nothing written"), std::string::npos);
    EXPECT_EQ(snapshot(r.root), before);  // not a file more, less or changed
  }
  // A profile without kernel arguments applies.
  EXPECT_TRUE(apply(r.plan("shared"), m, false).ok());
  EXPECT_EQ(read(r.root + "/etc/kernel/cmdline"), "root=/dev/vda2\n");
}

TEST(VlcpdDropIn, TheProfilesKeysBesideVlcpConfWhichStaysByteIdentical) {
  Root r;
  write(r.root + "/etc/default/grub", "");
  std::string shipped = read(r.root + "/etc/vlcp/vlcp.conf");
  Machine m = r.machine();
  Plan nfv = r.plan("nfv-dedicated");
  auto dry = apply(nfv, m, true);
  ASSERT_TRUE(dry.ok());
  EXPECT_TRUE(has_line(*dry, "would write " + r.root + kVlcpConfDropIn));
  EXPECT_FALSE(has_line(*dry, "sekrit"));
  ASSERT_TRUE(apply(nfv, m, false).ok());
  EXPECT_EQ(read(r.root + "/etc/vlcp/vlcp.conf"), shipped);
  std::string dropin = read(r.root + kVlcpConfDropIn);
  EXPECT_NE(dropin.find("\nmodule.sched.cores = '4-5'\n"), std::string::npos) << dropin;
  EXPECT_NE(dropin.find("\nmodule.sched.workers = 2\n"), std::string::npos) << dropin;
  EXPECT_NE(dropin.find("\nmodule.sched.hugepages = True\n"), std::string::npos) << dropin;
  EXPECT_EQ(dropin.find("sekrit"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((r.root + kVlcpConfDropIn).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);  // the root has no group vlcp
  for (const auto& e : fs::directory_iterator(r.root + "/etc/vlcp/vlcp.conf.d"))  // no temporary left
    EXPECT_EQ(e.path().filename(), "60-perf-profile.conf");
  // vlcpd's view: vlcp.conf, then the drop-in.
  auto conf = Config::load_with_dropins(r.root + "/etc/vlcp/vlcp.conf");
  ASSERT_TRUE(conf.ok()) << conf.error().message();
  EXPECT_EQ(*conf->get<int64_t>("module.sched.workers"), 2);
  EXPECT_EQ(*conf->get<std::string>("module.sched.cores"), "4-5");
  EXPECT_EQ(*conf->get<std::string>("module.httpserver.token"), "sekrit-token-1234");
  std::vector<std::string> notes;
  for (const auto& d : check(nfv, m, true, &notes))
    EXPECT_NE(d.what.rfind("vlcpd ", 0), 0u) << d.what << ": " << d.expected << " / " << d.actual;

  // With a group vlcp in the root: root:vlcp 0640 (vlcpd reads it in its group).
  write(r.root + "/etc/group", "root:x:0:\nvlcp:x:4242:\n");
  ::unlink((r.root + kVlcpConfDropIn).c_str());
  ASSERT_TRUE(apply(nfv, m, false).ok());
  ASSERT_EQ(::stat((r.root + kVlcpConfDropIn).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  if (::geteuid() == 0) {
    EXPECT_EQ(st.st_gid, 4242u);
  }

  // shared gives vlcp.conf's own values: its drop-in goes; vlcp.conf is still as shipped.
  Plan shared = r.plan("shared");
  EXPECT_FALSE(check(shared, m, true, &notes).empty());
  ASSERT_TRUE(apply(shared, m, false).ok());
  EXPECT_FALSE(fs::exists(r.root + kVlcpConfDropIn));
  EXPECT_EQ(read(r.root + "/etc/vlcp/vlcp.conf"), shipped);
  EXPECT_TRUE(check(shared, m, true, &notes).empty());
}

TEST(VlcpdDropIn, OnlyWhatDiffersFromVlcpConfAndTheOtherDropInsAndCheckReadsThemAll) {
  Root r;
  write(r.root + "/etc/default/grub", "");
  // An earlier drop-in gives one of the profile's values already; a later one overrides another.
  write(r.root + "/etc/vlcp/vlcp.conf.d/50-firstboot.conf", "module.sched.memory_mb = 256\n");
  Machine m = r.machine();
  Plan nfv = r.plan("nfv-dedicated");
  ASSERT_TRUE(apply(nfv, m, false).ok());
  std::string dropin = read(r.root + kVlcpConfDropIn);
  EXPECT_EQ(dropin.find("module.sched.memory_mb"), std::string::npos) << dropin;
  std::vector<std::string> notes;
  for (const auto& d : check(nfv, m, true, &notes)) ADD_FAILURE() << d.what << ": " << d.actual;
  write(r.root + "/etc/vlcp/vlcp.conf.d/70-operator.conf", "module.sched.cores = '1'\n");
  bool cores_differ = false;
  for (const auto& d : check(nfv, m, true, &notes))
    cores_differ = cores_differ || (d.what.rfind("vlcpd module.sched.cores", 0) == 0 && d.actual == "\"1\"");
  EXPECT_TRUE(cores_differ);
}

}  // namespace
}  // namespace vlcp::cli::profile
