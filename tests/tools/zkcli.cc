// zkcli: a minimal ZooKeeper client for system tests (the C client, built -DTHREADED):
//   zkcli HOSTS create PATH DATA | set PATH DATA | get PATH | delete PATH
// Retries connection loss until --timeout seconds pass, so a test can ride out a leader
// election. Exit 0 on success, 1 on a ZooKeeper error (printed), 2 on usage.
#include <zookeeper/zookeeper.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

namespace {

int usage() {
  std::fprintf(stderr, "usage: zkcli [--timeout S] HOSTS create|set PATH DATA | get|delete PATH\n");
  return 2;
}

bool retryable(int rc) {
  return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONMOVED;
}

}  // namespace

int main(int argc, char** argv) {
  int arg = 1;
  double timeout_s = 20;
  if (arg + 1 < argc && std::strcmp(argv[arg], "--timeout") == 0) {
    timeout_s = std::atof(argv[arg + 1]);
    arg += 2;
  }
  if (argc - arg < 3) return usage();
  const std::string hosts = argv[arg], op = argv[arg + 1], path = argv[arg + 2];
  const bool with_data = op == "create" || op == "set";
  if (with_data && argc - arg < 4) return usage();
  const std::string data = with_data ? argv[arg + 3] : "";

  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(timeout_s * 1000));
  int rc = ZCONNECTIONLOSS;
  std::string value;
  while (std::chrono::steady_clock::now() < deadline) {
    zhandle_t* zh = zookeeper_init(hosts.c_str(), nullptr, 4000, nullptr, nullptr, 0);
    if (!zh) {
      std::perror("zookeeper_init");
      return 1;
    }
    // Wait for the session (zookeeper_init returns before it connects).
    while (zoo_state(zh) != ZOO_CONNECTED_STATE && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (op == "create") {
      rc = zoo_create(zh, path.c_str(), data.data(), static_cast<int>(data.size()), &ZOO_OPEN_ACL_UNSAFE, 0,
                      nullptr, 0);
    } else if (op == "set") {
      rc = zoo_set(zh, path.c_str(), data.data(), static_cast<int>(data.size()), -1);
    } else if (op == "get") {
      char buf[65536];
      int len = sizeof buf;
      rc = zoo_get(zh, path.c_str(), 0, buf, &len, nullptr);
      if (rc == ZOK) value.assign(buf, len > 0 ? static_cast<size_t>(len) : 0);
    } else if (op == "delete") {
      rc = zoo_delete(zh, path.c_str(), -1);
    } else {
      zookeeper_close(zh);
      return usage();
    }
    zookeeper_close(zh);
    if (!retryable(rc)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (rc != ZOK) {
    std::fprintf(stderr, "zkcli: %s %s: %s\n", op.c_str(), path.c_str(), zerror(rc));
    return 1;
  }
  if (op == "get") std::printf("%s\n", value.c_str());
  return 0;
}
