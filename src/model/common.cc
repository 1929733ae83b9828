#include "model/common.h"

#include <arpa/inet.h>

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
  return Json{{"set", out}};
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
    if (*it != want && !(want.is_string() && text(*it) == want.get<std::string>())) return false;
  }
  return true;
}

Result<Json> checked_specs(const Json& specs, const char* what) {
  if (!specs.is_array() || specs.empty())
    return bad(std::string(what) + " must be a non-empty list of objects");
  for (const auto& s : specs)
    if (!s.is_object()) return bad(std::string(what) + " must be a non-empty list of objects");
  return specs;
}

// The keys a batch names by id: `fixed`, then each spec's key (and map key, when given).
Result<std::vector<std::string>> batch_keys(const Json& specs, std::vector<std::string> fixed,
                                            std::string (*key_of)(const std::string&),
                                            std::string (*map_of)(const std::string&)) {
  auto checked = checked_specs(specs, "networks");
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

void write_batch(Reader& r, const std::map<std::string, Json>& maps, const char* set_key,
                 const Json& next_set) {
  for (const auto& [k, m] : maps) r.ctx.write(k, m);
  r.ctx.write(set_key, next_set);
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

Result<Cidr> parse_cidr(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return bad("cidr '" + s + "' is not ADDRESS/PREFIX");
  auto ip = parse_ip(s.substr(0, slash));
  auto prefix = as_int(Json(s.substr(slash + 1)));
  if (!ip || !prefix || *prefix < 1 || *prefix > 32) return bad("cidr '" + s + "' is not an IPv4 network");
  Cidr c{*ip, static_cast<int>(*prefix)};
  if ((c.network & ~c.mask()) != 0) return bad("cidr '" + s + "' has host bits set");
  return c;
}
}  // namespace vlcp::model::detail
