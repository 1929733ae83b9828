// vlcp-cni as a runtime runs it: the real binary with the CNI_* variables and a configuration
// on stdin, against a fake vlcpd (a unix socket this test serves): what it forwards (path,
// X-CNI-* headers, the body unchanged), what it prints and its exit code for each answer, and
// what it does without vlcpd (VERSION alone, code 11, or 50 for STATUS).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using json = nlohmann::json;

struct CniRun {
  int exit_code = -1;
  std::string out;
  json printed() const { return json::parse(out); }
};

// Runs vlcp-cni with exactly these variables and this stdin.
CniRun run_cni(const std::map<std::string, std::string>& vars, const std::string& input) {
  signal(SIGPIPE, SIG_IGN);  // the binary stops reading an oversized stdin
  int in[2], out[2];
  EXPECT_EQ(pipe2(in, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : vars) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(VLCP_CNI_BINARY), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, VLCP_CNI_BINARY, &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  EXPECT_EQ(rc, 0) << std::strerror(rc);
  close(in[0]);
  close(out[1]);
  // The binary reads all of stdin before it writes: write, close, then read.
  for (size_t done = 0; done < input.size();) {
    ssize_t n = write(in[1], input.data() + done, input.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(in[1]);
  CniRun r;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// A fake vlcpd: accepts connections on a unix socket and answers each with the next canned
// answer (or closes without one: ""), recording the requests it read.
class FakeVlcpd {
 public:
  explicit FakeVlcpd(std::string dir, bool accept = true) : path_(dir + "/vlcpd.sock"), accept_(accept) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    EXPECT_EQ(listen(fd_, 16), 0);
  }
  ~FakeVlcpd() {
    stop();
    close(fd_);
    unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

  // Serves `answers`, one connection each, on a thread; requests() waits for it.
  void serve(std::vector<std::string> answers) {
    thread_ = std::thread([this, answers = std::move(answers)] {
      for (const auto& answer : answers) {
        int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        requests_.push_back(read_request(c));
        if (!answer.empty()) (void)!write(c, answer.data(), answer.size());
        close(c);
      }
    });
  }
  const std::vector<std::string>& requests() {
    stop();
    return requests_;
  }
  // Connections waiting that nobody accepted (to prove none was made).
  bool has_pending() {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  }

 private:
  void stop() {
    if (thread_.joinable()) thread_.join();
  }
  static std::string read_request(int c) {
    std::string in;
    char buf[4096];
    size_t want = std::string::npos;
    while (in.size() < want) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
      size_t head = in.find("\r\n\r\n");
      if (head != std::string::npos && want == std::string::npos) {
        size_t cl = in.find("Content-Length: ");
        want = head + 4 + (cl < head ? std::stoul(in.substr(cl + 16)) : 0);
      }
    }
    return in;
  }

  std::string path_;
  bool accept_;
  int fd_ = -1;
  std::thread thread_;
  std::vector<std::string> requests_;
};

std::string http(int status, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class VlcpCni : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vlcp-cni-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string config(const std::string& socket, const std::string& version = "1.0.0",
                     const std::string& extra = "") {
    return R"({"cniVersion": ")" + version + R"(", "name": "blue", "type": "vlcp-cni", "socket": ")" +
           socket + "\"" + extra + "}";
  }
  std::map<std::string, std::string> env(const std::string& command) {
    return {{"CNI_COMMAND", command},
            {"CNI_CONTAINERID", "pod-1234"},
            {"CNI_NETNS", "/var/run/netns/pod1"},
            {"CNI_IFNAME", "eth0"},
            {"CNI_PATH", "/opt/cni/bin:/usr/lib/cni"},
            {"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;IP=10.1.0.7"}};
  }

  std::string dir_;
};

const char* kResult = R"({"cniVersion":"1.0.0","interfaces":[{"name":"vlcp1234","mac":"aa:00:00:00:00:01"},)"
                      R"({"name":"eth0","mac":"02:77:00:00:00:07","sandbox":"/var/run/netns/pod1"}],)"
                      R"("ips":[{"address":"10.1.0.7/24","gateway":"10.1.0.1","interface":1}],)"
                      R"("routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"}]})";

TEST_F(VlcpCni, AddIsForwardedWithTheRuntimesVariablesAndTheBodyUnchanged) {
  FakeVlcpd vlcpd(dir_);
  vlcpd.serve({http(200, kResult)});
  const std::string conf = config(vlcpd.path(), "1.0.0", R"(, "subnet": "blue-s", "weird": "\u00e9")");
  CniRun r = run_cni(env("ADD"), conf);
  ASSERT_EQ(vlcpd.requests().size(), 1u);
  const std::string& req = vlcpd.requests()[0];
  EXPECT_EQ(req.substr(0, req.find("\r\n")), "POST /add HTTP/1.1");
  for (const char* h :
       {"\r\nX-CNI-ContainerID: pod-1234\r\n", "\r\nX-CNI-Netns: /var/run/netns/pod1\r\n",
        "\r\nX-CNI-IfName: eth0\r\n", "\r\nX-CNI-Path: /opt/cni/bin:/usr/lib/cni\r\n",
        "\r\nX-CNI-Args: IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;IP=10.1.0.7\r\n",
        "\r\nConnection: close\r\n"})
    EXPECT_NE(req.find(h), std::string::npos) << h << " in " << req;
  EXPECT_EQ(req.substr(req.find("\r\n\r\n") + 4), conf);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.printed(), json::parse(kResult));
}

TEST_F(VlcpCni, EachCommandGoesToItsPath) {
  FakeVlcpd vlcpd(dir_);
  vlcpd.serve({http(200, ""), http(200, ""), http(200, ""), http(200, "")});
  const std::string prev = R"(, "prevResult": )" + std::string(kResult);
  EXPECT_EQ(run_cni(env("DEL"), config(vlcpd.path())).exit_code, 0);
  EXPECT_EQ(run_cni(env("CHECK"), config(vlcpd.path(), "1.0.0", prev)).exit_code, 0);
  EXPECT_EQ(run_cni({{"CNI_COMMAND", "STATUS"}}, config(vlcpd.path(), "1.1.0")).exit_code, 0);
  CniRun gc = run_cni({{"CNI_COMMAND", "GC"}, {"CNI_PATH", "/opt/cni/bin"}},
                      config(vlcpd.path(), "1.1.0",
                             R"(, "cni.dev/valid-attachments": [{"containerID": "a", "ifname": "eth0"}])"));
  EXPECT_EQ(gc.exit_code, 0);
  EXPECT_EQ(gc.out, "");
  std::vector<std::string> lines;
  for (const auto& req : vlcpd.requests()) lines.push_back(req.substr(0, req.find("\r\n")));
  EXPECT_EQ(lines, (std::vector<std::string>{"POST /del HTTP/1.1", "POST /check HTTP/1.1",
                                             "POST /status HTTP/1.1", "POST /gc HTTP/1.1"}));
}

TEST_F(VlcpCni, DelOfWhatIsGoneSucceeds) {
  FakeVlcpd vlcpd(dir_);
  vlcpd.serve({http(409, R"({"cniVersion":"1.0.0","code":3,"msg":"container unknown or does not exist"})")});
  auto vars = env("DEL");
  vars.erase("CNI_NETNS");  // the namespace is gone too
  CniRun r = run_cni(vars, config(vlcpd.path()));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(vlcpd.requests().size(), 1u);
}

TEST_F(VlcpCni, VlcpdsErrorIsPrintedInTheConfigurationsVersion) {
  FakeVlcpd vlcpd(dir_);
  vlcpd.serve({http(409,
                    R"({"cniVersion":"1.1.0","code":103,"msg":"interface missing",)"
                    R"("details":"interface eth0 not found in /var/run/netns/pod1"})",
                    "Connection: close\r\n")});
  CniRun r =
      run_cni(env("CHECK"), config(vlcpd.path(), "0.4.0", R"(, "prevResult": )" + std::string(kResult)));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.printed(), json::parse(R"({"cniVersion":"0.4.0","code":103,"msg":"interface missing",)"
                                     R"("details":"interface eth0 not found in /var/run/netns/pod1"})"));
}

TEST_F(VlcpCni, ChunkedAnswersAreRead) {
  FakeVlcpd vlcpd(dir_);
  std::string body = kResult;
  std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t i = 0; i < body.size(); i += 50) {
    std::string part = body.substr(i, 50);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    chunked += size + part + "\r\n";
  }
  chunked += "0\r\n\r\n";
  vlcpd.serve({chunked});
  CniRun r = run_cni(env("ADD"), config(vlcpd.path()));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.printed(), json::parse(kResult));
}

TEST_F(VlcpCni, AResultThatIsNotOneIsADecodeError) {
  FakeVlcpd vlcpd(dir_);
  vlcpd.serve({http(200, "<html>"), "garbage\r\n\r\n"});
  CniRun r = run_cni(env("ADD"), config(vlcpd.path()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.printed()["code"], 6);
  CniRun bad_http = run_cni(env("ADD"), config(vlcpd.path()));
  EXPECT_EQ(bad_http.exit_code, 1);
  EXPECT_EQ(bad_http.printed()["code"], 6);
}

TEST_F(VlcpCni, WithoutVlcpdEveryCommandButStatusSaysTryAgainLater) {
  const std::string missing = dir_ + "/none.sock";
  for (const char* c : {"ADD", "DEL", "CHECK"}) {
    CniRun r = run_cni(env(c), config(missing, "1.0.0", R"(, "prevResult": )" + std::string(kResult)));
    EXPECT_EQ(r.exit_code, 1) << c;
    EXPECT_EQ(r.printed()["code"], 11) << c;
    EXPECT_EQ(r.printed()["cniVersion"], "1.0.0") << c;
    EXPECT_NE(r.printed()["details"].get<std::string>().find(missing), std::string::npos) << r.out;
  }
  CniRun status = run_cni({{"CNI_COMMAND", "STATUS"}}, config(missing, "1.1.0"));
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_EQ(status.printed()["code"], 50);
  CniRun gc = run_cni({{"CNI_COMMAND", "GC"}}, config(missing, "1.1.0"));
  EXPECT_EQ(gc.printed()["code"], 11);
}

TEST_F(VlcpCni, AVlcpdThatClosesOrNeverAnswersIsTryAgainLater) {
  FakeVlcpd vlcpd(dir_);
  vlcpd.serve({""});  // accepts, reads, closes without a byte
  CniRun closed = run_cni(env("ADD"), config(vlcpd.path()));
  EXPECT_EQ(closed.exit_code, 1);
  EXPECT_EQ(closed.printed()["code"], 11);
  vlcpd.requests();
  // Listening, never accepting: the configuration's timeout bounds the wait.
  CniRun silent = run_cni(env("DEL"), config(vlcpd.path(), "1.0.0", R"(, "timeout": 0.2)"));
  EXPECT_EQ(silent.exit_code, 1);
  EXPECT_EQ(silent.printed()["code"], 11);
  EXPECT_NE(silent.printed()["details"].get<std::string>().find("no answer"), std::string::npos)
      << silent.out;
}

TEST_F(VlcpCni, VersionIsAnsweredWithoutVlcpd) {
  FakeVlcpd vlcpd(dir_);
  CniRun r = run_cni({{"CNI_COMMAND", "VERSION"}}, R"({"cniVersion": "0.4.0"})");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(
      r.printed(),
      json::parse(R"({"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]})"));
  CniRun empty = run_cni({{"CNI_COMMAND", "VERSION"}}, "");
  EXPECT_EQ(empty.printed()["cniVersion"], "1.1.0");
  CniRun bad = run_cni({{"CNI_COMMAND", "VERSION"}}, "{nope");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.printed()["code"], 6);
  EXPECT_FALSE(vlcpd.has_pending());
}

TEST_F(VlcpCni, ItsOwnErrorsNeverReachVlcpd) {
  FakeVlcpd vlcpd(dir_);
  auto no_id = env("ADD");
  no_id.erase("CNI_CONTAINERID");
  CniRun r = run_cni(no_id, config(vlcpd.path(), "0.3.1"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.printed()["code"], 4);
  EXPECT_EQ(r.printed()["cniVersion"], "0.3.1");  // the configuration's, though it was not used
  EXPECT_NE(r.printed()["details"].get<std::string>().find("CNI_CONTAINERID"), std::string::npos);

  CniRun no_command = run_cni({}, config(vlcpd.path()));
  EXPECT_EQ(no_command.printed()["code"], 4);

  auto unknown_arg = env("ADD");
  unknown_arg["CNI_ARGS"] = "FOO=bar";
  EXPECT_EQ(run_cni(unknown_arg, config(vlcpd.path())).printed()["code"], 4);

  EXPECT_EQ(run_cni(env("ADD"), "not json").printed()["code"], 6);
  EXPECT_EQ(run_cni(env("ADD"), config(vlcpd.path(), "1.0.0", R"(, "mtu": "big")")).printed()["code"], 7);
  EXPECT_EQ(run_cni(env("ADD"), config(vlcpd.path(), "0.2.0")).printed()["code"], 1);
  EXPECT_EQ(run_cni(env("CHECK"), config(vlcpd.path())).printed()["code"], 7);  // no prevResult
  EXPECT_EQ(run_cni(env("ADD"), std::string(3 << 20, ' ')).printed()["code"], 6);
  EXPECT_FALSE(vlcpd.has_pending());
}

}  // namespace
