#include "apps/trace_live.h"

#include <cstring>
#include <limits>
#include <type_traits>

#include "db/store.h"
#include "model/address.h"
#include "schema/kinds.h"

namespace vlcp::apps::live {

using Json = nlohmann::json;

namespace {

constexpr char kMagic[8] = {'V', 'L', 'C', 'P', 'T', 'R', 'C', '1'};

Status bad(const std::string& why) {
  return make_error(Errc::kInvalidArgument, "live trace record: " + why);
}

// A field of `j` of type T, or an error naming it.
template <typename T>
Result<T> field(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return bad(std::string("no ") + name);
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return bad(std::string(name) + " is not a string");
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return bad(std::string(name) + " is not a boolean");
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!it->is_number()) return bad(std::string(name) + " is not a number");
  } else {
    bool in_range = it->is_number_unsigned() ||
                    (it->is_number_integer() && it->template get<int64_t>() >= 0);  // (a signed 0..)
    if (!in_range || it->template get<uint64_t>() > std::numeric_limits<T>::max())
      return bad(std::string(name) + " is not a number in range");
  }
  return it->template get<T>();
}

Result<uint32_t> ip_field(const Json& j, const char* name) {
  VLCP_ASSIGN_OR_RETURN(std::string text, field<std::string>(j, name));
  auto ip = model::detail::parse_ip(text);
  if (!ip) return bad(std::string(name) + " '" + text + "' is not an IPv4 address");
  return *ip;
}

std::string live_part(const char* name) {
  return std::string(schema::kNamespace) + name;
}

}  // namespace

std::string session_prefix() {
  return live_part("tracelive.");
}
std::string session_key(const std::string& requester, int slot) {
  return session_prefix() + db::escape_key_part(requester) + "." + std::to_string(slot);
}
std::string seen_prefix(const std::string& requester, int slot) {
  return live_part("traceseen.") + db::escape_key_part(requester) + "." + std::to_string(slot) + ".";
}
std::string seen_key(const std::string& requester, int slot, const std::string& observer) {
  return seen_prefix(requester, slot) + db::escape_key_part(observer);
}

Json to_json(const Session& s) {
  Json m = {{"proto", s.match.proto},
            {"nw_src", model::detail::ip_text(s.match.nw_src)},
            {"nw_dst", model::detail::ip_text(s.match.nw_dst)}};
  if (s.match.tp_src) m["tp_src"] = *s.match.tp_src;
  if (s.match.tp_dst) m["tp_dst"] = *s.match.tp_dst;
  return {{"id", s.id}, {"requester", s.requester}, {"slot", s.slot},  {"expires", s.expires},
          {"match", m}, {"dscp", s.dscp},           {"nonce", s.nonce}};
}

Result<Session> session_from_json(const Json& j) {
  if (!j.is_object()) return bad("not an object");
  Session s;
  VLCP_ASSIGN_OR_RETURN(s.id, field<std::string>(j, "id"));
  VLCP_ASSIGN_OR_RETURN(s.requester, field<std::string>(j, "requester"));
  VLCP_ASSIGN_OR_RETURN(uint16_t slot, field<uint16_t>(j, "slot"));
  s.slot = slot;
  VLCP_ASSIGN_OR_RETURN(s.expires, field<double>(j, "expires"));
  VLCP_ASSIGN_OR_RETURN(s.dscp, field<uint8_t>(j, "dscp"));
  VLCP_ASSIGN_OR_RETURN(s.nonce, field<uint32_t>(j, "nonce"));
  if (s.id.empty() || s.requester.empty()) return bad("an empty id or requester");
  if (s.dscp > 63) return bad("dscp out of range");
  auto m = j.find("match");
  if (m == j.end() || !m->is_object()) return bad("no match");
  VLCP_ASSIGN_OR_RETURN(s.match.proto, field<uint8_t>(*m, "proto"));
  if (s.match.proto != kProtoIcmp && s.match.proto != kProtoTcp && s.match.proto != kProtoUdp)
    return bad("protocol " + std::to_string(s.match.proto) + " cannot be live (icmp, tcp, udp)");
  VLCP_ASSIGN_OR_RETURN(s.match.nw_src, ip_field(*m, "nw_src"));
  VLCP_ASSIGN_OR_RETURN(s.match.nw_dst, ip_field(*m, "nw_dst"));
  for (auto [name, out] : {std::pair{"tp_src", &s.match.tp_src}, std::pair{"tp_dst", &s.match.tp_dst}}) {
    if (!m->contains(name)) continue;
    if (s.match.proto == kProtoIcmp) return bad(std::string(name) + " with icmp");
    VLCP_ASSIGN_OR_RETURN(uint16_t port, field<uint16_t>(*m, name));
    *out = port;
  }
  return s;
}

Json ended(const std::string& id) {
  return {{"id", id}, {"ended", true}};
}
bool is_ended(const Json& j) {
  return j.is_object() && j.value("ended", false) == true;
}

void put_nonce(const Nonce& n, Buffer& out) {
  uint8_t b[kNonceSize];
  std::memcpy(b, kMagic, sizeof kMagic);
  store_be16(b + 8, n.slot);
  store_be16(b + 10, n.packet_no);
  store_be32(b + 12, n.nonce);
  out.append(ByteSpan(b, sizeof b));
}

std::optional<Nonce> read_nonce(ByteSpan p) {
  if (p.size() < kNonceSize || std::memcmp(p.data(), kMagic, sizeof kMagic) != 0) return std::nullopt;
  return Nonce{load_be16(p.data() + 8), load_be16(p.data() + 10), load_be32(p.data() + 12)};
}

Json to_json(const Observation& o) {
  Json j = {{"server", o.server},     {"bridge", o.bridge},       {"dpid", o.dpid}, {"table", o.table},
            {"table_id", o.table_id}, {"in_port", o.in_port},     {"reg4", o.reg4}, {"reg5", o.reg5},
            {"reg6", o.reg6},         {"packet_no", o.packet_no}, {"time", o.time}};
  if (o.tun_dst) j["tun_dst"] = model::detail::ip_text(o.tun_dst);
  return j;
}

Result<Observation> observation_from_json(const Json& j) {
  if (!j.is_object()) return bad("an observation is not an object");
  Observation o;
  VLCP_ASSIGN_OR_RETURN(o.server, field<std::string>(j, "server"));
  VLCP_ASSIGN_OR_RETURN(o.bridge, field<std::string>(j, "bridge"));
  VLCP_ASSIGN_OR_RETURN(o.dpid, field<uint64_t>(j, "dpid"));
  VLCP_ASSIGN_OR_RETURN(o.table, field<std::string>(j, "table"));
  VLCP_ASSIGN_OR_RETURN(o.table_id, field<uint8_t>(j, "table_id"));
  VLCP_ASSIGN_OR_RETURN(o.in_port, field<uint32_t>(j, "in_port"));
  VLCP_ASSIGN_OR_RETURN(o.reg4, field<uint32_t>(j, "reg4"));
  VLCP_ASSIGN_OR_RETURN(o.reg5, field<uint32_t>(j, "reg5"));
  VLCP_ASSIGN_OR_RETURN(o.reg6, field<uint32_t>(j, "reg6"));
  VLCP_ASSIGN_OR_RETURN(o.packet_no, field<uint16_t>(j, "packet_no"));
  VLCP_ASSIGN_OR_RETURN(o.time, field<double>(j, "time"));
  if (j.contains("tun_dst")) {
    VLCP_ASSIGN_OR_RETURN(o.tun_dst, ip_field(j, "tun_dst"));
  }
  return o;
}

Json to_json(const Seen& s) {
  Json obs = Json::array();
  for (const auto& o : s.observations) obs.push_back(to_json(o));
  return {{"id", s.id}, {"armed", s.armed}, {"observations", std::move(obs)}};
}

Result<Seen> seen_from_json(const Json& j) {
  if (!j.is_object()) return bad("not an object");
  Seen s;
  VLCP_ASSIGN_OR_RETURN(s.id, field<std::string>(j, "id"));
  VLCP_ASSIGN_OR_RETURN(s.armed, field<bool>(j, "armed"));
  auto obs = j.find("observations");
  if (obs == j.end() || !obs->is_array()) return bad("no observations");
  for (const auto& o : *obs) {
    VLCP_ASSIGN_OR_RETURN(Observation x, observation_from_json(o));
    s.observations.push_back(std::move(x));
  }
  return s;
}

}  // namespace vlcp::apps::live
