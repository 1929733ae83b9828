// Containers on VLCP networks, the model side: IPAM pools and reservations, Docker network
// mappings, endpoint ports with their infos (model/containers.h).
#include "model/containers.h"
#include "schema/container_ids.h"

#include <algorithm>

#include "model/common.h"

namespace vlcp::model {
namespace {

using namespace detail;
using schema::Kind;

constexpr int64_t kNoExpiry = 0;

// A plain address or "address/prefix" (Docker sends both forms).
std::string bare_ip(const std::string& s) {
  return s.substr(0, s.find('/'));
}

int64_t int_field(const Json& v, const char* f, int64_t dflt = kNoExpiry) {
  auto it = v.find(f);
  return it != v.end() && it->is_number_integer() ? it->get<int64_t>() : dflt;
}
std::string str_field(const Json& v, const char* f) {
  auto it = v.find(f);
  return it != v.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Whether an object a node wrote with `expires` may go now: its node reaps it at expiry, any
// node grace_us later (its node may be gone).
bool expired(const Json& v, const std::string& systemid, int64_t now, int64_t grace_us) {
  int64_t exp = int_field(v, "expires");
  return str_field(v, "systemid") == systemid ? exp <= now : exp + grace_us <= now;
}

db::IndexRule mac_rule() {
  static const db::IndexRule rule = index_rule(Kind::kLogicalPort, "mac");
  return rule;
}
std::string mac_index(const std::string& net_key, const std::string& mac) {
  Json v{{"network", net_key}, {"mac_address", mac}};
  return *db::ObjectDb::index_key(mac_rule(), &v);
}
std::string lognet_index(const std::string& lognet_key) {
  static const db::IndexRule rule = index_rule(Kind::kDockerNetwork, "lognet");
  Json v{{"lognet", lognet_key}};
  return *db::ObjectDb::index_key(rule, &v);
}

uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

std::optional<uint64_t> mac48(const std::string& s) {
  auto m = parse_mac(s);
  if (!m) return std::nullopt;
  uint64_t v = 0;
  for (uint8_t b : *m) v = v << 8 | b;
  return v;
}
std::string mac_of(uint64_t v) {
  Mac m;
  for (int i = 5; i >= 0; --i, v >>= 8) m[i] = static_cast<uint8_t>(v & 0xff);
  m[0] &= 0xfe;  // unicast, whatever the template
  return mac_text(m);
}

}  // namespace

// ---- ids and keys --------------------------------------------------------------------------------------

std::string docker_lognet_id(const std::string& network_id) {
  return schema::docker_lognet_id(network_id);
}
std::string docker_subnet_id(const std::string& network_id) {
  return schema::docker_subnet_id(network_id);
}
std::string docker_port_id(const std::string& endpoint_id) {
  return schema::docker_port_id(endpoint_id);
}
std::string cni_port_id(const std::string& container_id, const std::string& ifname) {
  return schema::cni_port_id(container_id, ifname);
}
std::string new_pool_id() {
  return "vlcp-" + new_id();
}

std::string docker_pool_key(const std::string& pool_id) {
  return key_of(Kind::kDockerPool, pool_id);
}
std::string docker_reservation_key(const std::string& pool_id, const std::string& ip) {
  return key_of(Kind::kDockerReservation, pool_id) + "." + db::escape_key_part(bare_ip(ip));
}
std::string docker_network_key(const std::string& network_id) {
  return key_of(Kind::kDockerNetwork, network_id);
}
std::string docker_info_key(const std::string& port_id) {
  return key_of(Kind::kDockerInfo, port_id);
}
std::string cni_info_key(const std::string& port_id) {
  return key_of(Kind::kCniInfo, port_id);
}

std::optional<std::string> docker_mac(const std::string& mac_template, const std::string& subnet_id,
                                      const std::string& ip) {
  auto t = mac48(mac_template);
  auto a = parse_ip(bare_ip(ip));
  if (!t || !a) return std::nullopt;
  return mac_of(*t ^ (uint64_t{fnv1a(subnet_id)} << 8) ^ *a);
}
std::optional<std::string> random_mac(const std::string& mac_template, uint32_t random24) {
  auto t = mac48(mac_template);
  if (!t) return std::nullopt;
  return mac_of(*t ^ (random24 & 0xffffff));
}

Containers::Containers(db::ObjectDb& db)
    : db_(db),
      vf_(db),
      hints_(make_address_hints()),
      pool_subnets_(std::make_shared<std::map<std::string, std::string>>()),
      networks_(std::make_shared<std::map<std::string, std::array<std::string, 3>>>()) {}

// ---- pools ---------------------------------------------------------------------------------------------

void Containers::request_pool(PoolRequest req, std::function<void(Result<PoolGrant>)> done) {
  if (req.v6) return done(bad("IPv6 pools are not supported (IPv4 only)"));
  std::optional<Cidr> want, sub;
  if (!req.cidr.empty()) {
    if (req.cidr.find(':') != std::string::npos)
      return done(bad("IPv6 pool " + req.cidr + " is not supported"));
    auto c = parse_cidr(req.cidr);
    if (!c.ok()) return done(c.error());
    want = *c;
  }
  auto range = parse_cidr(req.range);
  if (!range.ok()) return done(range.error());
  if (!want && range->prefix > 24) return done(bad("cidrrange " + req.range + " has no /24 in it"));
  if (!req.subpool.empty()) {
    auto s = parse_cidr(req.subpool);
    if (!s.ok()) return done(s.error());
    sub = *s;
  }
  std::string id = new_pool_id(), key = docker_pool_key(id);
  auto write = [&db = db_, req, want, sub, id, key, range = *range, done](std::vector<std::string> pools) {
    std::vector<std::string> keys = pools;
    keys.push_back(key);
    auto grant = std::make_shared<PoolGrant>();
    run(
        db, keys,
        [req, want, sub, id, key, range, pools, grant](Reader& r, Json&) -> Status {
          std::optional<Cidr> cidr = want;
          if (!cidr) {  // the first /24 of the range that no pool uses
            std::vector<Cidr> used;
            for (const auto& k : pools)
              if (const Json* p = r.get(k))
                if (auto c = parse_cidr(str_field(*p, "cidr")); c.ok()) used.push_back(*c);
            if (r.pending) return {};
            for (uint64_t n = range.network; n + 255 <= range.broadcast() && !cidr; n += 256) {
              Cidr c{static_cast<uint32_t>(n), 24};
              if (std::none_of(used.begin(), used.end(), [&](const Cidr& u) { return u.overlaps(c); }))
                cidr = c;
            }
            if (!cidr) return make_error(Errc::kConflict, "no free /24 left in " + range.text());
          }
          if (sub && (!cidr->contains(sub->network) || sub->prefix < cidr->prefix))
            return bad("subpool " + sub->text() + " is outside pool " + cidr->text());
          if (r.get(key)) return make_error(Errc::kAlreadyExists, "IPAM pool " + id + " exists");
          if (r.pending) return {};
          r.ctx.write(key, Json{{"id", id},
                                {"cidr", cidr->text()},
                                {"subpool", sub ? Json(sub->text()) : Json()},
                                {"gateway", Json()},
                                {"systemid", req.systemid},
                                {"expires", r.ctx.timestamp_us() + req.timeout_us},
                                {"network", Json()},
                                {"subnet", Json()}});
          *grant = PoolGrant{id, cidr->text()};
          return {};
        },
        [grant, done](Result<Json> r) {
          if (!r.ok()) return done(r.error());
          done(*grant);
        });
  };
  if (want) return write({});
  db_.list(
      std::string(schema::kind(Kind::kDockerPool).key_prefix),
      [write](Result<std::vector<std::string>> keys) {
        write(keys.ok() ? *keys : std::vector<std::string>{});  // a failed listing: the store answers next
      });
}

void Containers::release_pool(const std::string& pool_id, Done done) {
  std::string key = docker_pool_key(pool_id);
  run(
      db_, {key},
      [key](Reader& r, Json& out) -> Status {
        const Json* p = r.get(key);
        if (r.pending) return {};
        out = Json{{"deleted", false}};
        if (!p) return {};
        if (str_field(*p, "network").empty()) {
          r.ctx.write(key, std::nullopt);
          out["deleted"] = true;
        } else {
          Json v = *p;
          v["released"] = true;
          r.ctx.write(key, v);
        }
        return {};
      },
      std::move(done));
}

// ---- addresses -----------------------------------------------------------------------------------------

void Containers::request_address(AddressRequest req, std::function<void(Result<AddressGrant>)> done) {
  if (!req.ip.empty()) {
    auto ip = parse_ip(bare_ip(req.ip));
    if (!ip) return done(bad("address " + req.ip + " is not an IPv4 address"));
    req.ip = ip_text(*ip);
  }
  std::string pkey = docker_pool_key(req.pool_id);
  if (auto it = pool_subnets_->find(req.pool_id); it != pool_subnets_->end())
    return request_bound(std::move(req), it->second, std::move(done));
  // Unknown here: the pool says whether it is bound (then the reservation is the subnet's).
  auto grant = std::make_shared<AddressGrant>();
  auto bound = std::make_shared<std::string>();
  run(
      db_, {pkey},
      [req, pkey, grant, bound](Reader& r, Json&) -> Status {
        const Json* p = r.get(pkey);
        if (r.pending) return {};
        if (!p) return make_error(Errc::kNotFound, "no IPAM pool " + req.pool_id);
        *bound = str_field(*p, "subnet");
        if (!bound->empty()) return {};
        auto cidr = parse_cidr(str_field(*p, "cidr"));
        if (!cidr.ok())
          return make_error(Errc::kInternal, "IPAM pool " + req.pool_id + ": " + cidr.error().message());
        if (!req.gateway)
          return bad("IPAM pool " + req.pool_id + " has no network yet: only its gateway can be requested");
        uint32_t gw = cidr->first_host();
        if (!req.ip.empty()) {
          gw = *parse_ip(req.ip);
          if (!cidr->is_host(gw))
            return bad("gateway " + req.ip + " is not a host address of " + cidr->text());
        }
        Json v = *p;
        v["gateway"] = ip_text(gw);
        r.ctx.write(pkey, v);
        *grant = AddressGrant{ip_text(gw), cidr->prefix};
        return {};
      },
      [this, req, grant, bound, done](Result<Json> r) mutable {
        if (!r.ok()) return done(r.error());
        if (bound->empty()) return done(*grant);
        (*pool_subnets_)[req.pool_id] = *bound;
        request_bound(std::move(req), *bound, std::move(done));
      });
}

void Containers::request_bound(AddressRequest req, std::string skey,
                               std::function<void(Result<AddressGrant>)> done) {
  std::string pkey = docker_pool_key(req.pool_id);
  std::vector<std::string> keys{pkey, skey};
  if (!req.ip.empty())
    keys.insert(keys.end(),
                {docker_reservation_key(req.pool_id, req.ip), address_index(skey, *parse_ip(req.ip))});
  auto grant = std::make_shared<AddressGrant>();
  auto cands = std::make_shared<std::vector<uint32_t>>();
  auto tried = std::make_shared<uint64_t>(0);
  auto hints = hints_;
  auto take = [&db = db_, req, skey, pkey, keys, grant, cands, tried, hints, done]() mutable {
    if (req.ip.empty() && !req.gateway)
      if (auto c = prefetch_address(*hints, skey)) {
        cands->push_back(*c);
        keys.push_back(address_index(skey, *c));
      }
    run(
        db, keys,
        [req, skey, pkey, grant, cands, tried, hints](Reader& r, Json&) -> Status {
          const Json* p = r.get(pkey);
          const Json* subnet = r.get(skey);
          if (r.pending) return {};
          if (!p) return make_error(Errc::kNotFound, "no IPAM pool " + req.pool_id);
          std::string sid = subnet ? str_field(*subnet, "id") : std::string();
          if (!subnet) return make_error(Errc::kNotFound, "IPAM pool " + req.pool_id + " lost its subnet");
          auto cidr = parse_cidr(str_field(*subnet, "cidr"));
          auto pool = pool_of(*subnet);
          if (!cidr.ok() || !pool.ok())
            return make_error(Errc::kInternal, "subnet " + sid + " has no valid cidr");
          if (req.gateway) {  // the network exists: its gateway is the subnet's
            std::string gw = str_field(*subnet, "gateway");
            if (gw.empty() || (!req.ip.empty() && req.ip != gw))
              return bad("gateway " + req.ip + " is not subnet " + sid + "'s gateway");
            *grant = AddressGrant{gw, cidr->prefix};
            return {};
          }
          std::optional<uint32_t> ip;
          if (!req.ip.empty()) {
            auto want = pool_address(Json(req.ip), *pool, sid);
            if (!want.ok()) return want.error();
            const Json* owner = r.get(address_index(skey, *want));
            if (r.pending) return {};
            if (owner)
              return make_error(Errc::kConflict, "address " + req.ip + " is in use by " + text(*owner));
            ip = *want;
          } else {
            Status s = pick_address(r, *hints, skey, sid, *pool, *cands, *tried, {}, ip);
            if (!s.ok() || !ip) return s;
          }
          std::string rkey = docker_reservation_key(req.pool_id, ip_text(*ip));
          r.ctx.write(rkey, Json{{"pool", req.pool_id},
                                 {"subnet", skey},
                                 {"ip_address", ip_text(*ip)},
                                 {"systemid", req.systemid},
                                 {"expires", r.ctx.timestamp_us() + req.timeout_us}});
          *grant = AddressGrant{ip_text(*ip), cidr->prefix};
          return {};
        },
        [grant, done](Result<Json> r) {
          if (!r.ok()) return done(r.error());
          done(*grant);
        });
  };
  if (req.ip.empty() && !req.gateway && address_hints_need_load(*hints_, skey))
    return load_address_hints(db_, hints_, {skey}, std::move(take));
  take();
}

void Containers::release_address(const std::string& pool_id, const std::string& ip, Done done) {
  std::string pkey = docker_pool_key(pool_id), a = bare_ip(ip), rkey = docker_reservation_key(pool_id, a);
  run(
      db_, {pkey, rkey},
      [pkey, rkey, a](Reader& r, Json& out) -> Status {
        const Json* p = r.get(pkey);
        const Json* res = r.get(rkey);
        if (r.pending) return {};
        out = Json{{"released", false}};
        if (res) {
          r.ctx.write(rkey, std::nullopt);  // the index frees the address
          out["released"] = true;
        } else if (p && str_field(*p, "gateway") == a && str_field(*p, "network").empty()) {
          Json v = *p;
          v["gateway"] = Json();
          r.ctx.write(pkey, v);
          out["released"] = true;
        }
        return {};
      },
      std::move(done));
}

namespace {

// Reaps `keys` (reservations, then pools from `first_pool` on) in transactions of a few keys each,
// so that one consumed or released meanwhile retries only its own few; counts into `out`.
constexpr size_t kReapChunk = 32;
void reap_from(db::ObjectDb& db, std::shared_ptr<const std::vector<std::string>> keys, size_t first_pool,
               size_t at, std::string systemid, int64_t grace_us, std::shared_ptr<Json> out, Done done) {
  if (at >= keys->size()) return done(*out);
  size_t end = std::min(keys->size(), at + kReapChunk);
  std::vector<std::string> chunk(keys->begin() + at, keys->begin() + end);
  auto counts = std::make_shared<std::pair<int, int>>();
  run(
      db, chunk,
      [chunk, at, first_pool, systemid, grace_us, counts](Reader& r, Json&) -> Status {
        int64_t now = r.ctx.timestamp_us();
        *counts = {0, 0};
        for (size_t i = 0; i < chunk.size(); ++i) {
          const Json* v = r.get(chunk[i]);
          if (!v || r.pending) continue;
          if (at + i < first_pool) {
            if (!expired(*v, systemid, now, grace_us)) continue;
            ++counts->first;
          } else {
            if (!str_field(*v, "network").empty()) continue;  // bound: goes with its network
            if (!v->value("released", false) && !expired(*v, systemid, now, grace_us)) continue;
            ++counts->second;
          }
          r.ctx.write(chunk[i], std::nullopt);  // (a reservation's index entry goes with it)
        }
        return {};
      },
      [&db, keys, first_pool, end, systemid, grace_us, out, counts, done](Result<Json> r) {
        if (!r.ok()) return done(r.error());
        (*out)["reservations"] = (*out)["reservations"].get<int>() + counts->first;
        (*out)["pools"] = (*out)["pools"].get<int>() + counts->second;
        reap_from(db, keys, first_pool, end, systemid, grace_us, out, done);
      });
}

}  // namespace

void Containers::reap(const std::string& systemid, int64_t grace_us, Done done) {
  std::string rprefix(schema::kind(Kind::kDockerReservation).key_prefix);
  std::string pprefix(schema::kind(Kind::kDockerPool).key_prefix);
  auto& db = db_;
  db_.list(rprefix, [&db, systemid, grace_us, pprefix, done](Result<std::vector<std::string>> reservations) {
    if (!reservations.ok()) return done(reservations.error());
    db.list(pprefix, [&db, systemid, grace_us, reservations = *reservations,
                      done](Result<std::vector<std::string>> pools) {
      if (!pools.ok()) return done(pools.error());
      auto keys = std::make_shared<std::vector<std::string>>(reservations);
      keys->insert(keys->end(), pools->begin(), pools->end());
      reap_from(db, keys, reservations.size(), 0, systemid, grace_us,
                std::make_shared<Json>(Json{{"reservations", 0}, {"pools", 0}}), done);
    });
  });
}

// ---- networks ------------------------------------------------------------------------------------------

void Containers::create_network(NetworkRequest req, Done done) {
  if (req.network_id.empty()) return done(bad("missing NetworkID"));
  if (!req.gateway.empty()) {
    if (!parse_ip(bare_ip(req.gateway)))
      return done(bad("gateway " + req.gateway + " is not an IPv4 address"));
    req.gateway = bare_ip(req.gateway);
  }
  bool attach = !req.attach_lognet.empty();
  if (!attach && !req.attach_subnet.empty()) return done(bad("subnet needs logicalnetwork"));
  if (!req.network.is_object() || !req.subnet.is_object())
    return done(bad("network and subnet parameters must be objects"));
  std::string lognet_id = attach ? req.attach_lognet : docker_lognet_id(req.network_id);
  std::string mkey = docker_network_key(req.network_id), pkey = docker_pool_key(req.pool_id);
  std::vector<std::string> keys{mkey, pkey, logical_network_key(lognet_id)};
  if (attach) keys.push_back(logical_network_map_key(lognet_id));
  if (!req.attach_subnet.empty()) keys.push_back(subnet_key(req.attach_subnet));
  // The record first: {created_lognet: true, state: creating} before anything it names exists.
  run(
      db_, keys,
      [req, attach, lognet_id, mkey, pkey](Reader& r, Json& out) -> Status {
        const Json* m = r.get(mkey);
        const Json* p = r.get(pkey);
        const Json* net = r.get(logical_network_key(lognet_id));
        if (r.pending) return {};
        if (m) return make_error(Errc::kAlreadyExists, "Docker network " + req.network_id + " exists");
        if (!p) return make_error(Errc::kNotFound, "no IPAM pool " + req.pool_id);
        if (!str_field(*p, "network").empty())
          return make_error(Errc::kConflict, "IPAM pool " + req.pool_id + " belongs to Docker network " +
                                                 str_field(*p, "network"));
        std::string gateway = req.gateway.empty() ? str_field(*p, "gateway") : req.gateway;
        std::string sid = docker_subnet_id(req.network_id);
        if (attach) {
          if (!net) return make_error(Errc::kNotFound, "no logical network " + lognet_id);
          sid = req.attach_subnet;
          if (sid.empty()) {
            const Json* map = r.get(logical_network_map_key(lognet_id));
            if (r.pending) return {};
            Json subnets = map ? map->value("subnets", Json::array()) : Json::array();
            if (subnets.size() != 1)
              return bad("logical network " + lognet_id + " has " + std::to_string(subnets.size()) +
                         " subnets: name one with subnet=<id>");
            const Json* s = r.get(text(subnets[0]));
            if (r.pending) return {};
            if (!s) return make_error(Errc::kNotFound, "subnet " + text(subnets[0]) + " is gone");
            sid = str_field(*s, "id");
          }
          const Json* subnet = r.get(subnet_key(sid));
          if (r.pending) return {};
          if (!subnet) return make_error(Errc::kNotFound, "no subnet " + sid);
          if (str_field(*subnet, "network") != logical_network_key(lognet_id))
            return bad("subnet " + sid + " is not in logical network " + lognet_id);
          if (str_field(*subnet, "cidr") != str_field(*p, "cidr"))
            return make_error(Errc::kConflict, "pool " + str_field(*p, "cidr") + " differs from subnet " +
                                                   sid + "'s cidr " + str_field(*subnet, "cidr"));
          if (!gateway.empty() && gateway != str_field(*subnet, "gateway"))
            return make_error(Errc::kConflict,
                              "gateway " + gateway + " differs from subnet " + sid + "'s gateway " +
                                  (str_field(*subnet, "gateway").empty() ? std::string("(none)")
                                                                         : str_field(*subnet, "gateway")));
        } else if (net) {
          return make_error(Errc::kAlreadyExists, "logical network " + lognet_id + " exists");
        }
        out = Json{{"id", req.network_id},
                   {"lognet", logical_network_key(lognet_id)},
                   {"subnet", subnet_key(sid)},
                   {"lognet_id", lognet_id},
                   {"subnet_id", sid},
                   {"pool", req.pool_id},
                   {"gateway", gateway.empty() ? Json() : Json(gateway)},
                   {"systemid", req.systemid},
                   {"created_lognet", !attach},
                   {"created", r.ctx.timestamp_us()},
                   {"state", attach ? "ready" : "creating"}};
        r.ctx.write(mkey, out);
        Json pool = *p;
        pool["network"] = req.network_id;
        pool["subnet"] = subnet_key(sid);
        r.ctx.write(pkey, pool);
        return {};
      },
      [this, req, attach, done](Result<Json> r) mutable {
        if (!r.ok() || attach) return done(std::move(r));
        create_logical(std::move(req), std::move(*r), std::move(done));
      });
}

// The logical network and subnet of a created mapping, then the mapping ready; each step's
// failure undoes the steps before it (best effort: what stays is named by the mapping record).
void Containers::create_logical(NetworkRequest req, Json mapping, Done done) {
  std::string lognet_id = str_field(mapping, "lognet_id"), sid = str_field(mapping, "subnet_id");
  std::string mkey = docker_network_key(req.network_id), pkey = docker_pool_key(req.pool_id);
  auto& db = db_;
  auto& vf = vf_;
  // Undo: the record and the pool's binding (then the answer is the step's error).
  auto unbind = [&db, mkey, pkey, done](Status why) {
    run(
        db, {mkey, pkey},
        [mkey, pkey](Reader& r, Json&) -> Status {
          const Json* p = r.get(pkey);
          r.get(mkey);
          if (r.pending) return {};
          r.ctx.write(mkey, std::nullopt);
          if (p) {
            Json v = *p;
            v["network"] = Json();
            v["subnet"] = Json();
            r.ctx.write(pkey, v);
          }
          return {};
        },
        [done, why](Result<Json>) { done(why); });
  };
  Json net = req.network;
  net["id"] = lognet_id;
  vf_.create_logical_networks(Json::array({net}), [&db, &vf, req, mapping, lognet_id, sid, mkey, pkey, unbind,
                                                   done](Result<Json> created) mutable {
    // (an unknown physical network is refused input here, not a lost object: 422 for Docker)
    if (!created.ok())
      return unbind(created.error().code() == Errc::kNotFound ? bad(created.error().message())
                                                              : created.error());
    // The subnet: the pool's CIDR, the gateway, the subpool as the allocation range.
    auto subnet_of = [req, mapping, lognet_id, sid](const Json* pool) -> Json {
      Json s = req.subnet;
      s["id"] = sid;
      s["logicalnetwork"] = lognet_id;
      s["docker_ipam_poolid"] = req.pool_id;
      if (pool) {
        s["cidr"] = pool->value("cidr", Json());
        std::string sub = str_field(*pool, "subpool");
        if (auto c = parse_cidr(sub); !sub.empty() && c.ok()) {
          if (!s.contains("allocated_start")) s["allocated_start"] = ip_text(c->first_host());
          if (!s.contains("allocated_end")) s["allocated_end"] = ip_text(c->last_host());
        }
      }
      if (!mapping["gateway"].is_null() && !s.contains("gateway")) s["gateway"] = mapping["gateway"];
      return s;
    };
    db.get({pkey}, [&db, &vf, mapping, lognet_id, mkey, pkey, unbind, done,
                    subnet_of](Result<std::map<std::string, db::Record>> got) mutable {
      auto drop_net = [&vf, lognet_id, unbind](Status why) {
        vf.delete_logical_networks(Json::array({Json{{"id", lognet_id}}}),
                                   [unbind, why](Result<Json>) { unbind(why); });
      };
      if (!got.ok()) return drop_net(got.error());
      auto it = got->find(pkey);
      const Json* pool = it != got->end() && it->second.value ? &*it->second.value : nullptr;
      if (!pool)
        return drop_net(make_error(Errc::kNotFound, "the IPAM pool went while its network was created"));
      vf.create_subnets(Json::array({subnet_of(pool)}), [&db, &vf, mapping, mkey, drop_net,
                                                         done](Result<Json> subnet) mutable {
        if (!subnet.ok()) return drop_net(subnet.error());
        std::string sid = str_field(mapping, "subnet_id");
        auto ready = std::make_shared<Json>();
        run(
            db, {mkey},
            [mkey, ready](Reader& r, Json&) -> Status {
              const Json* m = r.get(mkey);
              if (r.pending) return {};
              if (!m) return make_error(Errc::kNotFound, "the network's record went while it was created");
              *ready = *m;
              (*ready)["state"] = "ready";
              r.ctx.write(mkey, *ready);
              return {};
            },
            [&vf, sid, drop_net, ready, done](Result<Json> r) mutable {
              if (r.ok()) return done(*ready);
              vf.delete_subnets(Json::array({Json{{"id", sid}}}),
                                [drop_net, why = r.error()](Result<Json>) { drop_net(why); });
            });
      });
    });
  });
}

void Containers::get_network(const std::string& network_id, Done done) {
  std::string key = docker_network_key(network_id);
  db_.get({key}, [key, done](Result<std::map<std::string, db::Record>> r) {
    if (!r.ok()) return done(r.error());
    auto it = r->find(key);
    done(it != r->end() && it->second.value ? *it->second.value : Json());
  });
}

void Containers::networks_of(const std::string& lognet_id,
                             std::function<void(Result<std::vector<std::string>>)> done) {
  db_.members(lognet_index(logical_network_key(lognet_id)), [done](Result<std::vector<std::string>> keys) {
    if (!keys.ok()) return done(keys.error());
    std::vector<std::string> out;
    std::string prefix(schema::kind(Kind::kDockerNetwork).key_prefix);
    for (const auto& k : *keys)
      if (k.rfind(prefix, 0) == 0) out.push_back(db::unescape_key_part(k.substr(prefix.size())));
    done(out);
  });
}

void Containers::delete_network(const std::string& network_id, Done done) {
  std::string mkey = docker_network_key(network_id);
  auto& db = db_;
  auto& vf = vf_;
  get_network(network_id, [this, &db, &vf, network_id, mkey, done](Result<Json> m) {
    if (!m.ok()) return done(m.error());
    if (m->is_null()) return done(Json{{"deleted", false}});
    Json mapping = *m;
    std::string pool = str_field(mapping, "pool");
    // The last step: the record, its pool and the pool's reservations, in one commit.
    auto finish = [&db, mkey, pool, done](std::string kept) {
      std::string rprefix = docker_reservation_key(pool, "x");
      rprefix.pop_back();  // "...ipamreserve.<pool>."
      db.list(rprefix, [&db, mkey, pool, kept, done](Result<std::vector<std::string>> reservations) {
        if (!reservations.ok()) return done(reservations.error());
        std::vector<std::string> keys = *reservations;
        keys.insert(keys.end(), {mkey, docker_pool_key(pool)});
        run(
            db, keys,
            [keys](Reader& r, Json&) -> Status {
              for (const auto& k : keys)
                if (r.get(k)) r.ctx.write(k, std::nullopt);
              return {};
            },
            [kept, done](Result<Json> r) {
              if (!r.ok()) return done(r.error());
              Json out{{"deleted", true}};
              if (!kept.empty()) out["kept"] = kept;
              done(out);
            });
      });
    };
    std::string lognet_id = str_field(mapping, "lognet_id"), sid = str_field(mapping, "subnet_id");
    if (!mapping.value("created_lognet", false)) return finish("");
    networks_of(lognet_id, [&vf, network_id, lognet_id, sid, finish](Result<std::vector<std::string>> users) {
      if (!users.ok()) return finish("");  // not known: keep the logical network (the reconcile's)
      for (const auto& u : *users)
        if (u != network_id)
          return finish("logical network " + lognet_id + " is still used by Docker network " + u);
      // Kept (not an error) when it has ports or is gone; an unreachable store is the answer.
      auto keep_or_fail = [finish](const Status& s, auto next) {
        if (s.ok() || s.code() == Errc::kNotFound) return next();
        if (s.code() == Errc::kConflict || s.code() == Errc::kAlreadyExists) return finish(s.message());
        finish("");
      };
      vf.delete_subnets(
          Json::array({Json{{"id", sid}}}), [&vf, lognet_id, finish, keep_or_fail](Result<Json> r) {
            keep_or_fail(r.ok() ? Status() : r.error(), [&vf, lognet_id, finish, keep_or_fail] {
              vf.delete_logical_networks(
                  Json::array({Json{{"id", lognet_id}}}), [finish, keep_or_fail](Result<Json> r) {
                    keep_or_fail(r.ok() ? Status() : r.error(), [finish] { finish(""); });
                  });
            });
          });
    });
  });
}

// ---- endpoints -----------------------------------------------------------------------------------------

void Containers::create_endpoint(EndpointRequest req, Done done) {
  if (req.port_id.empty()) return done(bad("missing port id"));
  if (req.info_kind != Kind::kDockerInfo && req.info_kind != Kind::kCniInfo)
    return done(make_error(Errc::kInternal, "an endpoint's info is a Docker or a CNI info"));
  if (!req.info.is_object() || !req.port.is_object()) return done(bad("info and port must be objects"));
  if (!req.ip.empty()) {
    auto ip = parse_ip(bare_ip(req.ip));
    if (!ip) return done(bad("address " + req.ip + " is not an IPv4 address"));
    req.ip = ip_text(*ip);
  }
  if (req.docker_network.empty() && req.lognet.empty()) return done(bad("an endpoint needs a network"));
  std::string pkey = logical_port_key(req.port_id), ikey = key_of(req.info_kind, req.port_id);
  std::string mkey = req.docker_network.empty() ? std::string() : docker_network_key(req.docker_network);
  // The port's spec; built again inside the transaction when the mapping names the network.
  auto spec_of = [](const EndpointRequest& e) {
    Json spec = e.port;
    for (const char* f : {"network", "logicalnetwork", "subnet", "ip_address", "mac_address"}) spec.erase(f);
    spec["id"] = e.port_id;
    spec["logicalnetwork"] = e.lognet;
    if (!e.subnet.empty()) spec["subnet"] = e.subnet;
    if (!e.ip.empty()) spec["ip_address"] = e.ip;
    if (!e.mac.empty()) spec["mac_address"] = e.mac;
    return spec;
  };
  // Everything the transaction reads once the network is known (the port's keys, the
  // reservation, the MAC candidates' index entries), so that it reads them in one round.
  auto keys_of = [](const EndpointRequest& e, Json& spec, std::vector<std::string>& keys) -> Status {
    if (Status s = prepare_port(spec, keys); !s.ok()) return s;
    if (!e.pool_id.empty() && !e.ip.empty()) keys.push_back(docker_reservation_key(e.pool_id, e.ip));
    if (e.mac.empty())
      for (const auto& c : e.mac_candidates) {
        auto m = parse_mac(c);
        if (!m) return bad("MAC candidate " + c + " is not a MAC address");
        keys.push_back(mac_index(logical_network_key(e.lognet), mac_text(*m)));
      }
    return {};
  };
  std::vector<std::string> keys{pkey, ikey};
  if (!mkey.empty()) keys.push_back(mkey);
  {
    // A mapping seen before names the network (the transaction checks it again).
    EndpointRequest known = req;
    if (auto it = networks_->find(req.docker_network); !mkey.empty() && it != networks_->end()) {
      known.lognet = it->second[0];
      known.subnet = it->second[1];
      if (known.pool_id.empty()) known.pool_id = it->second[2];
    }
    Json spec = spec_of(known);
    if (!known.lognet.empty())
      if (Status s = keys_of(known, spec, keys); !s.ok()) return done(s);
  }
  auto hints = hints_;
  auto networks = networks_;
  auto cands = std::make_shared<std::vector<uint32_t>>();
  auto tried = std::make_shared<uint64_t>(0);
  auto body = [req, spec_of, keys_of, pkey, ikey, mkey, hints, networks, cands, tried](Reader& r,
                                                                                       Json& out) -> Status {
    EndpointRequest e = req;
    if (!mkey.empty()) {
      const Json* m = r.get(mkey);
      if (r.pending) return {};
      if (!m)
        return make_error(Errc::kNotFound, "Docker network " + e.docker_network + " is not known to VLCP");
      if (str_field(*m, "state") != "ready")
        return make_error(Errc::kUnavailable,
                          "Docker network " + e.docker_network + " is still being created");
      e.lognet = str_field(*m, "lognet_id");
      e.subnet = str_field(*m, "subnet_id");
      if (e.pool_id.empty()) e.pool_id = str_field(*m, "pool");
      (*networks)[e.docker_network] = {e.lognet, e.subnet, str_field(*m, "pool")};
    }
    Json spec = spec_of(e);
    std::vector<std::string> reads;
    if (Status s = keys_of(e, spec, reads); !s.ok()) return s;
    for (const auto& k : reads) r.get(k);
    if (r.pending) return {};
    std::string net_key = logical_network_key(e.lognet);
    PortBatch batch;
    // A crashed run's port of this node: replaced (its indices move in the same commit).
    const Json* old = r.get(pkey);
    const Json* old_info = r.get(ikey);
    if (r.pending) return {};
    if (old && e.replace_stale) {
      if (old_info && str_field(*old_info, "systemid") == e.systemid) batch.freed.insert(pkey);
    }
    if (old_info && !batch.freed.count(pkey))
      return make_error(Errc::kAlreadyExists, "logical port " + e.port_id + " has an info already");
    // The reservation this endpoint consumes: deleted in this commit, its index entry freed.
    if (!e.pool_id.empty() && !e.ip.empty() && !e.subnet.empty()) {
      std::string rkey = docker_reservation_key(e.pool_id, e.ip);
      const Json* res = r.get(rkey);
      if (r.pending) return {};
      if (res && str_field(*res, "subnet") == subnet_key(e.subnet)) {
        r.ctx.write(rkey, std::nullopt);
        batch.freed.insert(rkey);
      }
    }
    // The MAC: the first candidate free in the network (the port's check is the judge).
    if (e.mac.empty() && !e.mac_candidates.empty()) {
      std::string chosen;
      for (const auto& c : e.mac_candidates) {
        auto m = parse_mac(c);
        const Json* owner = r.get(mac_index(net_key, mac_text(*m)));
        if (r.pending) return {};
        if (!owner || batch.freed.count(text(*owner))) {
          chosen = mac_text(*m);
          break;
        }
      }
      if (chosen.empty())
        return make_error(Errc::kAlreadyExists,
                          "every MAC candidate is in use in logical network " + e.lognet);
      spec["mac_address"] = chosen;
    }
    Json port;
    if (Status s = create_port(r, *hints, spec, *cands, *tried, batch, port); !s.ok() || r.pending) return s;
    Json info = e.info;
    info["systemid"] = e.systemid;
    info["created"] = r.ctx.timestamp_us();
    info["port"] = pkey;
    r.ctx.write(ikey, info);
    out = Json{{"port", port}, {"info", dump(ikey, type_of(e.info_kind), info)}};
    return {};
  };
  auto go = [&db = db_, keys, body, done]() { run(db, keys, body, done); };
  if (req.ip.empty() && !req.subnet.empty()) {
    std::string skey = subnet_key(req.subnet);
    if (address_hints_need_load(*hints_, skey)) return load_address_hints(db_, hints_, {skey}, go);
  }
  go();
}

void Containers::delete_endpoint(const std::string& port_id, Done done) {
  std::vector<std::string> keys{logical_port_key(port_id), docker_info_key(port_id), cni_info_key(port_id)};
  run(
      db_, keys,
      [keys](Reader& r, Json& out) -> Status {
        bool any = false;
        for (const auto& k : keys)
          if (r.get(k)) {
            r.ctx.write(k, std::nullopt);  // (the infos would go with the port anyway: cascade)
            any = true;
          }
        if (r.pending) return {};
        out = Json{{"deleted", any}};
        return {};
      },
      std::move(done));
}

void Containers::list(Kind kind, Done done) {
  auto& db = db_;
  db_.list(std::string(schema::kind(kind).key_prefix), [&db, done](Result<std::vector<std::string>> keys) {
    if (!keys.ok()) return done(keys.error());
    if (keys->empty()) return done(Json::object());
    db.get(*keys, [done](Result<std::map<std::string, db::Record>> got) {
      if (!got.ok()) return done(got.error());
      Json out = Json::object();
      for (const auto& [k, rec] : *got)
        if (rec.value) out[k] = *rec.value;
      done(out);
    });
  });
}

}  // namespace vlcp::model
