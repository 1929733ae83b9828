// The router's neighbour resolution for addresses the model does not place (VLCP's l3router ARP
// learning: an external gateway, a static route's nexthop outside the model, a host on a VLAN
// network that no logical port describes). A routed packet that misses l3output for such an
// address is kept here while the router ARPs for it; the answer releases the kept packets and
// the caller installs the learned flow. Pure bookkeeping on the control thread, with the time
// passed in: no timers (an unanswered address is asked again when a later packet misses, as
// long as packets keep asking), bounded in every dimension an untrusted sender controls.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "model/address.h"

namespace vlcp::apps {

class Neighbours {
 public:
  using Clock = std::chrono::steady_clock;
  using Mac = model::detail::Mac;
  struct Limits {
    std::chrono::milliseconds retry{5000};     // between requests (arp_cycle_time)
    std::chrono::milliseconds give_up{60000};  // unanswered this long: refused (arp_incomplete_timeout)
    std::chrono::milliseconds keep{30000};     // a kept packet's life (buffer_packet_timeout)
    std::chrono::milliseconds negative{5000};  // refused this long after giving up (arp_cycle_time)
    size_t per_address = 64;                   // packets kept per address (more are dropped)
    size_t addresses = 1024;                   // addresses being resolved at once
    size_t per_network = 256;                  // of them on one network (one sender cannot take them all)
    size_t bytes = 16u << 20;                  // the kept packets' bytes, in all
  };
  // An address on a network (the router's output network: REG5).
  struct Key {
    uint32_t netid = 0, ip = 0;
    auto operator<=>(const Key&) const = default;
  };
  // A packet kept until its destination answers: what is needed to send it on.
  struct Kept {
    uint32_t in_port = 0, reg4 = 0, reg7 = 0;
    bool via_nexthop = false;  // REG3 named the address (a route's nexthop), not the IP destination
    std::vector<uint8_t> data;
    Clock::time_point at{};
  };
  enum class Verdict {
    kAsk,      // kept; send an ARP request now (the first, or the previous one is retry old)
    kWait,     // kept; a request is out
    kDropped,  // not kept: its queue or the bytes kept are full (the address is still being resolved)
    kRefused,  // not kept, and not resolved: given up on (unanswered for give_up), or too many
               // addresses (of its network) are being resolved; refuse it with a flow for `negative`
  };

  explicit Neighbours(Limits limits) : limits_(limits) {}
  Verdict miss(Key key, Kept packet, Clock::time_point now);
  // An ARP reply from `key`: the packets kept for it (nullopt: nothing asked for it — unsolicited
  // replies teach nothing).
  std::optional<std::vector<Kept>> answer(Key key, Clock::time_point now);
  // Drops kept packets past their life and addresses past give_up + negative (with nothing kept).
  void expire(Clock::time_point now);

  size_t pending() const { return pending_.size(); }
  size_t kept() const;
  size_t kept_bytes() const { return bytes_; }
  const Limits& limits() const { return limits_; }

 private:
  struct Pending {
    Clock::time_point first{}, asked{};
    std::vector<Kept> packets;
    bool given_up = false;
  };
  void drop(Pending& p, size_t from);  // its packets from index `from` on

  Limits limits_;
  std::map<Key, Pending> pending_;
  std::map<uint32_t, size_t> per_network_;  // addresses being resolved per network
  size_t bytes_ = 0;
};

}  // namespace vlcp::apps
