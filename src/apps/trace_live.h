// `vlcpctl trace --live` (docs/TRACE_DESIGN.md §9): what the requester (trace/live.h) and every
// node's `tracer` app (apps/tracer/) exchange through ObjectDB, declared once for both: the
// mailbox keys (§7.2), the session, the nonce the injected packets carry, and the observations
// each node writes back. Pure; no I/O.
//
//   viperflow.tracelive.<requester>.<slot>             the session (the requester writes it, then
//                                                       {id, ended})
//   viperflow.traceseen.<requester>.<slot>.<observer>  {id, armed, observations} (each observer)
//
// <requester> and <observer> are escaped system ids (db::escape_key_part).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/buffer.h"
#include "base/result.h"

namespace vlcp::apps::live {

// The keys (their prefix derives from the model's namespace, schema/kinds.h).
std::string session_prefix();  // every session: the tracer's watch
std::string session_key(const std::string& requester, int slot);
std::string seen_prefix(const std::string& requester, int slot);  // every observer's answer
std::string seen_key(const std::string& requester, int slot, const std::string& observer);

inline constexpr uint8_t kDscp = 1;  // LE (RFC 8622): the mark of an injected packet
inline constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17;

// What the observation flows match besides DSCP: the exact addresses, the protocol, and for TCP
// and UDP the (random) source port and the destination port.
struct LiveMatch {
  uint8_t proto = kProtoIcmp;
  uint32_t nw_src = 0, nw_dst = 0;
  std::optional<uint16_t> tp_src, tp_dst;
  bool operator==(const LiveMatch&) const = default;
};

struct Session {
  std::string id;         // 64 random bits, hex: an answer for another id is stale
  std::string requester;  // the requester's system id (unescaped)
  int slot = 0;
  double expires = 0;  // seconds since the epoch (the requester's clock)
  LiveMatch match;
  uint8_t dscp = kDscp;
  uint32_t nonce = 0;  // 32 random bits, in every injected packet's payload
  bool operator==(const Session&) const = default;
};
nlohmann::json to_json(const Session& s);
// Validated field by field (a record another node wrote: addresses, protocol, ports, slot).
Result<Session> session_from_json(const nlohmann::json& j);
// What the requester writes over a session when it ends ({id, ended: true}): no session. The key
// is never deleted (ZooKeeper: a prefix watch may miss a deleted key written again).
nlohmann::json ended(const std::string& id);
bool is_ended(const nlohmann::json& j);

// The 16 bytes after the L4 header of an injected packet: "VLCPTRC1", the slot (16 bits), the
// packet number (16 bits) and the session's nonce (32 bits), big-endian.
inline constexpr size_t kNonceSize = 16;
struct Nonce {
  uint16_t slot = 0, packet_no = 0;
  uint32_t nonce = 0;
  bool operator==(const Nonce&) const = default;
};
void put_nonce(const Nonce& n, Buffer& out);
std::optional<Nonce> read_nonce(ByteSpan l4_payload);

// Where one node saw an injected packet (a packet-in of an observation flow).
struct Observation {
  std::string server, bridge;  // the observer's system id, its bridge
  uint64_t dpid = 0;
  std::string table;  // "ingress" | "egress"
  uint8_t table_id = 0;
  uint32_t in_port = 0, reg4 = 0, reg5 = 0, reg6 = 0;  // in_network, out_network, out_port
  uint32_t tun_dst = 0;                                // 0: none
  uint16_t packet_no = 0;
  double time = 0;  // seconds since the epoch, the observer's clock
  bool operator==(const Observation&) const = default;
};
nlohmann::json to_json(const Observation& o);
Result<Observation> observation_from_json(const nlohmann::json& j);

// One observer's answer for a session.
struct Seen {
  std::string id;      // the session's
  bool armed = false;  // its observation flows are confirmed on every switch it has
  std::vector<Observation> observations;
  bool operator==(const Seen&) const = default;
};
nlohmann::json to_json(const Seen& s);
Result<Seen> seen_from_json(const nlohmann::json& j);

}  // namespace vlcp::apps::live
