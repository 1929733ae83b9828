// `vlcpctl trace FROM TO --live` (docs/TRACE_DESIGN.md §9): the requester's side. After the
// simulated trace, a live run writes the session (viperflow.tracelive.<self>.<slot>), waits up to
// 3 s for `armed` from the servers on the simulated path (every node's `tracer` app states its
// observation flows and says so once its switches confirmed them), injects --count marked
// packets 200 ms apart as PACKET_OUTs on FROM's switch (DSCP 1, the nonce after the L4 header),
// collects the observations until each packet left at TO's port or 2 s after the last one,
// ends the session ({id, ended} over its key) and compares what was seen with the simulation (§9.3):
//
//   live-delivered    every packet left at TO's port on TO's server
//   underlay-lost     seen last leaving a server by a tunnel, never entering the next one
//   lost-in-pipeline  seen entering a server, never leaving it
//   live-differs      left a server by another port than the simulation's
//   live-not-armed    a server on the path did not arm, and nothing was delivered
//   live-cannot-inject  FROM's switch refused the PACKET_OUT (not connected)
//
// The run takes the simulated trace's result as `Expected`, which the trace service derives from
// its hops, so this file depends on no hop or verdict type. The verdict is a pure function
// (live_verdict), unit-tested alone; the run needs only ObjectDB, a timer and a send function.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/trace_live.h"
#include "base/result.h"
#include "db/objectdb.h"
#include "trace/packet_spec.h"

namespace vlcp::trace {

// X(enum, code, outcome)
#define VLCP_LIVE_VERDICTS(X)                    \
  X(kDelivered, "live-delivered", "delivered")   \
  X(kUnderlayLost, "underlay-lost", "lost")      \
  X(kLostInPipeline, "lost-in-pipeline", "lost") \
  X(kDiffers, "live-differs", "lost")            \
  X(kNotArmed, "live-not-armed", "incomplete")   \
  X(kCannotInject, "live-cannot-inject", "not_started")

enum class LiveCode : uint8_t {
#define VLCP_LIVE_VERDICT_ENUM(e, code, outcome) e,
  VLCP_LIVE_VERDICTS(VLCP_LIVE_VERDICT_ENUM)
#undef VLCP_LIVE_VERDICT_ENUM
};
std::string_view live_code_name(LiveCode c);
std::string_view live_outcome(LiveCode c);

// What the simulated trace says, per server in order (the service fills it from its hops).
struct ExpectedHop {
  std::string server;  // system id
  // How it leaves: "port" (a logical port: TO when it is the last hop), "tunnel", "uplink", or ""
  // (dropped there, or not known).
  std::string out_kind;
  uint32_t out_ofport = 0;  // REG6 at egress
  std::string out_name;     // the port's logical id or interface name, for the text
  uint32_t tun_dst = 0;     // a tunnel's VTEP (0: none)
  std::string next_server;  // the server it goes to ("" none)
};
struct Expected {
  std::vector<ExpectedHop> hops;  // from FROM's server to TO's
  std::string to_port;            // TO's logical port id (the text)
  std::string to_server;          // "" when TO is bound nowhere
  uint32_t to_ofport = 0;
  std::string simulated_code;  // the simulated verdict's code and text ("delivered", ...)
  std::string simulated_text;
};

// One injected packet: what each observer saw of it, in time order.
struct PacketPath {
  uint16_t no = 0;
  std::vector<apps::live::Observation> observations;
  bool delivered = false;
};

struct LiveVerdict {
  LiveCode code = LiveCode::kNotArmed;
  std::string text;
  std::string server;  // where it was decided ("" none)
};

struct LiveResult {
  LiveVerdict verdict;
  std::vector<PacketPath> packets;
  std::map<std::string, bool> armed;  // the servers expected to arm (and any that did)
  std::vector<std::string> notes;
  int sent = 0;
};
// The §10 form: {"packets": [{"no", "observations", "delivered"}], "verdict": {"outcome", "code",
// "text", "server"}, "armed": {...}, "notes": [...], "sent"}.
nlohmann::json to_json(const LiveResult& r);

// The live verdict (§9.3) from the simulation and every observer's answer (by system id; answers
// of another session id must be left out by the caller). `sent` packets numbered 1..sent.
LiveResult live_verdict(const Expected& expected, const std::map<std::string, apps::live::Seen>& seen,
                        int sent);

struct LiveOptions {
  int count = 3;  // at most kMaxCount
  std::chrono::milliseconds interval{200}, arm_wait{3000}, collect_after{2000};
  std::chrono::milliseconds settle{250};  // after every packet reached TO: the last copies written
  double session_seconds = 20;            // the session's expires, from now
};
inline constexpr int kMaxCount = 10;

// What a run needs of the node.
struct LiveEnv {
  db::ObjectDb* db = nullptr;
  std::string self;  // this node's system id (the requester)
  std::function<void(std::chrono::milliseconds, std::function<void()>)> after;
  std::function<double()> wall;  // seconds since the epoch (default: the system clock)
  // Sends one encoded OpenFlow message to switch `dpid` (SwitchManager::send): an error is
  // live-cannot-inject.
  std::function<Status(uint64_t dpid, std::vector<uint8_t> message)> send;
  std::function<uint64_t()> random;  // 64 random bits (default: std::random_device)
};

struct LiveRequest {
  int slot = 0;  // the requester's trace slot (module.trace.slots)
  // The packet as the simulated trace built it (icmp, tcp or udp; FROM a logical port): `in_port`
  // is FROM's ofport on `dpid`, FROM's switch. The run sets DSCP 1 and, for TCP and UDP, a random
  // source port.
  PacketSpec packet;
  uint64_t dpid = 0;
  Expected expected;
  LiveOptions options;
};

// The frame of packet `no` (DSCP 1, the nonce after the L4 header) as a PACKET_OUT on its
// in_port through the pipeline (output:TABLE).
std::vector<uint8_t> live_packet_out(const PacketSpec& packet, const apps::live::Nonce& nonce);
// The session a request writes (match from the packet, DSCP 1).
apps::live::Session live_session(const LiveRequest& req, const std::string& self, const std::string& id,
                                 uint32_t nonce, double expires);

// Runs the sequence (§9.2) on the loop; `done` once, with the result. Refuses (an error, nothing
// written) a protocol that cannot be live (arp, dhcp) or a count out of 1..kMaxCount.
void run_live(LiveEnv env, LiveRequest req, std::function<void(Result<LiveResult>)> done);

}  // namespace vlcp::trace
