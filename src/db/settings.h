// Where ObjectDB lives, from vlcpd's configuration, and opening that store.
#pragma once

#include <memory>
#include <string>

#include "base/config.h"
#include "db/embedded.h"
#include "db/zookeeper.h"

namespace vlcp::db {

// X(field, key, C++ type, default, help)
#define VLCP_OBJECTDB_KEYS(X)                                                                               \
  X(backend, "module.objectdb.backend", std::string, "embedded",                                            \
    "where ObjectDB lives: embedded (this node, durable, nothing else to run) or zookeeper (a cluster)")    \
  X(path, "module.objectdb.path", std::string, "/var/lib/vlcp/objectdb.mdb", "the embedded store's file")   \
  X(mapsize, "module.objectdb.mapsize", int64_t, 1024, "the most the embedded store may grow to, MiB")      \
  X(url, "module.zookeeperdb.url", std::string, "",                                                         \
    "the ZooKeeper ensemble: tcp://HOST:PORT[,HOST:PORT...][/chroot] (the chroot must exist)")              \
  X(root, "module.zookeeperdb.root", std::string, "/vlcp", "the store's node under the chroot")             \
  X(auth, "module.zookeeperdb.auth", std::string, "",                                                       \
    "user:password for ZooKeeper digest auth (nodes are then readable by those credentials only)")          \
  X(sessiontimeout, "module.zookeeperdb.sessiontimeout", double, 6.0, "ZooKeeper session timeout, seconds") \
  X(compactafter, "module.zookeeperdb.compactafter", double, 60.0,                                          \
    "deleted keys' nodes are removed once this old, seconds (0: never on their own)")                       \
  X(feed, "module.zookeeperdb.feed", std::string, "watch",                                                  \
    "how a node hears of changes: watch (ZooKeeper watches on what it follows) or log (every commit)")

struct DbSettings {
  bool zookeeper = false;
  EmbeddedOptions embedded;
  ZkOptions zk;
};
Result<DbSettings> read_db_settings(const Config& config);

Result<std::unique_ptr<Store>> open_store(io::ControlLoop& loop, const DbSettings& settings);

}  // namespace vlcp::db
