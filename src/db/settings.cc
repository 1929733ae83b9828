#include "db/settings.h"

namespace vlcp::db {
namespace {
struct DbKeys {
  VLCP_OBJECTDB_KEYS(VLCP_KEYS_FIELD)
};
}  // namespace

Result<DbSettings> read_db_settings(const Config& config) {
  DbKeys keys;
  VLCP_OBJECTDB_KEYS(VLCP_KEYS_READ)
  DbSettings s;
  if (keys.backend != "embedded" && keys.backend != "zookeeper")
    return config.error_at("module.objectdb.backend",
                           "expected embedded or zookeeper, got '" + keys.backend + "'");
  s.zookeeper = keys.backend == "zookeeper";
  if (keys.path.empty()) return config.error_at("module.objectdb.path", "must not be empty");
  if (keys.mapsize < 1 || keys.mapsize > (1 << 20))
    return config.error_at("module.objectdb.mapsize", "must be 1..1048576 MiB");
  s.embedded.path = keys.path;
  s.embedded.map_size_mb = static_cast<size_t>(keys.mapsize);
  if (s.zookeeper) {
    // VLCP's URL syntax: tcp://h1:2181,h2:2181/chroot
    if (keys.url.rfind("tcp://", 0) != 0 || keys.url.size() <= 6)
      return config.error_at("module.zookeeperdb.url",
                             "expected tcp://HOST:PORT[,HOST:PORT...][/chroot], got '" + keys.url + "'");
    s.zk.hosts = keys.url.substr(6);
    while (s.zk.hosts.size() > 1 && s.zk.hosts.back() == '/') s.zk.hosts.pop_back();
  }
  if (keys.root.empty() || keys.root[0] != '/')
    return config.error_at("module.zookeeperdb.root", "must be an absolute path");
  s.zk.root = keys.root;
  if (!keys.auth.empty() && keys.auth.find(':') == std::string::npos)
    return config.error_at("module.zookeeperdb.auth", "expected user:password");
  s.zk.auth = keys.auth;
  if (keys.sessiontimeout < 1 || keys.sessiontimeout > 600)
    return config.error_at("module.zookeeperdb.sessiontimeout", "must be 1..600 seconds");
  s.zk.session_timeout_ms = static_cast<int>(keys.sessiontimeout * 1000);
  if (!(keys.compactafter >= 0 && keys.compactafter <= 7 * 86400))
    return config.error_at("module.zookeeperdb.compactafter", "must be 0..604800 seconds");
  s.zk.compact_after_ms = static_cast<int64_t>(keys.compactafter * 1000);
  if (keys.compactafter > 0 && s.zk.compact_after_ms < 1) s.zk.compact_after_ms = 1;
  if (keys.feed != "watch" && keys.feed != "log")
    return config.error_at("module.zookeeperdb.feed", "expected watch or log, got '" + keys.feed + "'");
  s.zk.follow = keys.feed == "watch";
  return s;
}

Result<std::unique_ptr<Store>> open_store(io::ControlLoop& loop, const DbSettings& settings) {
  if (settings.zookeeper) {
    VLCP_ASSIGN_OR_RETURN(auto s, ZkStore::connect(loop, settings.zk));
    return std::unique_ptr<Store>(std::move(s));
  }
  VLCP_ASSIGN_OR_RETURN(auto s, EmbeddedStore::open(loop, settings.embedded));
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace vlcp::db
