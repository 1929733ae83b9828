// Subnets and logical ports (VLCP's viperflow): IPv4 pools, addresses allocated from them,
// MAC and IP unique per logical network (ObjectDB unique indices, kept in the same commit).
#include <algorithm>
#include <map>

#include "model/common.h"
#include "model/viperflow.h"

namespace vlcp::model {
namespace {

using namespace detail;

using schema::Kind;
constexpr const char* kSubnetType = type_of(Kind::kSubnet);
constexpr const char* kLogicalPortType = type_of(Kind::kLogicalPort);
constexpr const char* kLogicalNetworkType = type_of(Kind::kLogicalNetwork);

// A host address of the subnet: not its network or broadcast address (a /31 or /32 has none).
Result<uint32_t> ip_in(const Json& v, const Cidr& c, const char* what) {
  auto ip = v.is_string() ? parse_ip(v.get<std::string>()) : std::nullopt;
  if (!ip) return bad(std::string(what) + " " + text(v) + " is not an IPv4 address");
  if (!c.contains(*ip)) return bad(std::string(what) + " " + text(v) + " is outside the subnet");
  if (!c.is_host(*ip))
    return bad(std::string(what) + " " + text(v) + " is the " + (*ip == c.network ? "network" : "broadcast") +
               " address of " + c.text());
  return *ip;
}

}  // namespace

namespace detail {

Result<Pool> pool_of(const Json& subnet) {
  auto cidr = parse_cidr(text(subnet.value("cidr", Json(""))));
  if (!cidr.ok()) return cidr.error();
  Pool p{cidr->first_host(), cidr->last_host(), std::nullopt};
  if (subnet.contains("allocated_start")) p.start = *parse_ip(text(subnet["allocated_start"]));
  if (subnet.contains("allocated_end")) p.end = *parse_ip(text(subnet["allocated_end"]));
  if (subnet.contains("gateway") && !subnet["gateway"].is_null())
    p.gateway = parse_ip(text(subnet["gateway"]));
  return p;
}

// An explicit address for a port: an IPv4 address in the subnet's pool that is not its gateway.
Result<uint32_t> pool_address(const Json& v, const Pool& pool, const std::string& sid) {
  auto want = v.is_string() ? parse_ip(v.get<std::string>()) : std::nullopt;
  if (!want) return bad("ip_address " + text(v) + " is not an IPv4 address");
  if (*want < pool.start || *want > pool.end)
    return bad("ip_address " + ip_text(*want) + " is outside subnet " + sid + "'s allocation range");
  if (pool.gateway && *want == *pool.gateway)
    return bad("ip_address " + ip_text(*want) + " is the gateway of subnet " + sid);
  return *want;
}

}  // namespace detail

namespace {

// Validates and normalises a subnet's addresses: cidr, gateway, allocation range, host routes.
Status check_subnet(Json& value) {
  if (!value.contains("cidr")) return bad("missing parameter cidr");
  auto cidr = parse_cidr(text(value["cidr"]));
  if (!cidr.ok()) return cidr.error();
  value["cidr"] = cidr->text();
  if (value.contains("gateway") && !value["gateway"].is_null()) {
    auto g = ip_in(value["gateway"], *cidr, "gateway");
    if (!g.ok()) return g.error();
    value["gateway"] = ip_text(*g);
  }
  uint32_t start = cidr->first_host(), end = cidr->last_host();
  for (auto [field, into] : {std::pair{"allocated_start", &start}, std::pair{"allocated_end", &end}})
    if (value.contains(field)) {
      auto ip = ip_in(value[field], *cidr, field);
      if (!ip.ok()) return ip.error();
      *into = *ip;
    }
  if (start > end) return bad("allocated_start is after allocated_end");
  value["allocated_start"] = ip_text(start);
  value["allocated_end"] = ip_text(end);
  if (value.contains("host_routes")) {
    if (Status s = check_routes(value["host_routes"], "host_routes"); !s.ok()) return s;
  }
  if (value.contains("isexternal") && !value["isexternal"].is_boolean())
    return bad("isexternal must be a boolean");
  // Per-host configuration of an external subnet's forwarding nodes: which host (systemid,
  // bridge, vhost) uses which local address, in which network, through which gateway.
  if (value.contains("pre_host_config") && !value["pre_host_config"].is_null()) {
    Json& hosts = value["pre_host_config"];
    const char* shape =
        "pre_host_config must be a list of {systemid, bridge, vhost, cidr, local_address, gateway}";
    if (!hosts.is_array()) return bad(shape);
    for (auto& h : hosts) {
      if (!h.is_object()) return bad(shape);
      for (const auto& [k, v] : h.items()) {
        if (k != "systemid" && k != "bridge" && k != "vhost" && k != "cidr" && k != "local_address" &&
            k != "gateway")
          return bad("pre_host_config: unknown field " + k + " (" + shape + ")");
        if (!v.is_string()) return bad("pre_host_config: " + k + " must be a string");
      }
      auto host_cidr = parse_cidr(h.value("cidr", text(value["cidr"])));
      if (!host_cidr.ok()) return host_cidr.error();
      if (h.contains("cidr")) h["cidr"] = host_cidr->text();
      for (const char* f : {"local_address", "gateway"})
        if (h.contains(f)) {
          auto ip = parse_ip(h[f].get<std::string>());
          if (!ip)
            return bad(std::string("pre_host_config: ") + f + " " + h[f].dump() + " is not an IPv4 address");
          if (!host_cidr->contains(*ip))
            return bad(std::string("pre_host_config: ") + f + " " + h[f].dump() + " is outside " +
                       host_cidr->text());
          h[f] = ip_text(*ip);
        }
    }
  }
  return check_dhcp_options(value);
}

const BatchOf kSubnets = batch_of(Kind::kSubnet);
const BatchOf kLogicalPorts = batch_of(Kind::kLogicalPort);

}  // namespace

std::string subnet_key(const std::string& id) {
  return key_of(Kind::kSubnet, id);
}
std::string subnet_map_key(const std::string& id) {
  return map_key(Kind::kSubnet, id);
}
std::string logical_port_key(const std::string& id) {
  return key_of(Kind::kLogicalPort, id);
}

// ---- subnets -----------------------------------------------------------------------------------------

void ViperFlow::create_subnets(Json specs, Done done) {
  auto checked = checked_specs(specs, kSubnets);
  if (!checked.ok()) return done(checked.error());
  std::vector<std::string> keys{kSubnetSet};
  for (auto& spec : specs) {
    auto id = id_param(spec, "id", false);
    if (!id.ok()) return done(id.error());
    spec["id"] = *id;
    auto net = id_param(spec, "logicalnetwork", true);
    if (!net.ok()) return done(net.error());
    if (spec.contains("router")) return done(bad("router is set by adding the subnet to a router"));
    if (Status s = check_subnet(spec); !s.ok()) return done(s);
    keys.insert(keys.end(), {subnet_key(*id), logical_network_key(*net), logical_network_map_key(*net)});
  }
  run(
      db_, keys,
      [specs](Reader& r, Json& out) -> Status {
        const Json* set = r.get(kSubnetSet);
        for (const auto& spec : specs) {
          r.get(subnet_key(text(spec["id"])));
          r.get(logical_network_key(text(spec["logicalnetwork"])));
          r.get(logical_network_map_key(text(spec["logicalnetwork"])));
        }
        if (r.pending) return {};
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        std::map<std::string, Json> maps;
        out = Json::array();
        for (const auto& spec : specs) {
          std::string id = text(spec["id"]), net_id = text(spec["logicalnetwork"]);
          std::string key = subnet_key(id), net_key = logical_network_key(net_id);
          if (r.get(key)) return make_error(Errc::kAlreadyExists, "subnet " + id + " exists");
          const Json* net = r.get(net_key);
          if (!net) return make_error(Errc::kNotFound, "no logical network " + net_id);
          std::string map_key = logical_network_map_key(net_id);
          if (!maps.count(map_key)) {
            const Json* m = r.get(map_key);
            maps[map_key] =
                m ? *m : Json{{"network", net_key}, {"ports", Json::array()}, {"subnets", Json::array()}};
          }
          // Subnets of one network do not overlap (addresses are unique per subnet).
          auto cidr = parse_cidr(text(spec["cidr"]));
          if (!cidr.ok()) return cidr.error();
          if (Status st = check_subnets_apart(r, key, id, *cidr,
                                              maps[map_key]["subnets"].get<std::vector<std::string>>(),
                                              "logical network " + net_id);
              !st.ok())
            return st;
          if (r.pending) continue;
          maps[map_key]["subnets"].push_back(key);
          Json value = spec;
          value.erase("logicalnetwork");
          value["network"] = net_key;
          r.ctx.write(key, value);
          r.ctx.write(subnet_map_key(id),
                      Json{{"subnet", key}, {"routers", Json::array()}, {"routerports", Json::object()}});
          next_set = set_with(&next_set, key, true);
          Json d = dump(key, kSubnetType, value);
          d["network"] = dump(net_key, kLogicalNetworkType, *net);
          out.push_back(d);
        }
        if (r.pending) return {};
        write_batch(r, maps, kSubnetSet, next_set);
        return {};
      },
      std::move(done));
}

void ViperFlow::delete_subnets(Json specs, Done done) {
  auto keys = batch_keys(specs, kSubnets, {kSubnetSet}, subnet_key, subnet_map_key);
  if (!keys.ok()) return done(keys.error());
  run_fenced(
      db_, specs, subnet_key, subnet_ports_index, *keys,
      [specs](Reader& r, const std::vector<std::vector<std::string>>& ports, Json& out) -> Status {
        const Json* set = r.get(kSubnetSet);
        Json next_set = set ? *set : Json{{"set", Json::array()}};
        std::map<std::string, Json> maps;
        for (size_t i = 0; i < specs.size(); ++i) {
          std::string id = text(specs[i]["id"]), key = subnet_key(id);
          const Json* subnet = r.get(key);
          if (r.pending) return {};
          if (!subnet) return make_error(Errc::kNotFound, "no subnet " + id);
          if (subnet->contains("router") && !(*subnet)["router"].is_null())
            return make_error(Errc::kConflict, "subnet " + id + " is attached to a router");
          if (!ports[i].empty())
            return make_error(Errc::kConflict, "subnet " + id + " still has " +
                                                   std::to_string(ports[i].size()) + " logical ports (" +
                                                   ports[i][0] + ", ...)");
          std::string net_key = subnet->value("network", "");
          std::string map_key = map_key_of(net_key);
          const Json* lmap = r.get(map_key);
          if (r.pending) return {};
          if (lmap) {
            if (!maps.count(map_key)) maps[map_key] = *lmap;
            maps[map_key]["subnets"] = list_without(maps[map_key]["subnets"], key);
          }
          r.ctx.write(key, std::nullopt);
          r.ctx.write(subnet_map_key(id), std::nullopt);
          next_set = set_with(&next_set, key, false);
        }
        write_batch(r, maps, kSubnetSet, next_set);
        out = Json{{"status", "OK"}};
        return {};
      },
      std::move(done));
}

void ViperFlow::update_subnets(Json specs, Done done) {
  auto keys = batch_keys(specs, kSubnets, {}, subnet_key, subnet_map_key);
  if (!keys.ok()) return done(keys.error());
  // A new pool must keep every address in use: the subnet is fenced while its ports are read.
  // Other changes (DNS servers, routes, ...) need no fence, and port creates go on meanwhile.
  bool pool_changes = false;
  for (const auto& spec : specs)
    for (const char* f : {"cidr", "allocated_start", "allocated_end", "gateway"})
      pool_changes |= spec.contains(f);
  FencedBody body = [specs](Reader& r, const std::vector<std::vector<std::string>>& ports,
                            Json& out) -> Status {
    out = Json::array();
    for (size_t i = 0; i < specs.size(); ++i) {
      const Json& spec = specs[i];
      std::string id = text(spec["id"]), key = subnet_key(id);
      const Json* subnet = r.get(key);
      const Json* map = r.get(subnet_map_key(id));
      if (r.pending) return {};
      if (!subnet) return make_error(Errc::kNotFound, "no subnet " + id);
      for (const char* fixed : {"logicalnetwork", "network", "isexternal", "router"})
        if (spec.contains(fixed) && (!subnet->contains(fixed) || (*subnet)[fixed] != spec[fixed]))
          return bad(std::string(fixed) + " of subnet " + id + " cannot change here");
      Json value = *subnet;
      for (const auto& [k, v] : spec.items())
        if (k != "id") value[k] = v;
      // A new cidr or range recomputes the defaults, then must keep every allocated address.
      if (spec.contains("cidr") && !spec.contains("allocated_start")) value.erase("allocated_start");
      if (spec.contains("cidr") && !spec.contains("allocated_end")) value.erase("allocated_end");
      if (Status st = check_subnet(value); !st.ok()) return st;
      auto pool = pool_of(value);
      if (!pool.ok()) return pool.error();
      std::vector<std::string> holders = ports[i];
      if (map && map->contains("routerports"))
        for (const auto& [router, port] : (*map)["routerports"].items()) holders.push_back(text(port));
      for (const auto& holder : holders) {
        const Json* h = r.get(holder);
        if (r.pending || !h || !h->contains("ip_address")) continue;
        auto a = parse_ip(text((*h)["ip_address"]));
        if (a && (*a < pool->start || *a > pool->end || (pool->gateway && *a == *pool->gateway)))
          return make_error(Errc::kConflict,
                            ip_text(*a) + " is allocated to " + holder + ": the new pool must keep it");
      }
      if (r.pending) return {};
      r.ctx.write(key, value);
      out.push_back(dump(key, kSubnetType, value));
    }
    // A new cidr keeps the subnet apart from its network's and its routers' other subnets:
    // checked once the whole batch is written, so subnets are compared as they end up.
    for (const auto& spec : specs) {
      if (!spec.contains("cidr")) continue;
      std::string id = text(spec["id"]), key = subnet_key(id);
      const Json* subnet = r.get(key);
      const Json* map = r.get(subnet_map_key(id));
      if (r.pending || !subnet) continue;
      auto cidr = parse_cidr(subnet->value("cidr", ""));
      if (!cidr.ok()) return cidr.error();
      std::string net_key = subnet->value("network", "");
      std::string net_id = db::unescape_key_part(net_key.substr(net_key.rfind('.') + 1));
      const Json* net_map = r.get(logical_network_map_key(net_id));
      if (r.pending) continue;
      if (net_map)
        if (Status st = check_subnets_apart(
                r, key, id, *cidr, net_map->value("subnets", Json::array()).get<std::vector<std::string>>(),
                "logical network " + net_id);
            !st.ok())
          return st;
      if (!map || !map->contains("routerports")) continue;
      for (const auto& [rid, port] : (*map)["routerports"].items()) {
        const Json* router = r.get(router_key(rid));
        if (!router) continue;
        if (Status st =
                check_router_overlap(r, key, id, *cidr, rid, router->value("interfaces", Json::array()));
            !st.ok())
          return st;
      }
    }
    return {};
  };
  if (pool_changes)
    return run_fenced(db_, specs, subnet_key, subnet_ports_index, *keys, body, std::move(done));
  run(
      db_, *keys,
      [body, n = specs.size()](Reader& r, Json& out) {
        return body(r, std::vector<std::vector<std::string>>(n), out);
      },
      std::move(done));
}

// ---- logical ports -----------------------------------------------------------------------------------

// Where new ports' addresses come from on this node: per subnet, a cursor past the highest
// address taken when the subnet was last listed, and what was taken then. Only a hint —
// every address is checked against the address index in the transaction that takes it — so
// nodes never coordinate, and concurrent creates on one node get different candidates and do
// not conflict. A cursor that wraps around the pool asks for the subnet to be listed again.
struct AddressHints {
  struct Hint {
    bool loaded = false, stale = false;
    uint32_t next = 0;
    std::vector<uint32_t> taken;  // sorted
    std::optional<Pool> pool;     // as a transaction last read it (to pick candidates before reading)
  };
  std::map<std::string, Hint> subnets;
  std::map<std::string, std::vector<std::function<void()>>> loading;  // listings under way, and who waits

  bool needs_load(const std::string& subnet) const {
    auto it = subnets.find(subnet);
    return it == subnets.end() || !it->second.loaded || it->second.stale;
  }
  void load(const std::string& subnet, std::vector<uint32_t> taken) {
    std::sort(taken.begin(), taken.end());
    Hint& h = subnets[subnet];
    h = Hint{true, false, taken.empty() ? 0 : taken.back() + 1, std::move(taken), h.pool};
  }
  // A candidate chosen before the transaction reads the subnet (from the pool last seen), so
  // its address index key is read in the transaction's first round.
  std::optional<uint32_t> prefetch(const std::string& subnet) {
    auto it = subnets.find(subnet);
    if (it == subnets.end() || !it->second.loaded || it->second.stale || !it->second.pool)
      return std::nullopt;
    auto c = take(subnet, *it->second.pool, 1);
    if (c.empty()) return std::nullopt;
    return c[0];
  }
  // Up to n candidates from the cursor on, skipping the gateway and what was taken.
  std::vector<uint32_t> take(const std::string& subnet, const Pool& pool, size_t n) {
    Hint& h = subnets[subnet];
    std::vector<uint32_t> out;
    for (uint64_t steps = 0, size = uint64_t{pool.end} - pool.start + 1; out.size() < n && steps < size;
         ++steps) {
      if (h.next < pool.start || h.next > pool.end) {
        if (h.next > pool.end) h.stale = true;  // wrapped: list again next time
        h.next = pool.start;
      }
      uint32_t a = h.next++;
      if ((pool.gateway && a == *pool.gateway) || std::binary_search(h.taken.begin(), h.taken.end(), a))
        continue;
      out.push_back(a);
    }
    if (out.empty()) h.stale = true;
    return out;
  }
};

namespace {

// The indices as schema::kIndices declares them (this file reads and lists them by name).
const db::IndexRule kPortMac = index_rule(Kind::kLogicalPort, "mac");
const db::IndexRule kPortIp = index_rule(Kind::kLogicalPort, "ip");
const db::IndexRule kNetworkPorts = index_rule(Kind::kLogicalPort, "network");
const db::IndexRule kSubnetPorts = index_rule(Kind::kLogicalPort, "subnet");

std::string index_of(const db::IndexRule& rule, Json fields) {
  return *db::ObjectDb::index_key(rule, &fields);
}
std::string ip_index_key(const std::string& subnet_key, uint32_t ip) {
  return index_of(kPortIp, Json{{"subnet", subnet_key}, {"ip_address", ip_text(ip)}});
}
std::string mac_index_key(const std::string& network_key, const std::string& mac) {
  return index_of(kPortMac, Json{{"network", network_key}, {"mac_address", mac}});
}

// The key of `object`'s entry in a multi index keyed by one field.
std::string member_key(const db::IndexRule& rule, const std::string& value, const std::string& object) {
  return index_of(rule, Json{{rule.fields.at(0), value}}) + "." + db::escape_key_part(object);
}

uint64_t pool_size(const Pool& p) {
  uint64_t n = uint64_t{p.end} - p.start + 1;
  return p.gateway && *p.gateway >= p.start && *p.gateway <= p.end ? n - 1 : n;
}

}  // namespace

namespace detail {

Status pick_address(Reader& r, AddressHints& hints, const std::string& skey, const std::string& sid,
                    const Pool& pool, std::vector<uint32_t>& cands, uint64_t& tried,
                    const std::set<uint32_t>& used, std::optional<uint32_t>& ip) {
  hints.subnets[skey].pool = pool;
  // A prefetched candidate from a pool since changed does not count.
  cands.erase(std::remove_if(cands.begin(), cands.end(),
                             [&](uint32_t a) {
                               return a < pool.start || a > pool.end || (pool.gateway && a == *pool.gateway);
                             }),
              cands.end());
  for (;;) {
    if (cands.empty()) cands = hints.take(skey, pool, tried ? 16 : 1);
    if (cands.empty() || tried >= pool_size(pool))
      return make_error(Errc::kConflict, "subnet " + sid + " has no free address");
    bool waiting = false;
    for (uint32_t a : cands) {
      db::Lookup l = r.ctx.get(ip_index_key(skey, a));
      if (!l.fetched) {
        waiting = r.pending = true;
      } else if (!l.value() && !used.count(a)) {
        ip = a;
        return {};
      }
    }
    if (waiting) return {};
    tried += cands.size();
    cands.clear();
  }
}

}  // namespace detail

void declare_indices(db::ObjectDb& db) {
  for (const auto& i : schema::kIndices) db.add_index(index_rule(i.owner, i.name));
  // A kind deleted with its parent has its parent's id: the same key under its own prefix.
  for (const auto& k : schema::kKinds) {
    if (!k.deleted_with_parent) continue;
    const schema::KindInfo& parent = schema::kind(*k.parent);
    db.add_cascade(db::CascadeRule{std::string(parent.class_prefix()),
                                   [from = parent.key_prefix, to = k.key_prefix](const std::string& key) {
                                     return std::vector<std::string>{std::string(to) +
                                                                     key.substr(from.size())};
                                   }});
  }
}

namespace detail {
std::string network_ports_index(const std::string& network_key) {
  return index_of(kNetworkPorts, Json{{"network", network_key}});
}
std::string subnet_ports_index(const std::string& subnet_key) {
  return index_of(kSubnetPorts, Json{{"subnet", subnet_key}});
}
std::string address_index(const std::string& subnet_key, uint32_t ip) {
  return ip_index_key(subnet_key, ip);
}
}  // namespace detail

ViperFlow::ViperFlow(db::ObjectDb& db) : db_(db), hints_(std::make_shared<AddressHints>()) {}

namespace detail {

Status prepare_port(Json& spec, std::vector<std::string>& keys) {
  auto id = id_param(spec, "id", false);
  if (!id.ok()) return id.error();
  spec["id"] = *id;
  auto net = id_param(spec, "logicalnetwork", true);
  if (!net.ok()) return net.error();
  if (Status s = normalise_port_mac(spec, "mac_address"); !s.ok()) return s;
  if (spec.contains("ip_address") && !spec.contains("subnet")) return bad("ip_address needs subnet");
  if (Status s = check_dhcp_options(spec); !s.ok()) return s;
  std::string net_key = logical_network_key(*net), port_key = logical_port_key(*id);
  // Every key the transaction will read, the index entries its write adds included, so that
  // it reads once (an automatic address's candidate joins once the hints are loaded).
  keys.insert(keys.end(),
              {port_key, net_key, fence_key(net_key), member_key(kNetworkPorts, net_key, port_key)});
  if (spec.contains("mac_address")) keys.push_back(mac_index_key(net_key, text(spec["mac_address"])));
  if (spec.contains("subnet")) {
    std::string skey = subnet_key(text(spec["subnet"]));
    keys.insert(keys.end(), {skey, fence_key(skey), member_key(kSubnetPorts, skey, port_key)});
    // An explicit address's index entry too (checked against the pool in the body): without
    // it the transaction took a second read round — a ZooKeeper round trip — per create.
    if (spec.contains("ip_address") && spec["ip_address"].is_string())
      if (auto ip = parse_ip(spec["ip_address"].get<std::string>())) keys.push_back(ip_index_key(skey, *ip));
  }
  return {};
}

Status create_port(Reader& r, AddressHints& hints, const Json& spec, std::vector<uint32_t>& cands,
                   uint64_t& tried, PortBatch& batch, Json& dumped) {
  auto held = [&](const Json* owner) { return owner && !batch.freed.count(text(*owner)); };
  std::string id = text(spec["id"]), net_id = text(spec["logicalnetwork"]);
  std::string key = logical_port_key(id), net_key = logical_network_key(net_id);
  const Json* net = r.get(net_key);
  const Json* existing = r.get(key);
  if (r.pending) return {};
  if (existing && !batch.freed.count(key))
    return make_error(Errc::kAlreadyExists, "logical port " + id + " exists");
  if (!net) return make_error(Errc::kNotFound, "no logical network " + net_id);
  if (Status s = check_fence(r, net_key, "logical network"); !s.ok() || r.pending) return s;
  Json value = spec;
  value.erase("logicalnetwork");
  value["network"] = net_key;
  if (spec.contains("mac_address")) {
    std::string mac = text(spec["mac_address"]), mk = mac_index_key(net_key, mac);
    const Json* owner = r.get(mk);
    if (r.pending) return {};
    if (held(owner) || !batch.used_macs.insert(mk).second)
      return make_error(Errc::kAlreadyExists,
                        "mac_address " + mac + " is in use in logical network " + net_id +
                            (held(owner) ? " by " + text(*owner) : std::string(" by this batch")));
  }
  const Json* subnet = nullptr;
  if (spec.contains("subnet")) {
    std::string sid = text(spec["subnet"]), skey = subnet_key(sid);
    subnet = r.get(skey);
    if (r.pending) return {};
    if (!subnet) return make_error(Errc::kNotFound, "no subnet " + sid);
    if (subnet->value("network", "") != net_key)
      return bad("subnet " + sid + " is not in logical network " + net_id);
    if (Status s = check_fence(r, skey, "subnet"); !s.ok() || r.pending) return s;
    value["subnet"] = skey;
    auto pool = pool_of(*subnet);
    if (!pool.ok()) return pool.error();
    std::set<uint32_t>& used = batch.used_ips[skey];
    std::optional<uint32_t> ip;
    if (spec.contains("ip_address")) {
      auto want = pool_address(spec["ip_address"], *pool, sid);
      if (!want.ok()) return want.error();
      const Json* owner = r.get(ip_index_key(skey, *want));
      if (r.pending) return {};
      if (held(owner) || used.count(*want))
        return make_error(Errc::kConflict, "ip_address " + ip_text(*want) + " is taken in subnet " + sid +
                                               (held(owner) ? " by " + text(*owner) : std::string()));
      ip = *want;
    } else {
      Status s = pick_address(r, hints, skey, sid, *pool, cands, tried, used, ip);
      if (!s.ok()) return s;
      if (!ip) return {};  // its candidates are being read
    }
    used.insert(*ip);
    value["ip_address"] = ip_text(*ip);
  }
  r.ctx.write(key, value);
  dumped = dump(key, kLogicalPortType, value);
  dumped["network"] = dump(net_key, kLogicalNetworkType, *net);
  if (subnet) dumped["subnet"] = dump(value["subnet"], kSubnetType, *subnet);
  return {};
}

std::shared_ptr<AddressHints> make_address_hints() {
  return std::make_shared<AddressHints>();
}

std::optional<uint32_t> prefetch_address(AddressHints& hints, const std::string& subnet_key) {
  return hints.prefetch(subnet_key);
}

bool address_hints_need_load(const AddressHints& hints, const std::string& subnet_key) {
  return hints.needs_load(subnet_key);
}

// Lists the addresses taken in each subnet into this node's hints, then continues (a listing
// that fails leaves the hint as it was: it only costs candidates).
void load_address_hints(db::ObjectDb& db, std::shared_ptr<AddressHints> hints,
                        std::vector<std::string> subnets, std::function<void()> then) {
  if (subnets.empty()) return then();
  std::string skey = subnets.back();
  subnets.pop_back();
  auto rest = [&db, hints, subnets = std::move(subnets), then = std::move(then)]() mutable {
    load_address_hints(db, hints, std::move(subnets), std::move(then));
  };
  // One listing at a time per subnet: creates arriving meanwhile wait for it (a second
  // listing would move the cursor back over candidates already handed out).
  if (auto it = hints->loading.find(skey); it != hints->loading.end())
    return it->second.push_back(std::move(rest));
  if (!hints->needs_load(skey)) return rest();
  hints->loading[skey];
  // The index keys of this subnet's addresses, without the address: "...<subnet part>."
  std::string prefix = index_of(kPortIp, Json{{"subnet", skey}, {"ip_address", ""}});
  db.list(prefix,
          [hints, skey, prefix, rest = std::move(rest)](Result<std::vector<std::string>> keys) mutable {
            if (keys.ok()) {
              std::vector<uint32_t> taken;
              for (const auto& k : *keys)
                if (auto ip = parse_ip(db::unescape_key_part(k.substr(prefix.size())))) taken.push_back(*ip);
              hints->load(skey, std::move(taken));
            }
            auto waiting = std::move(hints->loading[skey]);
            hints->loading.erase(skey);
            rest();
            for (auto& w : waiting) w();
          });
}

}  // namespace detail

void ViperFlow::create_logical_ports(Json specs, Done done) {
  auto checked = checked_specs(specs, kLogicalPorts);
  if (!checked.ok()) return done(checked.error());
  // Ports with explicit addresses first, so the automatic ones do not take them.
  std::vector<Json> ordered;
  for (const auto& s : specs)
    if (s.contains("ip_address")) ordered.push_back(s);
  for (const auto& s : specs)
    if (!s.contains("ip_address")) ordered.push_back(s);
  std::vector<std::string> keys, load;
  for (auto& spec : ordered) {
    if (Status s = prepare_port(spec, keys); !s.ok()) return done(s);
    if (spec.contains("subnet") && !spec.contains("ip_address")) {
      std::string skey = subnet_key(text(spec["subnet"]));
      if (hints_->needs_load(skey) && std::find(load.begin(), load.end(), skey) == load.end())
        load.push_back(skey);
    }
  }
  auto cands = std::make_shared<std::vector<std::vector<uint32_t>>>(ordered.size());
  auto tried = std::make_shared<std::vector<uint64_t>>(ordered.size());
  auto hints = hints_;
  auto create = [&db = db_, ordered, keys, cands, tried, hints, done]() mutable {
    for (size_t i = 0; i < ordered.size(); ++i) {
      const Json& spec = ordered[i];
      if (!spec.contains("subnet") || spec.contains("ip_address")) continue;
      std::string skey = subnet_key(text(spec["subnet"]));
      if (auto c = hints->prefetch(skey)) {
        (*cands)[i] = {*c};
        keys.push_back(ip_index_key(skey, *c));
      }
    }
    run(
        db, keys,
        [ordered, cands, tried, hints](Reader& r, Json& out) -> Status {
          for (const auto& spec : ordered) {
            std::string net_key = logical_network_key(text(spec["logicalnetwork"]));
            r.get(logical_port_key(text(spec["id"])));
            r.get(net_key);
            r.get(fence_key(net_key));
            if (spec.contains("mac_address")) r.get(mac_index_key(net_key, text(spec["mac_address"])));
            if (spec.contains("subnet")) {
              r.get(subnet_key(text(spec["subnet"])));
              r.get(fence_key(subnet_key(text(spec["subnet"]))));
            }
          }
          if (r.pending) return {};
          PortBatch batch;
          out = Json::array();
          for (size_t i = 0; i < ordered.size(); ++i) {
            Json d;
            if (Status s = create_port(r, *hints, ordered[i], (*cands)[i], (*tried)[i], batch, d); !s.ok())
              return s;
            if (!r.pending) out.push_back(std::move(d));
          }
          return {};
        },
        done);
  };
  load_hints(db_, hints_, std::move(load), std::move(create));
}

void ViperFlow::load_hints(db::ObjectDb& db, std::shared_ptr<AddressHints> hints,
                           std::vector<std::string> subnets, std::function<void()> then) {
  load_address_hints(db, std::move(hints), std::move(subnets), std::move(then));
}

void ViperFlow::update_logical_ports(Json specs, Done done) {
  auto keys = batch_keys(specs, kLogicalPorts, {}, logical_port_key, nullptr);
  if (!keys.ok()) return done(keys.error());
  for (auto& spec : specs) {
    if (Status s = normalise_port_mac(spec, "mac_address"); !s.ok()) return done(s);
    if (Status s = check_dhcp_options(spec); !s.ok()) return done(s);
  }
  run(
      db_, *keys,
      [specs](Reader& r, Json& out) -> Status {
        out = Json::array();
        for (const auto& spec : specs) {
          std::string id = text(spec["id"]), key = logical_port_key(id);
          const Json* port = r.get(key);
          if (r.pending) return {};
          if (!port) return make_error(Errc::kNotFound, "no logical port " + id);
          for (const char* fixed : {"logicalnetwork", "network", "subnet"})
            if (spec.contains(fixed))
              return bad(std::string(fixed) + " of logical port " + id + " cannot change");
          Json value = *port;
          for (const auto& [k, v] : spec.items())
            if (k != "id") value[k] = v;
          std::string net_key = port->value("network", "");
          if (spec.contains("mac_address") && (*port).value("mac_address", Json()) != spec["mac_address"]) {
            const Json* owner = r.get(mac_index_key(net_key, text(spec["mac_address"])));
            if (r.pending) return {};
            if (owner)
              return make_error(Errc::kAlreadyExists,
                                "mac_address " + text(spec["mac_address"]) + " is in use by " + text(*owner));
          }
          if (spec.contains("ip_address") &&
              (!port->contains("ip_address") || (*port)["ip_address"] != spec["ip_address"])) {
            if (!port->contains("subnet"))
              return bad("logical port " + id + " has no subnet to take an address from");
            std::string skey = text((*port)["subnet"]);
            const Json* subnet = r.get(skey);
            if (r.pending) return {};
            if (!subnet) return make_error(Errc::kInternal, "logical port " + id + " lost its subnet");
            if (Status s = check_fence(r, skey, "subnet"); !s.ok() || r.pending) return s;
            auto pool = pool_of(*subnet);
            if (!pool.ok()) return pool.error();
            auto want = pool_address(spec["ip_address"], *pool, text(subnet->value("id", Json(skey))));
            if (!want.ok()) return want.error();
            const Json* owner = r.get(ip_index_key(skey, *want));
            if (r.pending) return {};
            if (owner)
              return make_error(Errc::kConflict,
                                "ip_address " + ip_text(*want) + " is taken by " + text(*owner));
            value["ip_address"] = ip_text(*want);
          }
          r.ctx.write(key, value);
          out.push_back(dump(key, kLogicalPortType, value));
        }
        return {};
      },
      std::move(done));
}

void ViperFlow::delete_logical_ports(Json specs, Done done) {
  auto keys = batch_keys(specs, kLogicalPorts, {}, logical_port_key, nullptr);
  if (!keys.ok()) return done(keys.error());
  run(
      db_, *keys,
      [specs](Reader& r, Json& out) -> Status {
        for (const auto& spec : specs) {
          std::string id = text(spec["id"]), key = logical_port_key(id);
          const Json* port = r.get(key);
          if (r.pending) return {};
          if (!port) return make_error(Errc::kNotFound, "no logical port " + id);
          r.ctx.write(key, std::nullopt);  // the indices free its MAC and address
        }
        out = Json{{"status", "OK"}};
        return {};
      },
      std::move(done));
}

void ViperFlow::list_subnets(Json filters, Done done) {
  list_set(Kind::kSubnet, std::move(filters), std::move(done));
}
void ViperFlow::list_logical_ports(Json filters, Done done) {
  // A MAC filter in any spelling finds the port (MACs are stored lower case).
  if (filters.is_object() && filters.contains("mac_address") && filters["mac_address"].is_string())
    if (auto mac = parse_mac(filters["mac_address"].get<std::string>()))
      filters["mac_address"] = mac_text(*mac);
  list_set(Kind::kLogicalPort, std::move(filters), std::move(done));
}

// The objects of a kind (or the one named by id) that match the filters, dumped; the parent
// reference (if any) filtered by the parent's id and nested, as VLCP nests strong references.
// Members come from VLCP's set object, or for kinds without one from the keys under the kind's
// prefix (or the parent's multi index, when filtered by parent). All from the kind's declaration.
void ViperFlow::list_set(Kind kind, Json filters, Done done, std::optional<std::string> only) {
  const schema::KindInfo& of = schema::kind(kind);
  if (!filters.is_object()) return done(bad("filters must be an object"));
  // (a kind named by another field than "id", such as physical ports, looks itself up)
  if (!only && of.id_field == "id" && filters.contains("id")) only = key_of(kind, text(filters["id"]));
  std::string parent_field(of.parent_field), parent_param(of.parent_param);
  if (of.parent && !parent_param.empty() && filters.contains(parent_param)) {
    Json parent = key_of(*of.parent, text(filters[parent_param]));
    filters.erase(parent_param);
    filters[parent_field] = parent;
  }
  if (only) return walk_members(db_, kind, std::move(filters), {*only}, false, std::move(done));
  if (!of.set_key.empty())
    return walk_members(db_, kind, std::move(filters), {std::string(of.set_key)}, true, std::move(done));
  auto then = [&db = db_, kind, filters, done](Result<std::vector<std::string>> keys) mutable {
    if (!keys.ok()) return done(keys.error());
    walk_members(db, kind, std::move(filters), std::move(*keys), false, std::move(done));
  };
  if (const schema::IndexInfo* by_parent = schema::parent_index(kind);
      by_parent && filters.contains(parent_field))
    return db_.members(
        index_of(index_rule(kind, by_parent->name), Json{{parent_field, filters[parent_field]}}), then);
  db_.list(std::string(of.key_prefix), then);
}

void ViperFlow::walk_members(db::ObjectDb& db, Kind kind, Json filters, std::vector<std::string> keys,
                             bool is_set, Done done) {
  auto result = std::make_shared<Json>();
  db.walk(
      keys,
      [keys, is_set, filters, kind, result](db::WalkContext& ctx) {
        const schema::KindInfo& of = schema::kind(kind);
        const char* parent_field = of.parent ? of.parent_field.data() : nullptr;
        std::vector<std::string> members;
        if (is_set) {
          db::Lookup s = ctx.get(keys[0]);
          if (!s.fetched) return;
          if (s.value())
            for (const auto& m : s.value()->value("set", Json::array())) members.push_back(text(m));
        } else {
          members = keys;
        }
        *result = Json::array();
        for (const auto& key : members) {
          db::Lookup l = ctx.get(key);
          if (!l.fetched || !l.value()) continue;
          // Filters see the object as it is shown: "_key" and "_type" are the real ones.
          Json d = dump(key, type_of(kind), *l.value());
          if (!matches(d, filters, {"id"})) continue;
          if (parent_field && l.value()->contains(parent_field)) {
            std::string parent = text((*l.value())[parent_field]);
            db::Lookup p = ctx.get(parent);
            if (!p.fetched) continue;
            d[parent_field] =
                p.value() ? dump(parent, type_of(*of.parent), *p.value()) : Json{{"_ref", parent}};
          }
          result->push_back(d);
        }
      },
      [done = std::move(done), result](Result<db::WalkResult> r) {
        if (!r.ok()) return done(r.error());
        done(*result);
      });
}

}  // namespace vlcp::model
