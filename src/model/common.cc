#include "model/common.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "model/viperflow.h"

namespace vlcp::model::detail {

Status bad(const std::string& m) {
  return make_error(Errc::kInvalidArgument, m);
}

// An integer parameter: a JSON integer, or (from a query string or form) its decimal text.
std::optional<int64_t> as_int(const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    return std::stoll(s);
  }
  return std::nullopt;
}

std::string text(const Json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

Result<std::string> id_param(const Json& spec, const char* field, bool required) {
  auto it = spec.find(field);
  if (it == spec.end() || it->is_null()) {
    if (required) return bad(std::string("missing parameter ") + field);
    return new_id();
  }
  if (!it->is_string() && !it->is_number_integer()) return bad(std::string(field) + " must be a string");
  std::string id = text(*it);
  if (id.empty()) return bad(std::string(field) + " must not be empty");
  return id;
}

Json dump(const std::string& key, const char* type, Json value) {
  value["_type"] = type;
  value["_key"] = key;
  return value;
}

Json set_with(const Json* set, const std::string& key, bool add) {
  Json members = set && set->contains("set") ? (*set)["set"] : Json::array();
  Json out = Json::array();
  for (const auto& m : members)
    if (m != Json(key)) out.push_back(m);
  if (add) out.push_back(key);
  Json next = set && set->is_object() ? *set : Json::object();  // other fields kept (counters)
  next["set"] = out;
  return next;
}

Json list_without(const Json& list, const std::string& key) {
  Json out = Json::array();
  if (list.is_array())
    for (const auto& m : list)
      if (m != Json(key)) out.push_back(m);
  return out;
}

bool matches(const Json& value, const Json& filters, const std::set<std::string>& special) {
  for (const auto& [k, want] : filters.items()) {
    if (special.count(k)) continue;
    auto it = value.find(k);
    if (it == value.end()) return false;
    if (*it == want || (want.is_string() && text(*it) == want.get<std::string>())) continue;
    // A reference (another object's key) also matches the referenced object's id.
    if (want.is_string() && it->is_string()) {
      const std::string& ref = it->get_ref<const std::string&>();
      size_t dot = ref.rfind('.');
      if (ref.rfind(schema::kNamespace, 0) == 0 && dot != std::string::npos &&
          db::unescape_key_part(std::string_view(ref).substr(dot + 1)) == want.get<std::string>())
        continue;
    }
    return false;
  }
  return true;
}

namespace {
std::string named_by_id(const Json& spec) {
  auto it = spec.find("id");
  return it == spec.end() || it->is_null() ? std::string() : text(*it);
}
}  // namespace

Result<Json> checked_specs(const Json& specs, const BatchOf& of) {
  std::string list = std::string(of.param) + " must be a non-empty list of objects";
  if (!specs.is_array() || specs.empty()) return bad(list);
  std::set<std::string> named;
  for (const auto& s : specs) {
    if (!s.is_object()) return bad(list);
    for (const auto& [k, v] : s.items())
      if (!k.empty() && k[0] == '_')
        return bad("attribute " + k + " is reserved (names starting with '_' are VLCP's own)");
    std::string name = (of.names ? of.names : named_by_id)(s);
    if (!name.empty() && !named.insert(name).second)
      return bad(std::string(of.kind) + " " + name + " is named twice in the batch");
  }
  return specs;
}

BatchOf batch_of(schema::Kind kind, std::string (*names)(const Json& spec)) {
  const schema::KindInfo& k = schema::kind(kind);
  return BatchOf{k.display.data(), k.api.batch.data(), names};
}

db::IndexRule index_rule(schema::Kind owner, std::string_view name) {
  for (const auto& i : schema::kIndices) {
    if (i.owner != owner || i.name != name) continue;
    db::IndexRule rule{std::string(schema::kind(owner).class_prefix()), std::string(name), {}, i.unique};
    for (auto f : i.fields)
      if (!f.empty()) rule.fields.emplace_back(f);
    if (i.space) rule.space = std::string(schema::kind(*i.space).class_prefix());
    return rule;
  }
  std::abort();  // a broken invariant: the model names an index its declaration lacks
}

Result<std::vector<std::string>> batch_keys(const Json& specs, const BatchOf& of,
                                            std::vector<std::string> fixed,
                                            std::string (*key_of)(const std::string&),
                                            std::string (*map_of)(const std::string&)) {
  auto checked = checked_specs(specs, of);
  if (!checked.ok()) return checked.error();
  for (const auto& spec : specs) {
    auto id = id_param(spec, "id", true);
    if (!id.ok()) return id.error();
    fixed.push_back(key_of(*id));
    if (map_of) fixed.push_back(map_of(*id));
  }
  return fixed;
}

// Runs a transaction whose body fills `out`; answers `out` on success.
void run(db::ObjectDb& db, std::vector<std::string> keys, std::function<Status(Reader&, Json& out)> body,
         Done done) {
  auto out = std::make_shared<Json>();
  db.writewalk(
      std::move(keys),
      [body = std::move(body), out](db::TxnContext& ctx) -> Status {
        Reader r{ctx};
        *out = Json();
        Status s = body(r, *out);
        if (r.pending) return {};  // runs again with what it asked for
        return s;
      },
      [done = std::move(done), out](Result<db::TxnResult> r) {
        if (!r.ok()) return done(r.error());
        done(*out);
      });
}

Status check_subnets_apart(Reader& r, const std::string& skey, const std::string& sid, const Cidr& cidr,
                           const std::vector<std::string>& others, const std::string& owner) {
  for (const auto& okey : others) {
    if (okey == skey) continue;
    const Json* o = r.get(okey);
    if (!o) continue;
    auto oc = parse_cidr(o->value("cidr", ""));
    if (oc.ok() && oc->overlaps(cidr))
      return make_error(Errc::kConflict, "subnet " + sid + " (" + cidr.text() + ") overlaps subnet " +
                                             text(o->value("id", Json(okey))) + " (" + oc->text() + ") of " +
                                             owner);
  }
  return {};
}

Status check_router_overlap(Reader& r, const std::string& skey, const std::string& sid, const Cidr& cidr,
                            const std::string& rid, const Json& interfaces) {
  std::vector<std::string> subnets;
  for (const auto& port : interfaces)
    if (const Json* p = r.get(text(port))) subnets.push_back(p->value("subnet", ""));
  return check_subnets_apart(r, skey, sid, cidr, subnets, "router " + rid);
}

std::string fence_key(const std::string& key) {
  return std::string(schema::kFencePrefix) + db::escape_key_part(key);
}

Status check_fence(Reader& r, const std::string& key, const char* what) {
  const Json* fence = r.get(fence_key(key));
  if (fence && fence->value("until_us", int64_t{0}) > r.ctx.timestamp_us())
    return make_error(Errc::kConflict,
                      std::string(what) + " " + key + " is being changed by another request; retry");
  return {};
}

namespace {

// Writes (token) or lifts (nullopt) the fences; lifting leaves others' fences alone.
void set_fences(db::ObjectDb& db, const std::vector<std::string>& fenced, std::optional<std::string> token,
                std::string mine, std::function<void(Status)> done) {
  std::vector<std::string> keys;
  for (const auto& k : fenced) keys.push_back(fence_key(k));
  run(
      db, keys,
      [keys, token, mine](Reader& r, Json&) -> Status {
        for (const auto& k : keys) {
          const Json* f = r.get(k);
          if (r.pending) return {};
          bool held = f && f->value("until_us", int64_t{0}) > r.ctx.timestamp_us();
          bool ours = f && f->value("token", "") == mine;
          if (token) {
            if (held && !ours) return make_error(Errc::kConflict, k + " is held by another request; retry");
            r.ctx.write(k, Json{{"until_us", r.ctx.timestamp_us() + kFenceUs}, {"token", *token}});
          } else if (ours) {
            r.ctx.write(k, std::nullopt);
          }
        }
        return {};
      },
      [done](Result<Json> r) { done(r.ok() ? Status{} : r.status()); });
}

// Lists the members of each index in turn into `into`.
void list_members(db::ObjectDb& db, std::vector<std::string> index_keys,
                  std::shared_ptr<std::vector<std::vector<std::string>>> into,
                  std::function<void(Status)> then) {
  if (into->size() == index_keys.size()) return then({});
  std::string next = index_keys[into->size()];
  db.members(next, [&db, index_keys = std::move(index_keys), into, then](Result<std::vector<std::string>> m) {
    if (!m.ok()) return then(m.status());
    into->push_back(std::move(*m));
    list_members(db, index_keys, into, then);
  });
}

}  // namespace

void run_fenced(db::ObjectDb& db, const Json& specs, std::string (*key_of)(const std::string&),
                std::string (*members_of)(const std::string&), std::vector<std::string> keys, FencedBody body,
                Done done) {
  std::vector<std::string> fenced, index_keys;
  for (const auto& spec : specs) {
    fenced.push_back(key_of(text(spec["id"])));
    index_keys.push_back(members_of(fenced.back()));
  }
  std::string token = new_id();
  auto lift_then = [&db, fenced, token, done](Result<Json> r) {
    set_fences(db, fenced, std::nullopt, token, [done, r = std::move(r)](Status) { done(r); });
  };
  set_fences(db, fenced, token, token, [=, &db](Status s) {
    if (!s.ok()) return done(s);
    auto members = std::make_shared<std::vector<std::vector<std::string>>>();
    list_members(db, index_keys, members, [=, &db](Status listed) {
      if (!listed.ok()) return lift_then(listed);
      std::vector<std::string> all = keys;
      for (const auto& k : fenced) all.push_back(fence_key(k));
      run(
          db, all,
          [=](Reader& r, Json& out) -> Status {
            for (const auto& k : fenced) {
              const Json* f = r.get(fence_key(k));
              if (r.pending) return {};
              if (!f || f->value("token", "") != token ||
                  f->value("until_us", int64_t{0}) <= r.ctx.timestamp_us())
                return make_error(Errc::kTimeout, "the change of " + k + " took too long; retry");
            }
            Status st = body(r, *members, out);
            if (r.pending || !st.ok()) return st;
            for (const auto& k : fenced) r.ctx.write(fence_key(k), std::nullopt);
            return {};
          },
          [lift_then, done](Result<Json> r) {
            if (!r.ok()) return lift_then(std::move(r));
            done(std::move(r));
          });
    });
  });
}

void write_batch(Reader& r, const std::map<std::string, Json>& maps, const char* set_key,
                 const Json& next_set) {
  for (const auto& [k, m] : maps) r.ctx.write(k, m);
  r.ctx.write(set_key, next_set);
}

namespace {

// Labels of 1-63 letters, digits and inner hyphens, 253 characters at most (one final dot allowed).
bool dns_name(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = std::min(s.find('.', start), s.size());
    std::string_view label(s.data() + start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

Status check_dhcp_options(Json& value) {
  auto int_in = [&](const char* f, int64_t lo, int64_t hi) -> Status {
    if (!value.contains(f) || value[f].is_null()) return {};
    if (std::string(f) == "lease_time" && value[f] == Json("infinite")) return {};
    auto v = as_int(value[f]);
    if (!v || *v < lo || *v > hi)
      return bad(std::string(f) + " must be an integer from " + std::to_string(lo) + " to " +
                 std::to_string(hi) + (std::string(f) == "lease_time" ? " (seconds) or \"infinite\"" : ""));
    value[f] = *v;
    return {};
  };
  if (Status s = int_in("mtu", 68, 65535); !s.ok()) return s;
  if (Status s = int_in("lease_time", 60, 4294967295); !s.ok()) return s;
  for (const char* f : {"dns_nameservers", "ntp_servers"}) {
    if (!value.contains(f) || value[f].is_null()) continue;
    if (!value[f].is_array()) return bad(std::string(f) + " must be a list of IPv4 addresses");
    for (auto& a : value[f]) {
      auto ip = a.is_string() ? parse_ip(a.get<std::string>()) : std::nullopt;
      if (!ip) return bad(std::string(f) + ": " + a.dump() + " is not an IPv4 address");
      a = ip_text(*ip);
    }
  }
  for (const char* f : {"domain_name", "hostname"}) {
    if (!value.contains(f) || value[f].is_null()) continue;
    if (!value[f].is_string() || !dns_name(value[f].get<std::string>()))
      return bad(std::string(f) + " " + value[f].dump() + " is not a DNS name");
  }
  if (value.contains("extra_dhcp_options") && !value["extra_dhcp_options"].is_null()) {
    const Json& opts = value["extra_dhcp_options"];
    Json normal = Json::object();
    auto add = [&](const std::string& code_text, const Json& v) -> Status {
      auto code = as_int(Json(code_text));
      if (!code || *code < 1 || *code > 254)
        return bad("extra_dhcp_options: option code " + code_text + " is not 1-254");
      bool scalar = v.is_string() || v.is_number();
      bool list = v.is_array();
      if (list)
        for (const auto& e : v) list = list && (e.is_string() || e.is_number());
      if (!scalar && !list)
        return bad("extra_dhcp_options: option " + code_text + " must be text, a number or a list of them");
      normal[std::to_string(*code)] = v;
      return {};
    };
    if (opts.is_object()) {
      for (const auto& [k, v] : opts.items())
        if (Status s = add(k, v); !s.ok()) return s;
    } else if (opts.is_array()) {
      for (const auto& pair : opts) {
        if (!pair.is_array() || pair.size() != 2 || !(pair[0].is_number_integer() || pair[0].is_string()))
          return bad("extra_dhcp_options must be {code: value} or [[code, value], ...]");
        if (Status s = add(text(pair[0]), pair[1]); !s.ok()) return s;
      }
    } else {
      return bad("extra_dhcp_options must be {code: value} or [[code, value], ...]");
    }
    value["extra_dhcp_options"] = normal;
  }
  return {};
}

std::string map_key_of(const std::string& key) {
  size_t second_dot = key.find('.', key.find('.') + 1);
  if (second_dot == std::string::npos) return key + "map";
  return key.substr(0, second_dot) + "map" + key.substr(second_dot);
}

std::optional<uint32_t> parse_ip(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string ip_text(uint32_t ip) {
  in_addr a{htonl(ip)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

namespace {
// "ADDRESS/PREFIX" with a prefix from min_prefix to 32.
Result<Cidr> parse_network(const std::string& s, int min_prefix, const char* what) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return bad(std::string(what) + " '" + s + "' is not ADDRESS/PREFIX");
  auto ip = parse_ip(s.substr(0, slash));
  auto prefix = as_int(Json(s.substr(slash + 1)));
  if (!ip || !prefix || *prefix < min_prefix || *prefix > 32)
    return bad(std::string(what) + " '" + s + "' is not an IPv4 network (ADDRESS/" +
               std::to_string(min_prefix) + "-32)");
  return Cidr{*ip, static_cast<int>(*prefix)};
}
}  // namespace

Result<Cidr> parse_cidr(const std::string& s) {
  auto c = parse_network(s, 1, "cidr");
  if (!c.ok()) return c;
  if ((c->network & ~c->mask()) != 0) return bad("cidr '" + s + "' has host bits set");
  return c;
}

Result<Cidr> parse_route_prefix(const std::string& s) {
  auto c = parse_network(s, 0, "route prefix");
  if (c.ok()) c->network &= c->mask();
  return c;
}

Status normalise_ip(Json& value, const char* field) {
  auto it = value.find(field);
  if (it == value.end() || it->is_null()) return {};
  auto ip = it->is_string() ? parse_ip(it->get<std::string>()) : std::nullopt;
  if (!ip) return bad(std::string(field) + " " + text(*it) + " is not an IPv4 address");
  *it = ip_text(*ip);
  return {};
}

Status check_routes(Json& routes, const char* field) {
  std::string shape = std::string(field) + " must be a list of [prefix, nexthop]";
  if (!routes.is_array()) return bad(shape);
  for (auto& r : routes) {
    if (!r.is_array() || r.size() != 2 || !r[0].is_string() || !r[1].is_string()) return bad(shape);
    auto prefix = parse_route_prefix(r[0].get<std::string>());
    if (!prefix.ok()) return prefix.error();
    auto nexthop = parse_ip(r[1].get<std::string>());
    if (!nexthop) return bad(std::string(field) + ": nexthop " + r[1].dump() + " is not an IPv4 address");
    r = Json::array({prefix->text(), ip_text(*nexthop)});
  }
  return {};
}

std::optional<Mac> parse_mac(std::string_view s) {
  if (s.size() != 17) return std::nullopt;
  char sep = s[2];
  if (sep != ':' && sep != '-') return std::nullopt;
  Mac m{};
  for (size_t i = 0; i < 6; ++i) {
    if (i && s[i * 3 - 1] != sep) return std::nullopt;
    unsigned v = 0;
    for (size_t j = 0; j < 2; ++j) {
      char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i * 3 + j])));
      unsigned d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 16;
      if (d == 16) return std::nullopt;
      v = v * 16 + d;
    }
    m[i] = static_cast<uint8_t>(v);
  }
  return m;
}

std::string mac_text(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

Status normalise_port_mac(Json& value, const char* field) {
  auto it = value.find(field);
  if (it == value.end()) return {};
  if (!it->is_string()) return bad(std::string(field) + " must be a string");
  auto mac = parse_mac(it->get<std::string>());
  if (!mac) return bad(std::string(field) + " '" + it->get<std::string>() + "' is not xx:xx:xx:xx:xx:xx");
  if ((*mac)[0] & 1)
    return bad(std::string(field) + " " + mac_text(*mac) +
               " is a multicast or broadcast address: a port needs a unicast one");
  if (*mac == Mac{}) return bad(std::string(field) + " 00:00:00:00:00:00 is not an address a port can have");
  *it = mac_text(*mac);
  return {};
}

}  // namespace vlcp::model::detail
