#include "cli/profile_apply.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/config.h"

extern char** environ;

namespace vlcp::cli {
namespace profile {
namespace fs = std::filesystem;

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::string read_or_empty(const std::string& path) {
  std::string text;
  return read_text(path, &text) ? text : "";
}

std::vector<std::string> split(const std::string& s, char by) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, by)) out.push_back(part);
  return out;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string w;
  while (ss >> w) out.push_back(w);
  return out;
}

// Runs argv (no shell), its stdout and stderr into `output`; the exit status, or -1.
int run(const std::vector<std::string>& argv, std::string* output) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    *output = argv[0] + ": cannot run it";
    return -1;
  }
  char buf[4096];
  ssize_t n;
  output->clear();
  while ((n = read(fds[0], buf, sizeof buf)) > 0) output->append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ovs_vsctl() {
  const char* env = std::getenv("VLCP_OVS_VSCTL");
  return env && *env ? env : "ovs-vsctl";
}

// OVS's Open_vSwitch other_config, through ovs-vsctl on the root's database socket.
struct OvsState {
  bool reachable = false;
  std::string db, why;
  std::map<std::string, std::string> other_config;
};
OvsState read_ovs(const Machine& m) {
  OvsState s;
  std::string sock = m.path(kOvsDbSocket);
  s.db = "unix:" + sock;
  if (!fs::exists(sock)) {
    s.why = "no OVS database at " + sock;
    return s;
  }
  std::string out;
  int rc = run({ovs_vsctl(), "--db=" + s.db, "--timeout=5", "-f", "json", "--columns=other_config", "list",
                "Open_vSwitch"},
               &out);
  if (rc != 0) {
    s.why = "ovs-vsctl on " + s.db + " failed: " + trim(out);
    return s;
  }
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.contains("data")) {
    s.why = "ovs-vsctl on " + s.db + " answered what is not JSON";
    return s;
  }
  s.reachable = true;
  for (const auto& row : j["data"])
    if (row.size() == 1 && row[0].is_array() && row[0].size() == 2 && row[0][0] == "map")
      for (const auto& kv : row[0][1])
        if (kv.size() == 2 && kv[0].is_string() && kv[1].is_string()) s.other_config[kv[0]] = kv[1];
  return s;
}

// A kernel command line's words: split at blanks outside double quotes (`a="b c"` is one word,
// as the kernel reads it).
std::vector<std::string> cmdline_words(const std::string& s) {
  std::vector<std::string> out;
  std::string w;
  bool quoted = false, in_word = false;
  for (char c : s) {
    if (c == '"') quoted = !quoted;
    if (!quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
      if (in_word) out.push_back(w);
      w.clear();
      in_word = false;
      continue;
    }
    w += c;
    in_word = true;
  }
  if (in_word) out.push_back(w);
  return out;
}

bool is_managed_arg(const std::string& word) {
  std::string name = word.substr(0, word.find('='));
  return std::find(kManagedKernelArgs.begin(), kManagedKernelArgs.end(), name) != kManagedKernelArgs.end();
}

// The kernel arguments in a command line (up to "--", after which they are init's): name → value.
std::map<std::string, std::string> kernel_args(const std::string& cmdline) {
  std::map<std::string, std::string> out;
  for (const auto& w : cmdline_words(cmdline)) {
    if (w == "--") break;
    auto eq = w.find('=');
    out[w.substr(0, eq)] = eq == std::string::npos ? "" : w.substr(eq + 1);
  }
  return out;
}

std::map<std::string, std::string> plan_kernel_args(const Plan& plan) {
  std::map<std::string, std::string> out;
  for (const auto& s : plan.settings)
    if (s.kind == SettingKind::kKernelArg && !s.expected.empty()) out[s.key] = s.expected;
  return out;
}

std::string join_args(const std::map<std::string, std::string>& args) {
  std::string out;
  // In the managed order (isolcpus first), as people read them.
  for (const auto& name : kManagedKernelArgs)
    if (auto a = args.find(name); a != args.end()) out += (out.empty() ? "" : " ") + name + "=" + a->second;
  return out;
}

// The `options` of a systemd-boot entry: its options lines, joined as the loader joins them.
std::string entry_options(const std::string& entry) {
  std::string out;
  for (const auto& line : split(entry, '\n')) {
    auto f = words(line);
    if (f.empty() || f[0] != "options") continue;
    std::string value = trim(line.substr(line.find("options") + 7));
    out += (out.empty() ? "" : " ") + value;
  }
  return out;
}

// The kernel command line the written configuration gives the next boot, as far as the boot
// loader is known: the managed arguments, and where they come from.
struct NextBoot {
  bool known = false;
  std::string source;
  std::map<std::string, std::string> args;  // managed arguments only
  std::vector<std::string> notes;
};
std::map<std::string, std::string> managed_only(const std::map<std::string, std::string>& args) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : args)
    if (is_managed_arg(k)) out[k] = v;
  return out;
}
// What update-grub gives the kernel, `skip` (a grub.d file, or "") left out: GRUB_CMDLINE_LINUX
// and _DEFAULT as /etc/default/grub and then grub.d/*.cfg set them (in that order, as
// grub-mkconfig sources them; "$NAME" and "${NAME}" of the two expanded).
std::string grub_cmdline(const Machine& m, const std::string& skip) {
  std::vector<std::string> files = {m.path("/etc/default/grub")}, cfgs;
  std::error_code ec;
  for (fs::directory_iterator it(m.path("/etc/default/grub.d"), ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".cfg" && it->path().string() != m.path(skip))
      cfgs.push_back(it->path().string());
  std::sort(cfgs.begin(), cfgs.end());
  files.insert(files.end(), cfgs.begin(), cfgs.end());
  std::map<std::string, std::string> vars;
  const std::string names[] = {"GRUB_CMDLINE_LINUX_DEFAULT", "GRUB_CMDLINE_LINUX"};  // (longer first)
  for (const auto& file : files)
    for (auto line : split(read_or_empty(file), '\n')) {
      line = trim(line);
      for (const auto& name : names) {
        if (line.rfind(name + "=", 0) != 0) continue;
        std::string value = line.substr(name.size() + 1);
        if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'') && value.back() == value[0])
          value = value.substr(1, value.size() - 2);
        for (const auto& var : names)
          for (const auto& ref : {"${" + var + "}", "$" + var})
            for (size_t at = 0; (at = value.find(ref, at)) != std::string::npos; at += vars[var].size())
              value.replace(at, ref.size(), vars[var]);
        vars[name] = value;
        break;
      }
    }
  return vars["GRUB_CMDLINE_LINUX"] + " " + vars["GRUB_CMDLINE_LINUX_DEFAULT"];
}
NextBoot next_boot(const Machine& m) {
  NextBoot nb;
  BootLoader boot = detect_boot_loader(m);
  if (boot.kind == BootLoader::kSystemdBoot) {
    nb.known = true;
    nb.source = "systemd-boot entry " + boot.entries[0];
    nb.args = managed_only(kernel_args(entry_options(read_or_empty(m.path(boot.entries[0])))));
    for (size_t i = 1; i < boot.entries.size(); ++i)
      if (managed_only(kernel_args(entry_options(read_or_empty(m.path(boot.entries[i]))))) != nb.args)
        nb.notes.push_back("the systemd-boot entries disagree on the profile's kernel arguments: " +
                           boot.entries[0] + " and " + boot.entries[i] + " (the checks use the first)");
  } else if (boot.kind == BootLoader::kGrub) {
    nb.known = true;
    nb.source = "grub (/etc/default/grub, /etc/default/grub.d/*.cfg)";
    nb.args = managed_only(kernel_args(grub_cmdline(m, "")));
  } else {
    nb.notes.push_back(
        "no boot loader found (systemd-boot entries or grub): the next boot's kernel "
        "command line is not known");
  }
  return nb;
}

std::string shown_value(const std::string& v) {
  return v.empty() ? "(absent)" : v;
}

std::map<std::string, std::string> sysctl_file_values(const std::string& text) {
  std::map<std::string, std::string> out;
  for (auto line : split(text, '\n')) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return out;
}

std::string normal_spaces(const std::string& s) {
  std::string out;
  for (const auto& w : words(s)) out += (out.empty() ? "" : " ") + w;
  return out;
}

int64_t pagesize_kb(const std::string& options) {  // "rw,relatime,pagesize=1024M" or "pagesize=1G,mode=0770"
  for (const auto& o : split(options, ',')) {
    if (o.rfind("pagesize=", 0) != 0) continue;
    std::string v = o.substr(9);
    int64_t n = std::atoll(v.c_str());
    char unit = v.empty() ? 'K' : static_cast<char>(std::toupper(static_cast<unsigned char>(v.back())));
    return unit == 'G' ? n * 1048576 : unit == 'M' ? n * 1024 : n;
  }
  return 0;
}

std::string ovs_normal(const std::string& key, const std::string& value) {
  if (key != "pmd-cpu-mask" || value.empty()) return value;
  auto cpus = parse_cpu_mask(value);
  return cpus.ok() ? format_cpu_mask(*cpus) : value;
}

// OVS's settings of the plan: key → value ("" removes it).
std::vector<std::pair<std::string, std::string>> ovs_settings(const Plan& plan) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : plan.settings)
    if (s.kind == SettingKind::kOvs) out.emplace_back(s.key, s.expected);
  return out;
}

// The ovs-vsctl arguments that set them (after the program and its connection options).
std::vector<std::string> ovs_arguments(const Plan& plan) {
  std::vector<std::string> set, remove;
  for (const auto& [k, v] : ovs_settings(plan))
    (v.empty() ? remove : set).push_back(v.empty() ? k : "other_config:" + k + "=" + v);
  std::vector<std::string> out = {"--no-wait", "init"};
  if (!set.empty()) {
    out.insert(out.end(), {"--", "set", "Open_vSwitch", "."});
    out.insert(out.end(), set.begin(), set.end());
  }
  if (!remove.empty()) {
    out.insert(out.end(), {"--", "remove", "Open_vSwitch", ".", "other_config"});
    out.insert(out.end(), remove.begin(), remove.end());
  }
  return out;
}

std::map<std::string, std::string> pending_ovs(const Machine& m, bool* exists) {
  std::string text;
  *exists = read_text(m.path(kOvsPendingFile), &text);
  std::map<std::string, std::string> out;
  for (const auto& line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

// A file apply writes (content) or removes (nullopt-like: remove = true).
struct FileChange {
  std::string path;  // absolute, on the target machine
  std::string content = {};
  bool remove = false;
  std::string symlink_to = {};  // a symlink instead of a file
  bool esp = false;             // on the ESP (vfat): no mode or owner to keep or set
  bool private_conf = false;    // root:vlcp 0640 (root:root 0600 when the root has no group vlcp)
  bool kernel_cmdline = false;  // a dry run shows only the profile's arguments (the rest may
                                // hold a seed's secrets: the ESP is root's only)
};

std::string header(const Plan& plan, const std::string& what) {
  return "# Written by `vlcpctl profile apply " + plan.profile + "`: " + what + "\n";
}

const Setting* find(const Plan& plan, SettingKind kind, const std::string& key = "") {
  for (const auto& s : plan.settings)
    if (s.kind == kind && (key.empty() || s.key == key)) return &s;
  return nullptr;
}

std::string size_name(int64_t kb) {
  return kb >= 1048576 ? std::to_string(kb / 1048576) + "G" : std::to_string(kb / 1024) + "M";
}

// The values vlcpd gets for the profile's keys without the profile's drop-in: vlcp.conf, then
// the other drop-ins in name order (a later file's value replaces an earlier one's).
std::map<std::string, nlohmann::json> vlcpd_base_values(const Machine& m) {
  std::vector<std::string> files = {m.path(kVlcpConf)};
  std::vector<std::string> dropins;
  std::error_code ec;
  std::string dir = m.path(kVlcpConf) + std::string(".d");
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || it->path().extension() != ".conf" ||
        it->path().string() == m.path(kVlcpConfDropIn))
      continue;
    dropins.push_back(it->path().string());
  }
  std::sort(dropins.begin(), dropins.end());
  files.insert(files.end(), dropins.begin(), dropins.end());
  std::map<std::string, nlohmann::json> out;
  for (const auto& f : files) {
    auto conf = Config::load_file(f);
    if (!conf.ok()) continue;
    for (const auto& key : kManagedVlcpdKeys)
      if (const auto* v = conf->find(key)) out[key] = *v;
  }
  return out;
}

// The root's group vlcp (its /etc/group: under --root, the image's, not this machine's), or -1.
int vlcp_gid(const Machine& m) {
  for (const auto& line : split(read_or_empty(m.path("/etc/group")), '\n')) {
    auto f = split(line, ':');
    if (f.size() >= 3 && f[0] == "vlcp" && !f[2].empty() &&
        f[2].find_first_not_of("0123456789") == std::string::npos)
      return std::atoi(f[2].c_str());
  }
  return -1;
}

Result<std::vector<FileChange>> file_changes(const Plan& plan, const Machine& m, bool ovs_live) {
  std::vector<FileChange> out;
  // The kernel command line, where the machine's boot loader reads it.
  auto args = plan_kernel_args(plan);
  BootLoader boot = detect_boot_loader(m);
  std::string cmdline;
  bool has_cmdline_file = read_text(m.path(kKernelCmdlineFile), &cmdline);
  if (boot.kind == BootLoader::kSystemdBoot) {
    // The entries on the ESP, and /etc/kernel/cmdline (what a kernel upgrade writes the entry
    // from: the appliance's postinst hook, kernel-install) kept in step.
    for (const auto& e : boot.entries)
      out.push_back({.path = e,
                     .content = edit_loader_entry(read_or_empty(m.path(e)), plan),
                     .esp = true,
                     .kernel_cmdline = true});
    if (has_cmdline_file)
      out.push_back({.path = kKernelCmdlineFile,
                     .content = edit_kernel_cmdline(cmdline, plan) + "\n",
                     .kernel_cmdline = true});
    out.push_back({kGrubFile, "", true});
  } else if (boot.kind == BootLoader::kGrub) {
    // grub's drop-in appends to the operator's arguments: one of the profile's already set
    // elsewhere would stand beside (and before) the profile's, so the profile must own them.
    std::string theirs;
    for (const auto& [name, value] : managed_only(kernel_args(grub_cmdline(m, kGrubFile))))
      if (!args.empty()) theirs += (theirs.empty() ? "" : " ") + name + (value.empty() ? "" : "=" + value);
    if (!theirs.empty())
      return make_error(
          Errc::kUnsupported,
          "grub's configuration already sets " + theirs +
              " (in /etc/default/grub or another /etc/default/grub.d file): the perf profile "
              "owns these kernel arguments; remove them there and apply again; nothing written");
    if (args.empty())
      out.push_back({kGrubFile, "", true});
    else
      out.push_back(
          {kGrubFile, header(plan, "the perf profile's kernel arguments. Then: update-grub; reboot.") +
                          "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT " + join_args(args) +
                          "\"\n"});
  } else if (!args.empty()) {
    // A profile that needs kernel arguments is applied whole or not at all.
    return make_error(Errc::kUnsupported,
                      "profile " + plan.profile + " needs kernel arguments (" + join_args(args) +
                          ") and no boot loader was found under " + m.root +
                          ": systemd-boot needs its entries (loader/entries/*.conf with a `linux` line) "
                          "under /boot/efi, /efi or /boot (is the ESP mounted?), grub needs "
                          "/etc/default/grub or update-grub; nothing written");
  } else {
    if (has_cmdline_file)
      out.push_back({.path = kKernelCmdlineFile,
                     .content = edit_kernel_cmdline(cmdline, plan) + "\n",
                     .kernel_cmdline = true});
    out.push_back({kGrubFile, "", true});
  }

  std::string sysctl;
  for (const auto& s : plan.settings)
    if (s.kind == SettingKind::kSysctl) sysctl += s.key + " = " + s.expected + "\n";
  if (sysctl.empty())
    out.push_back({kSysctlFile, "", true});
  else
    out.push_back(
        {kSysctlFile, header(plan, "the perf profile's kernel settings (sysctl --system).") + sysctl});

  std::string wants = "/etc/systemd/system/local-fs.target.wants/var-lib-vlcp-hugepages.mount";
  if (plan.page_kb) {
    std::string size = size_name(plan.page_kb);
    out.push_back({kMountUnit, header(plan, "the hugepages vlcpd uses (module.sched.huge_dir).") +
                                   "[Unit]\nDescription=Hugepages for vlcpd (perf profile " + plan.profile +
                                   ")\nConditionPathExists=/sys/kernel/mm/hugepages/hugepages-" +
                                   std::to_string(plan.page_kb) + "kB\n\n[Mount]\nWhat=hugetlbfs\nWhere=" +
                                   kHugeMountPath + "\nType=hugetlbfs\nOptions=pagesize=" + size +
                                   ",mode=0770\n\n[Install]\nWantedBy=local-fs.target\n"});
    out.push_back({wants, "", false, kMountUnit});
  } else {
    out.push_back({kMountUnit, "", true});
    out.push_back({wants, "", true});
  }

  out.push_back({kDropInPath, find(plan, SettingKind::kDropIn)->expected});
  // vlcpd's keys in their own drop-in (vlcp.conf is the package's conffile: never edited): the
  // keys whose value differs from what vlcpd gets without it, so `shared` leaves none.
  auto base = vlcpd_base_values(m);
  std::string keys;
  for (const auto& s : plan.settings) {
    if (s.kind != SettingKind::kVlcpd || s.expected.empty()) continue;
    auto want = Config::parse_literal(s.expected);
    if (auto b = base.find(s.key); b != base.end() && want.ok() && b->second == *want) continue;
    keys += s.key + " = " + s.expected + "\n";
  }
  if (keys.empty())
    out.push_back({kVlcpConfDropIn, "", true});
  else
    out.push_back({.path = kVlcpConfDropIn,
                   .content = header(plan, "vlcpd's keys of the perf profile, read after vlcp.conf.") + keys,
                   .private_conf = true});
  out.push_back({kProfileNameFile, plan.profile + "\n"});

  std::string ovs_wants = "/etc/systemd/system/multi-user.target.wants/vlcp-profile-ovs.service";
  if (ovs_live) {
    out.push_back({kOvsPendingFile, "", true});
    out.push_back({kOvsFirstBootUnit, "", true});
    out.push_back({ovs_wants, "", true});
  } else {
    std::string pending =
        header(plan, "OVS other_config for the first boot (vlcp-profile-ovs.service sets it).");
    for (const auto& [k, v] : ovs_settings(plan)) pending += k + "=" + v + "\n";
    out.push_back({kOvsPendingFile, pending});
    std::string exec = "/usr/bin/ovs-vsctl";
    for (const auto& a : ovs_arguments(plan)) exec += " " + a;
    out.push_back(
        {kOvsFirstBootUnit,
         header(plan,
                "OVS's settings of the perf profile, set once: the OVS database was not reachable when it "
                "was applied.") +
             "[Unit]\nDescription=OVS settings of the VLCP perf profile " + plan.profile +
             "\nConditionPathExists=" + kOvsPendingFile +
             "\nWants=ovsdb-server.service\nAfter=ovsdb-server.service\nBefore=ovs-vswitchd.service "
             "vlcpd.service\n\n"
             "[Service]\nType=oneshot\nExecStart=" +
             exec + "\nExecStartPost=/bin/rm -f " + kOvsPendingFile +
             "\n\n[Install]\nWantedBy=multi-user.target\n"});
    out.push_back({ovs_wants, "", false, kOvsFirstBootUnit});
  }
  return out;
}

Status write_change(const Machine& m, const FileChange& c) {
  std::string path = m.path(c.path);
  std::error_code ec;
  if (c.remove) {
    fs::remove(path, ec);
    if (ec) return make_error(Errc::kIo, "cannot remove " + path + ": " + ec.message());
    return {};
  }
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec)
    return make_error(Errc::kIo,
                      "cannot create " + fs::path(path).parent_path().string() + ": " + ec.message());
  if (!c.symlink_to.empty()) {
    fs::remove(path, ec);
    fs::create_symlink(c.symlink_to, path, ec);
    if (ec) return make_error(Errc::kIo, "cannot link " + path + ": " + ec.message());
    return {};
  }
  // Written beside and renamed over: a reader sees the old file or the new one. The temporary
  // file is made exclusively (mkstemp: a name planted in the root cannot redirect the write),
  // and takes the mode and owner of the file it replaces (vlcp.conf holds secrets: 0640
  // root:vlcp must stay so), else 0644.
  struct stat old_st {};
  bool had = ::lstat(path.c_str(), &old_st) == 0;
  if (had && S_ISLNK(old_st.st_mode))
    return make_error(Errc::kPermissionDenied, path + " is a symbolic link: not written through");
  std::string tmpl = path + ".vlcpctl-XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0)
    return make_error(Errc::kIo, "cannot create a file beside " + path + ": " + std::strerror(errno));
  bool ok = true;
  if (c.private_conf) {  // secrets may sit beside it; vlcpd (group vlcp) reads it
    int gid = vlcp_gid(m);
    ok = ::fchmod(fd, gid >= 0 ? 0640 : 0600) == 0;
    if (ok && ::geteuid() == 0) ok = ::fchown(fd, 0, gid >= 0 ? gid : 0) == 0;
  } else if (!c.esp) {  // (vfat has no modes or owners: the mount's umask says them)
    ok = ::fchmod(fd, had ? (old_st.st_mode & 07777) : 0644) == 0;
    if (ok && had) ok = ::fchown(fd, old_st.st_uid, old_st.st_gid) == 0;
  }
  for (size_t off = 0; ok && off < c.content.size();) {
    ssize_t n = ::write(fd, c.content.data() + off, c.content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      ok = false;
    else
      off += static_cast<size_t>(n);
  }
  if (ok) ok = ::fsync(fd) == 0;
  int err = ok ? 0 : errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok) fs::rename(tmpl, path, ec);
  if (!ok || ec) {
    ::unlink(tmpl.c_str());
    return make_error(Errc::kIo, "cannot write " + path + ": " + (ec ? ec.message() : std::strerror(err)));
  }
  return {};
}

}  // namespace

std::string BootLoader::describe() const {
  if (kind == kGrub) return std::string("grub (") + kGrubFile + ", update-grub)";
  if (kind == kNone) return "none found";
  std::string out;
  for (const auto& e : entries) out += (out.empty() ? "" : ", ") + e;
  return "systemd-boot (" + out + ")";
}

BootLoader detect_boot_loader(const Machine& m) {
  BootLoader b;
  std::set<std::string> seen;  // /boot/efi may be /efi (a link): an entry once
  for (const char* dir : {"/boot/efi", "/efi", "/boot"}) {
    std::string entries = std::string(dir) + "/loader/entries";
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(m.path(entries), ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.' || it->path().extension() != ".conf" || !it->is_regular_file(ec))
        continue;
      names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string path = entries + "/" + name;
      if (!seen.insert(fs::weakly_canonical(m.path(path), ec).string()).second) continue;
      // An entry that boots a kernel: a `linux` line (not an EFI program, nor a unified kernel
      // image, whose command line is inside it).
      bool boots_linux = false;
      for (const auto& line : split(read_or_empty(m.path(path)), '\n')) {
        auto f = words(line);
        boots_linux = boots_linux || (!f.empty() && f[0] == "linux");
      }
      if (boots_linux) b.entries.push_back(path);
    }
  }
  const bool grub = fs::exists(m.path("/etc/default/grub")) || fs::exists(m.path("/usr/sbin/update-grub")) ||
                    fs::exists(m.path("/sbin/update-grub"));
  // Both on one machine (a grub server that once had systemd-boot, a shared ESP): the one that
  // booted it says so — systemd-boot sets its LoaderInfo EFI variable, grub does not.
  const bool booted_by_systemd_boot =
      fs::exists(m.path("/sys/firmware/efi/efivars/LoaderInfo-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"));
  if (!b.entries.empty() && (!grub || booted_by_systemd_boot)) {
    b.kind = BootLoader::kSystemdBoot;
  } else if (grub) {
    b.kind = BootLoader::kGrub;
    b.entries.clear();
  }
  return b;
}

std::string edit_kernel_cmdline(const std::string& cmdline, const Plan& plan) {
  std::vector<std::string> kernel, init;
  bool dashes = false;
  for (const auto& w : cmdline_words(cmdline)) {
    if (dashes)
      init.push_back(w);
    else if (w == "--")
      dashes = true;
    else if (!is_managed_arg(w))
      kernel.push_back(w);
  }
  std::string ours = join_args(plan_kernel_args(plan));
  if (!ours.empty()) kernel.push_back(ours);
  std::string out;
  for (const auto& w : kernel) out += (out.empty() ? "" : " ") + w;
  if (dashes) {
    out += out.empty() ? "--" : " --";
    for (const auto& w : init) out += " " + w;
  }
  return out;
}

std::string edit_loader_entry(const std::string& entry, const Plan& plan) {
  std::vector<std::string> lines = split(entry, '\n');
  bool first = true;
  const Plan none;  // no kernel arguments: the managed ones removed
  for (auto& line : lines) {
    auto f = words(line);
    if (f.empty() || f[0] != "options") continue;
    std::string value = trim(line.substr(line.find("options") + 7));
    std::string edited = edit_kernel_cmdline(value, first ? plan : none);
    first = false;
    if (cmdline_words(edited) != cmdline_words(value)) line = "options " + edited;
  }
  std::string ours = join_args(plan_kernel_args(plan));
  if (first && !ours.empty()) lines.push_back("options " + ours);
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  if (!entry.empty() && entry.back() != '\n' && lines.size() == split(entry, '\n').size()) out.pop_back();
  return out;
}

std::string tuned_conf(const Plan& plan, const std::string& description, const Machine& m) {
  std::string out =
      "# tuned profile vlcp-" + plan.profile + ", derived by `vlcpctl profile show " + plan.profile +
      " --tuned` for this machine: " + m.describe() + ".\n# Install: /etc/tuned/vlcp-" + plan.profile +
      "/tuned.conf, then tuned-adm profile vlcp-" + plan.profile +
      ". OVS's settings, vlcpd's keys and the\n# hugepage mount come from `vlcpctl profile apply " +
      plan.profile + "`.\n[main]\nsummary=VLCP " + plan.profile + ": " + description + "\n";
  std::string sysctl;
  for (const auto& s : plan.settings)
    if (s.kind == SettingKind::kSysctl) sysctl += s.key + "=" + s.expected + "\n";
  if (!sysctl.empty()) out += "\n[sysctl]\n" + sysctl;
  std::string args = join_args(plan_kernel_args(plan));
  if (!args.empty()) out += "\n[bootloader]\ncmdline_vlcp=" + args + "\n";
  if (!plan.isolated.empty()) {
    std::string list = format_cpu_list(plan.isolated);
    out += "\n[scheduler]\nisolated_cores=" + list + "\n\n[irqbalance]\nbanned_cpus=" + list + "\n";
  }
  return out;
}

Result<std::vector<std::string>> apply(const Plan& plan, const Machine& m, bool dry_run) {
  std::vector<std::string> report;
  OvsState ovs = read_ovs(m);
  std::set<std::string> changed;
  // Every file decided before any is written: a refusal writes nothing.
  VLCP_ASSIGN_OR_RETURN(std::vector<FileChange> changes, file_changes(plan, m, ovs.reachable));
  for (const auto& c : changes) {
    bool exists = fs::exists(m.path(c.path)) || fs::is_symlink(m.path(c.path));
    if (c.remove && !exists) continue;
    if (!c.remove && c.symlink_to.empty() && exists && read_or_empty(m.path(c.path)) == c.content) {
      report.push_back("unchanged " + m.path(c.path));
      continue;
    }
    std::string what = c.remove ? "remove " : !c.symlink_to.empty() ? "link " : "write ";
    if (dry_run) {
      report.push_back("would " + what + m.path(c.path) +
                       (c.symlink_to.empty() ? "" : " -> " + c.symlink_to));
      // The content, but of a kernel command line only the profile's arguments: the rest is
      // the machine's, a seed's secrets perhaps (vlcp.token=...), not for a terminal.
      if (c.kernel_cmdline) {
        std::string ours = join_args(plan_kernel_args(plan));
        report.push_back("    the profile's kernel arguments: " + (ours.empty() ? "none" : ours));
      } else if (!c.remove && c.symlink_to.empty()) {
        for (const auto& line : split(c.content, '\n')) report.push_back("    " + line);
      }
      continue;
    }
    VLCP_RETURN_IF_ERROR(write_change(m, c));
    changed.insert((c.remove ? "-" : "") + c.path);
    if (c.kernel_cmdline) changed.insert("kernel command line");
    report.push_back((c.remove ? "removed " : !c.symlink_to.empty() ? "linked " : "wrote ") + m.path(c.path));
  }
  std::vector<std::string> argv = {ovs_vsctl(), "--db=" + ovs.db, "--timeout=5"};
  for (const auto& a : ovs_arguments(plan)) argv.push_back(a);
  std::string shown;
  for (const auto& a : argv) shown += (shown.empty() ? "" : " ") + a;
  if (!ovs.reachable) {
    report.push_back("OVS: " + ovs.why + "; its settings are recorded in " + m.path(kOvsPendingFile) +
                     " for vlcp-profile-ovs.service at the next boot");
  } else if (dry_run) {
    report.push_back("would run " + shown);
  } else {
    std::string out;
    if (run(argv, &out) != 0)
      return make_error(Errc::kUnavailable, "OVS: " + shown + " failed: " + trim(out));
    report.push_back("ran " + shown);
  }
  if (dry_run) return report;
  // What makes the new files take effect, for what changed ("-PATH": removed).
  auto any = [&](const std::string& path) { return changed.count(path) || changed.count("-" + path); };
  std::vector<std::string> next;
  if (any(kGrubFile)) next.push_back("update-grub; reboot (the kernel command line changed)");
  if (changed.count("kernel command line"))
    next.push_back("reboot (the kernel command line changed: " + detect_boot_loader(m).describe() + ")");
  if (changed.count(kSysctlFile)) next.push_back("sysctl --system");
  if (changed.count("-" + std::string(kSysctlFile)))
    next.push_back("reboot, or set the profile's former sysctl values back by hand (the kernel keeps them)");
  if (changed.count("-" + std::string(kMountUnit)))
    next.push_back("systemctl stop var-lib-vlcp-hugepages.mount");
  bool units = false;
  for (const auto& path : changed) units = units || path.find("/etc/systemd/") <= 1;
  if (units) next.push_back("systemctl daemon-reload");
  if (changed.count(kMountUnit)) next.push_back("systemctl start var-lib-vlcp-hugepages.mount");
  if (ovs.reachable)
    next.push_back("systemctl restart openvswitch-switch (OVS reads dpdk-init and dpdk-socket-mem at start)");
  if (any(kVlcpConfDropIn) || any(kDropInPath)) next.push_back("systemctl restart vlcpd");
  next.push_back("vlcpctl profile check " + plan.profile);
  std::string steps;
  for (const auto& n : next) steps += (steps.empty() ? "" : "; ") + n;
  report.push_back("next: " + steps);
  return report;
}

std::vector<Difference> check(const Plan& plan, const Machine& m, bool configured,
                              std::vector<std::string>* notes) {
  std::vector<Difference> out;
  OvsState ovs = read_ovs(m);
  bool pending_exists = false;
  std::map<std::string, std::string> pending = pending_ovs(m, &pending_exists);
  auto running_args = kernel_args(read_or_empty(m.path("/proc/cmdline")));
  NextBoot next = next_boot(m);
  const auto& written_args = next.args;
  for (const auto& n : next.notes)
    if (configured || next.known) notes->push_back(n);
  auto written_sysctl = sysctl_file_values(read_or_empty(m.path(kSysctlFile)));
  // What vlcpd reads: vlcp.conf, then its drop-ins (the profile's among them).
  auto conf = Config::load_with_dropins(m.path(kVlcpConf));
  bool conf_exists = fs::exists(m.path(kVlcpConf)) || fs::exists(m.path(kVlcpConf) + std::string(".d"));
  std::string mounts = read_or_empty(m.path("/proc/mounts"));
  std::string unit = read_or_empty(m.path(kMountUnit));

  for (const auto& s : plan.settings) {
    std::string actual;
    bool matches = false;
    switch (s.kind) {
      case SettingKind::kKernelArg: {
        const auto& args = configured ? written_args : running_args;
        auto a = args.find(s.key);
        actual = a == args.end() ? "" : a->second;
        matches = actual == s.expected;
        if (!configured && next.known) {
          auto w = written_args.find(s.key);
          std::string at_next = w == written_args.end() ? "" : w->second;
          if (at_next != actual)  // the boot configuration was changed since this kernel booted
            notes->push_back("pending reboot: " + setting_name(s) + " is " + shown_value(at_next) + " in " +
                             next.source + ", the running kernel has " + shown_value(actual));
          if (matches && at_next != s.expected)  // right now, but not after the next boot
            out.push_back({setting_name(s) + " at the next boot (" + next.source + ")", s.expected, at_next});
        }
        break;
      }
      case SettingKind::kSysctl: {
        if (configured) {
          actual = written_sysctl.count(s.key) ? written_sysctl[s.key] : "";
        } else {
          std::string file = s.key;
          std::replace(file.begin(), file.end(), '.', '/');
          actual = normal_spaces(read_or_empty(m.path("/proc/sys/" + file)));
        }
        matches = normal_spaces(actual) == normal_spaces(s.expected);
        break;
      }
      case SettingKind::kHugepages: {
        if (configured) continue;  // the kernel arguments or vm.nr_hugepages say it
        std::string node = s.key.substr(0, s.key.find(' '));
        std::string size = "hugepages-" + std::to_string(plan.page_kb) + "kB/nr_hugepages";
        std::string text;
        if (!read_text(m.path("/sys/devices/system/node/node" + node + "/hugepages/" + size), &text) &&
            node == "0")
          read_text(m.path("/sys/kernel/mm/hugepages/" + size), &text);
        actual = trim(text).empty() ? "0" : trim(text);
        matches = std::atoll(actual.c_str()) >= std::atoll(s.expected.c_str());
        break;
      }
      case SettingKind::kHugeMount: {
        int64_t kb = -1;
        if (configured) {
          for (const auto& line : split(unit, '\n'))
            if (line.rfind("Options=", 0) == 0) kb = pagesize_kb(line.substr(8));
        } else {
          for (const auto& line : split(mounts, '\n')) {
            auto f = words(line);
            if (f.size() >= 4 && f[1] == s.key && f[2] == "hugetlbfs") kb = pagesize_kb(f[3]);
          }
        }
        actual = kb < 0 ? "" : std::to_string(kb);
        matches = actual == s.expected;
        break;
      }
      case SettingKind::kIsolated:
      case SettingKind::kNohzFull:
      case SettingKind::kIrqAffinity: {
        if (configured) continue;  // the kernel arguments say it
        if (s.kind == SettingKind::kIrqAffinity) {
          auto mask = parse_cpu_mask(read_or_empty(m.path("/proc/irq/default_smp_affinity")));
          CpuSet online;
          if (mask.ok())
            for (int c : *mask)
              if (m.cpus.count(c)) online.insert(c);
          actual = format_cpu_list(online);
        } else {
          auto list = parse_cpu_list(
              read_or_empty(m.path(s.kind == SettingKind::kIsolated ? "/sys/devices/system/cpu/isolated"
                                                                    : "/sys/devices/system/cpu/nohz_full")));
          actual = list.ok() ? format_cpu_list(*list) : "(unreadable)";
        }
        matches = actual == s.expected;
        break;
      }
      case SettingKind::kOvs: {
        if (ovs.reachable) {
          actual = ovs.other_config.count(s.key) ? ovs_normal(s.key, ovs.other_config[s.key]) : "";
        } else if (configured && pending_exists) {
          actual = pending.count(s.key) ? pending[s.key] : "";
        } else if (s.expected.empty()) {
          notes->push_back(setting_name(s) + ": not checked (" + ovs.why + "; nothing to set there)");
          continue;
        } else {
          actual = pending_exists && !configured
                       ? "not set yet (" + ovs.why + "; pending in " + m.path(kOvsPendingFile) + ")"
                       : "unknown (" + ovs.why + ")";
          out.push_back({setting_name(s), s.expected, actual});
          continue;
        }
        matches = actual == ovs_normal(s.key, s.expected);
        break;
      }
      case SettingKind::kVlcpd: {
        if (!conf.ok() && conf_exists) {
          actual = "(unreadable: " + conf.error().message() + ")";
          matches = false;
          break;
        }
        const nlohmann::json* v = conf.ok() ? conf->find(s.key) : nullptr;
        auto want =
            s.expected.empty() ? Result<nlohmann::json>(nlohmann::json()) : Config::parse_literal(s.expected);
        matches = v ? (want.ok() && !s.expected.empty() && *v == *want) : s.expected.empty();
        actual = v ? v->dump() : "";
        if (matches) actual = s.expected;
        break;
      }
      case SettingKind::kDropIn: {
        std::string text;
        bool exists = read_text(m.path(s.key), &text);
        matches = exists && text == s.expected;
        if (!matches)
          out.push_back({setting_name(s),
                         "the profile's drop-in (systemd/profiles/" + plan.profile + ".conf)",
                         exists ? "other content" : ""});
        continue;
      }
      case SettingKind::kProfileName:
        actual = trim(read_or_empty(m.path(kProfileNameFile)));
        matches = actual == s.expected || (actual.empty() && s.expected == "shared");
        break;
    }
    if (!matches) out.push_back({setting_name(s), s.expected, actual});
  }
  return out;
}

}  // namespace profile

namespace {

using namespace profile;

std::string shown(const std::string& v) {
  return v.empty() ? "(absent)" : v;
}

struct ProfileArgs {
  std::string root = "/", profiles, name;
  bool dry_run = false, configured = false, tuned = false;
};

int usage_error(const std::string& what) {
  std::fprintf(stderr, "vlcpctl: profile: %s (see vlcpctl --help)\n", what.c_str());
  return kExitUsage;
}

// The plan for one profile on the machine, or the reason there is none (printed).
Result<Plan> plan_for(const ProfileArgs& a, const std::string& name, const Machine& m,
                      Profile* declared = nullptr) {
  auto dirs = profile_dirs(a.profiles);
  VLCP_ASSIGN_OR_RETURN(Profile p, load_profile(dirs, name));
  if (declared) *declared = p;
  VLCP_ASSIGN_OR_RETURN(std::string dropin, load_dropin(dirs, name));
  return derive(p, m, dropin);
}

}  // namespace

int profile_verb(const std::vector<std::string>& args) {
  if (args.empty()) return usage_error("list, show, apply or check");
  ProfileArgs a;
  std::vector<std::string> pos;
  for (size_t i = 1; i < args.size(); ++i) {
    if ((args[i] == "--root" || args[i] == "--profiles") && i + 1 < args.size())
      (args[i] == "--root" ? a.root : a.profiles) = args[i + 1], ++i;
    else if (args[i] == "--dry-run" && args[0] == "apply")
      a.dry_run = true;
    else if (args[i] == "--configured" && args[0] == "check")
      a.configured = true;
    else if (args[i] == "--tuned" && args[0] == "show")
      a.tuned = true;
    else if (args[i].rfind("--", 0) == 0)
      return usage_error("unknown option '" + args[i] + "' for profile " + args[0]);
    else
      pos.push_back(args[i]);
  }
  const std::string& verb = args[0];
  auto dirs = profile_dirs(a.profiles);
  if (verb == "list") {
    if (!pos.empty()) return usage_error("profile list");
    for (const auto& n : profile_names(dirs)) std::printf("%s\n", n.c_str());
    return 0;
  }
  if (verb != "show" && verb != "apply" && verb != "check") return usage_error("unknown verb '" + verb + "'");
  if (pos.size() > 1 || (pos.empty() && verb != "show")) return usage_error("profile " + verb + " NAME");
  auto machine = read_machine(a.root);
  if (!machine.ok()) {
    std::fprintf(stderr, "vlcpctl: profile: %s\n", machine.error().message().c_str());
    return kExitFailure;
  }
  if (verb == "show" && pos.empty()) {  // every profile, and whether this machine can take it
    std::string applied = trim(read_or_empty(machine->path(kProfileNameFile)));
    std::printf("machine: %s\n", machine->describe().c_str());
    for (const auto& n : profile_names(dirs)) {
      Profile p;
      auto plan = plan_for(a, n, *machine, &p);
      std::printf("%-16s %s%s\n  %s\n", n.c_str(), p.description.c_str(), n == applied ? " (applied)" : "",
                  plan.ok() ? "fits this machine" : ("does not fit: " + plan.error().message()).c_str());
    }
    return 0;
  }
  Profile declared;
  auto plan = plan_for(a, pos[0], *machine, &declared);
  if (!plan.ok()) {
    if (verb == "show" && !declared.name.empty()) {
      std::printf("profile %s: %s (%s)\n", declared.name.c_str(), declared.description.c_str(),
                  declared.source.c_str());
      for (const auto& line : describe_keys(declared)) std::printf("  %s\n", line.c_str());
    }
    std::fprintf(stderr, "vlcpctl: profile %s: %s\n", verb.c_str(), plan.error().message().c_str());
    return kExitFailure;
  }
  if (verb == "show" && a.tuned) {
    std::printf("%s", tuned_conf(*plan, declared.description, *machine).c_str());
    return 0;
  }
  if (verb == "show") {
    std::printf("profile %s: %s (%s)\n", declared.name.c_str(), declared.description.c_str(),
                declared.source.c_str());
    for (const auto& line : describe_keys(declared)) std::printf("  %s\n", line.c_str());
    std::printf("on this machine:\n");
    for (const auto& n : plan->notes) std::printf("  %s\n", n.c_str());
    for (const auto& s : plan->settings) {
      if (s.kind == SettingKind::kDropIn)
        std::printf("  %s: systemd/profiles/%s.conf\n", setting_name(s).c_str(), plan->profile.c_str());
      else
        std::printf("  %s: %s\n", setting_name(s).c_str(), shown(s.expected).c_str());
    }
    return 0;
  }
  if (verb == "apply") {
    auto report = apply(*plan, *machine, a.dry_run);
    if (!report.ok()) {
      std::fprintf(stderr, "vlcpctl: profile apply: %s\n", report.error().message().c_str());
      return kExitFailure;
    }
    for (const auto& n : plan->notes) std::printf("%s\n", n.c_str());
    for (const auto& line : *report) std::printf("%s\n", line.c_str());
    return 0;
  }
  std::vector<std::string> notes;
  auto diffs = check(*plan, *machine, a.configured, &notes);
  for (const auto& n : notes) std::fprintf(stderr, "vlcpctl: profile check: %s\n", n.c_str());
  for (const auto& d : diffs)
    std::printf("%s: expected %s, actual %s\n", d.what.c_str(), shown(d.expected).c_str(),
                shown(d.actual).c_str());
  if (diffs.empty())
    std::printf("%s matches profile %s\n", a.configured ? "the written configuration" : "the running system",
                plan->profile.c_str());
  return diffs.empty() ? 0 : kExitFailure;
}

}  // namespace vlcp::cli
