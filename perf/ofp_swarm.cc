// A cbench-style switch emulator: N OpenFlow 1.3 switches over TCP, each completing the
// handshake a controller asks for (FEATURES, PORT_DESC, SET_CONFIG, echo, barrier) and then
// keeping WINDOW PACKET_INs in flight, each answered by the controller's PACKET_OUT (matched by
// buffer_id). One thread, epoll. Reports responses/s and round-trip latency percentiles.
// MODE learn: each PACKET_IN comes from a new source MAC (02:<switch>:<sequence>) in network
// REG4=7, as l2input's controller-learning flow sends it (cookie with the worker bit), and the
// response is the first FLOW_MOD that names that MAC: packet-in -> flow installed (cbench's
// latency mode, for a learning switch).
// MODE dhcp: each PACKET_IN carries a DHCP DISCOVER (dhclient's, with a fresh DHCP xid) from a
// client on one of the switch's two ports, as the DHCP server's punt flow sends it (cookie with
// the worker bit and app id 7, in_port); the response is the PACKET_OUT of an OFFER with that
// xid (DISCOVER -> OFFER through the controller's workers). The client on port P of switch S
// has MAC 02:00:00:00:S:P (S < 256); the datapath id of switch S is 0x50000000000000SS, so a
// test can register the same datapath id, ports (ofport 1 and 2) and iface-ids in a real
// OVSDB for the controller to know whom it serves. Multipart requests other than PORT_DESC
// (the flow owner's FLOW and GROUP_DESC reads) get an empty reply, as from an empty switch.
// MODE learnpo (perf/run_packet_in.sh): the same work for every controller. Each switch first
// sends one broadcast PACKET_IN from each of its destination hosts 06:00:00:00:<switch>:<k>
// (k < 4, port 2), so that a learning switch knows them; then every PACKET_IN is a 64-byte
// IPv4/UDP frame from a new source MAC 02:<switch>:<sequence> on port 1 to one of those
// destinations, with what l2input's learning flow punts (cookie with the worker bit and the L2
// app id, REG4 = 7, in_port, table 1) and buffer_id = NO_BUFFER, so that no controller can
// answer with a buffered FLOW_MOD alone. Reason NO_MATCH: ovs-testcontroller's learning switch
// ignores any other (vlcpd does not look at it). A PACKET_IN counts as answered when two
// messages naming its source MAC arrived with at least one FLOW_MOD among them: FLOW_MOD +
// PACKET_OUT (ovs-testcontroller, os-ken: the MAC in the match's eth_src/eth_dst, the
// PACKET_OUT's frame) or two FLOW_MODs (vlcpd's controller learning). A flooding PACKET_OUT
// alone (destination unknown) counts as `flooded` and frees the window slot; one still
// unanswered at the end after 1 s and after twice the p99 counts as `lost` (its slot was stuck:
// a controller that drops answers shrinks its own window). bytes_per_answer: the bytes of the messages that
// answered, per answer. Usage: ofp_swarm HOST PORT SWITCHES WINDOW SECONDS [hub|learn|dhcp|learnpo]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/buffer.h"
#include "ofp/packet.h"

namespace {
using Clock = std::chrono::steady_clock;

void be16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v));
}
void be32(std::string& s, uint32_t v) {
  be16(s, static_cast<uint16_t>(v >> 16));
  be16(s, static_cast<uint16_t>(v));
}
void be64(std::string& s, uint64_t v) {
  be32(s, static_cast<uint32_t>(v >> 32));
  be32(s, static_cast<uint32_t>(v));
}
uint16_t rd16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t rd32(const uint8_t* p) {
  return static_cast<uint32_t>(rd16(p)) << 16 | rd16(p + 2);
}

std::string header(uint8_t type, uint32_t xid, size_t body) {
  std::string s;
  s.push_back(4);
  s.push_back(static_cast<char>(type));
  be16(s, static_cast<uint16_t>(8 + body));
  be32(s, xid);
  return s;
}

std::string port(uint32_t no, uint32_t sw) {
  std::string p;
  be32(p, no);
  p.append(4, '\0');
  p.append("\x02\x00", 2);
  be32(p, sw);
  p.append(2, '\0');
  char name[16] = {};
  std::snprintf(name, sizeof name, "s%up%u", sw, no);
  p.append(name, 16);
  p.append(32, '\0');  // config, state, curr, advertised, supported, peer, curr_speed, max_speed
  return p;
}

struct Switch {
  int fd = -1;
  uint32_t id = 0;
  std::string in, out;
  bool ready = false;
  uint32_t next_seq = 1;
  std::unordered_map<uint32_t, Clock::time_point> inflight;
  std::optional<Clock::time_point> start_at;  // learn mode: when to start sending
  struct Pending {                            // learnpo: what arrived for one PACKET_IN so far
    Clock::time_point sent;
    uint8_t flow_mods = 0, packet_outs = 0;
    uint32_t bytes = 0;
  };
  std::unordered_map<uint32_t, Pending> pending;
};

bool learn_mode = false;
bool dhcp_mode = false;
bool learnpo_mode = false;
constexpr unsigned kDestinations = 4;  // learnpo: destination hosts per switch (port 2)

// The client on port `port` of switch `sw`: 02:00:00:00:<sw>:<port>.
vlcp::ofp::pkt::Mac client_mac(uint32_t sw, uint32_t port) {
  return {0x02, 0, 0, 0, static_cast<uint8_t>(sw), static_cast<uint8_t>(port)};
}

// dhclient's DISCOVER (the options Debian's dhclient sends), DHCP xid = seq, from port 1 or 2.
std::string dhcp_packet_in(uint32_t sw, uint32_t seq) {
  namespace pkt = vlcp::ofp::pkt;
  const uint32_t in_port = 1 + seq % 2;
  const pkt::Mac mac = client_mac(sw, in_port);
  pkt::Dhcp d;
  d.op = 1;
  d.htype = 1;
  d.hlen = 6;
  d.xid = seq;
  d.chaddr = mac;
  d.magic = pkt::kDhcpMagic;
  vlcp::InlineBuffer<512> body;
  d.encode(body);
  const uint8_t options[] = {53, 1,  1,  55, 13,  1,  28, 2, 3,    15,   6,  119,
                             12, 44, 47, 26, 121, 42, 57, 2, 0x05, 0xdc, 255};
  body.append(vlcp::ByteSpan(options, sizeof options));
  body.resize(300);
  vlcp::InlineBuffer<1024> frame;
  pkt::build_udp(frame, mac, pkt::Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, 0xffffffff,
                 pkt::kDhcpClientPort, pkt::kDhcpServerPort, body.span());
  std::string b;
  be32(b, 0xffffffffu);  // buffer_id: none (the frame is whole)
  be16(b, static_cast<uint16_t>(frame.size()));
  b.push_back(1);                                  // reason: action (the punt flow's output)
  b.push_back(0);                                  // table
  be64(b, uint64_t{1} << 62 | uint64_t{7} << 48);  // cookie: to workers, app 7 (DHCP)
  be16(b, 1);                                      // OXM match: in_port
  be16(b, 12);
  be32(b, 0x80000004);
  be32(b, in_port);
  b.append(4, '\0');  // match padding to 8
  b.append(2, '\0');  // pad
  b.append(reinterpret_cast<const char*>(frame.data()), frame.size());
  return header(10, seq, b.size()) + b;
}

// The DHCP xid of the OFFER a PACKET_OUT carries, if it carries one.
std::optional<uint32_t> offered_xid(const uint8_t* m, size_t len) {
  namespace pkt = vlcp::ofp::pkt;
  if (len < 24) return std::nullopt;
  size_t data = 24 + rd16(m + 16);  // after the header, buffer_id, in_port, actions_len, pad, actions
  if (data >= len) return std::nullopt;
  auto parsed = pkt::parse_packet(vlcp::ByteSpan(m + data, len - data));
  const auto& v = parsed.view;
  if (!parsed.complete || !v.dhcp || v.dhcp->op != 2) return std::nullopt;
  auto type = pkt::find_dhcp_option(v.dhcp_options, pkt::DhcpOption::kMessageType);
  if (!type || type->size() != 1 || (*type)[0] != static_cast<uint8_t>(pkt::DhcpMessage::kOffer))
    return std::nullopt;
  return v.dhcp->xid;
}

// learnpo: destination host k of switch sw (port 2), and the source MAC of sequence seq (port 1).
vlcp::ofp::pkt::Mac destination_mac(uint32_t sw, uint32_t k) {
  return {0x06, 0, 0, 0, static_cast<uint8_t>(sw), static_cast<uint8_t>(k)};
}
vlcp::ofp::pkt::Mac source_mac(uint32_t sw, uint32_t seq) {
  return {0x02,
          static_cast<uint8_t>(sw),
          static_cast<uint8_t>(seq >> 24),
          static_cast<uint8_t>(seq >> 16),
          static_cast<uint8_t>(seq >> 8),
          static_cast<uint8_t>(seq)};
}

// learnpo: a PACKET_IN as l2input's learning flow punts it (see the top), unbuffered.
std::string learnpo_packet_in(uint32_t sw, uint32_t xid, const vlcp::ofp::pkt::Mac& src,
                              const vlcp::ofp::pkt::Mac& dst, uint32_t in_port) {
  namespace pkt = vlcp::ofp::pkt;
  const uint8_t payload[22] = {};
  vlcp::InlineBuffer<256> frame;  // 14 + 20 + 8 + 22 = 64 bytes
  pkt::build_udp(frame, src, dst, 0x0a000000u | sw << 8 | in_port, 0x0a0000feu, 4000, 4001,
                 vlcp::ByteSpan(payload, sizeof payload));
  std::string b;
  be32(b, 0xffffffffu);  // buffer_id: NO_BUFFER
  be16(b, static_cast<uint16_t>(frame.size()));
  b.push_back(0);                                  // reason: NO_MATCH
  b.push_back(1);                                  // table: l2input
  be64(b, uint64_t{1} << 62 | uint64_t{2} << 48);  // cookie: to workers, app 2 (L2)
  be16(b, 1);                                      // OXM match: in_port, reg4 = 7 (the network)
  be16(b, 20);
  be32(b, 0x80000004);
  be32(b, in_port);
  be32(b, 0x00010804);  // NXM_NX_REG4
  be32(b, 7);
  b.append(4, '\0');  // match padding to 8
  b.append(2, '\0');  // pad
  b.append(reinterpret_cast<const char*>(frame.data()), frame.size());
  return header(10, xid, b.size()) + b;
}

// learnpo: the sequence a MAC of switch sw names (02:<sw>:<seq>), if it is one of ours.
std::optional<uint32_t> seq_of_mac(const uint8_t* mac, uint32_t sw) {
  if (mac[0] != 0x02 || mac[1] != static_cast<uint8_t>(sw)) return std::nullopt;
  return rd32(mac + 2);
}

// learnpo: the sequence a FLOW_MOD names in its match's eth_src or eth_dst, if any.
std::optional<uint32_t> flow_mod_seq(const uint8_t* m, size_t len, uint32_t sw) {
  if (len < 52) return std::nullopt;
  size_t end = std::min(len, size_t{48} + rd16(m + 50));  // ofp_match: type, length (with its header)
  for (size_t i = 52; i + 4 <= end;) {
    uint16_t cls = rd16(m + i);
    uint8_t field = m[i + 2] >> 1, n = m[i + 3];
    if (i + 4 + n > end) break;
    if (cls == 0x8000 && (field == 3 || field == 4) && n >= 6)  // OFPXMT_OFB_ETH_DST / ETH_SRC
      if (auto seq = seq_of_mac(m + i + 4, sw)) return seq;
    i += 4u + n;
  }
  return std::nullopt;
}

// learnpo: a PACKET_OUT's frame's source sequence, and whether it floods (output FLOOD or ALL).
std::optional<uint32_t> packet_out_seq(const uint8_t* m, size_t len, uint32_t sw, bool* floods) {
  if (len < 24) return std::nullopt;
  size_t actions_end = 24u + rd16(m + 16);
  *floods = false;
  for (size_t i = 24; i + 8 <= actions_end && i + 8 <= len;) {
    uint16_t type = rd16(m + i), n = rd16(m + i + 2);
    if (n < 8) break;
    if (type == 0 && n >= 16 && i + 8 <= len) {
      uint32_t port = rd32(m + i + 4);
      if (port == 0xfffffffbu || port == 0xfffffffcu) *floods = true;
    }
    i += n;
  }
  if (actions_end + 12 > len) return std::nullopt;
  return seq_of_mac(m + actions_end + 6, sw);
}

std::string packet_in(uint32_t sw, uint32_t seq) {
  if (dhcp_mode) return dhcp_packet_in(sw, seq);
  if (learnpo_mode)
    return learnpo_packet_in(sw, seq, source_mac(sw, seq), destination_mac(sw, seq % kDestinations), 1);
  // Ethernet frame: broadcast from a per-switch MAC (learn: per packet), an IPv4/UDP-ish
  // payload, 64 bytes.
  std::string frame("\xff\xff\xff\xff\xff\xff\x02", 7);
  frame.push_back(static_cast<char>(learn_mode ? sw : 0));
  be32(frame, learn_mode ? seq : sw);
  frame.append("\x08\x00", 2);
  frame.append(50, '\x45');
  std::string body;
  be32(body, learn_mode ? 0xffffffffu : seq);  // buffer_id: the controller's PACKET_OUT echoes it
  be16(body, static_cast<uint16_t>(frame.size()));
  body.push_back(learn_mode ? 1 : 0);                                    // reason: no match / action
  body.push_back(learn_mode ? 1 : 0);                                    // table: l2input
  be64(body, learn_mode ? (uint64_t{1} << 62 | uint64_t{2} << 48) : 0);  // cookie
  be16(body, 1);                                                         // OXM match: in_port=1 (and reg4=7)
  be16(body, learn_mode ? 20 : 12);
  be32(body, 0x80000004);
  be32(body, 1);
  if (learn_mode) {
    be32(body, 0x00010804);  // NXM_NX_REG4
    be32(body, 7);
  }
  body.append(4, '\0');  // match padding to 8
  body.append(2, '\0');  // pad
  body += frame;
  return header(10, seq, body.size()) + body;
}

// The sequence number a FLOW_MOD answers: the source MAC it names (02:<sw>:<seq>), if any.
std::optional<uint32_t> learned_seq(const uint8_t* m, size_t len, uint32_t sw) {
  for (size_t i = 48; i + 6 <= len; ++i)  // (in the match, after the fixed FLOW_MOD fields)
    if (m[i] == 0x02 && m[i + 1] == static_cast<uint8_t>(sw)) return rd32(m + i + 2);
  return std::nullopt;
}

bool flush(Switch& s) {
  while (!s.out.empty()) {
    ssize_t n = send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN;
    s.out.erase(0, static_cast<size_t>(n));
  }
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: ofp_swarm HOST PORT SWITCHES WINDOW SECONDS [hub|learn|dhcp|learnpo]\n");
    return 2;
  }
  learn_mode = argc == 7 && std::string(argv[6]) == "learn";
  dhcp_mode = argc == 7 && std::string(argv[6]) == "dhcp";
  learnpo_mode = argc == 7 && std::string(argv[6]) == "learnpo";
  if (argc == 7 && !learn_mode && !dhcp_mode && !learnpo_mode && std::string(argv[6]) != "hub") {
    std::fprintf(stderr, "ofp_swarm: unknown mode %s\n", argv[6]);
    return 2;
  }
  const char* host = argv[1];
  int port_no = std::atoi(argv[2]);
  int nswitches = std::atoi(argv[3]);
  unsigned window = static_cast<unsigned>(std::atoi(argv[4]));
  double seconds = std::atof(argv[5]);
  if (learnpo_mode && (nswitches < 1 || nswitches > 255)) {  // the switch is a byte of its MACs
    std::fprintf(stderr, "ofp_swarm: learnpo takes 1..255 switches\n");
    return 2;
  }
  int ep = epoll_create1(0);
  std::vector<Switch> sw(static_cast<size_t>(nswitches));
  for (int i = 0; i < nswitches; ++i) {
    Switch& s = sw[static_cast<size_t>(i)];
    s.id = static_cast<uint32_t>(i + 1);
    s.fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_no));
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      std::perror("connect");
      return 1;
    }
    int one = 1;
    setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string hello_body;
    be16(hello_body, 1);
    be16(hello_body, 8);
    be32(hello_body, 1u << 4);
    s.out = header(0, 1, hello_body.size()) + hello_body;
    flush(s);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev);
  }
  std::vector<double> latencies_us;
  latencies_us.reserve(1 << 22);
  uint64_t responses = 0;
  uint64_t answer_bytes = 0, flooded = 0, lost = 0;  // learnpo, within the window
  uint64_t total_answered = 0;                       // learnpo, the whole run (for CPU per answer)
  int ready = 0;
  Clock::time_point measure_start{}, measure_end{};
  bool measuring = false;
  auto start_traffic = [&](Switch& s) {
    if (learnpo_mode)  // the destinations first: each host announces itself (a broadcast)
      for (uint32_t k = 0; k < kDestinations; ++k)
        s.out += learnpo_packet_in(s.id, 0x80000000u | k, destination_mac(s.id, k),
                                   vlcp::ofp::pkt::Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 2);
    for (unsigned w = 0; w < window; ++w) {
      uint32_t seq = s.next_seq++;
      if (learnpo_mode)
        s.pending[seq].sent = Clock::now();
      else
        s.inflight[seq] = Clock::now();
      s.out += packet_in(s.id, seq);
    }
  };
  // learnpo: PACKET_IN seq of switch s is done (answered or not): the next one takes its slot.
  auto learnpo_next = [&](Switch& s, uint32_t seq, Clock::time_point t) {
    s.pending.erase(seq);
    uint32_t next = s.next_seq++;
    s.pending[next].sent = t;
    s.out += packet_in(s.id, next);
  };
  auto in_window = [&](Clock::time_point t) { return measuring && t >= measure_start; };
  uint8_t buf[65536];
  auto deadline = Clock::now() + std::chrono::seconds(30);  // handshake bound
  while (true) {
    auto now = Clock::now();
    if (!measuring && ready == nswitches) {
      measuring = true;
      measure_start = now + std::chrono::milliseconds(500);  // warm-up
      measure_end =
          measure_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    }
    if (measuring && now >= measure_end) break;
    if (!measuring && now > deadline) {
      std::fprintf(stderr, "only %d of %d switches completed the handshake\n", ready, nswitches);
      return 1;
    }
    for (auto& x : sw)
      if (x.start_at && now >= *x.start_at) {
        x.start_at.reset();
        start_traffic(x);
        if (!flush(x)) return 1;
      }
    epoll_event events[64];
    int n = epoll_wait(ep, events, 64, learn_mode || dhcp_mode || learnpo_mode ? 10 : 100);
    for (int e = 0; e < n; ++e) {
      Switch& s = sw[events[e].data.u32];
      ssize_t got = recv(s.fd, buf, sizeof buf, 0);
      if (got <= 0) {
        std::fprintf(stderr, "switch %u: connection closed\n", s.id);
        return 1;
      }
      s.in.append(reinterpret_cast<char*>(buf), static_cast<size_t>(got));
      size_t off = 0;
      while (s.in.size() - off >= 8) {
        auto* m = reinterpret_cast<const uint8_t*>(s.in.data() + off);
        uint16_t len = rd16(m + 2);
        if (len < 8 || s.in.size() - off < len) break;
        uint8_t type = m[1];
        uint32_t xid = rd32(m + 4);
        if (type == 5) {  // FEATURES_REQUEST
          std::string b;
          be64(b, 0x5000000000000000ull | s.id);
          be32(b, 256);
          b.push_back(static_cast<char>(254));
          b.push_back(0);
          b.append(2, '\0');
          be32(b, 0x4f);
          be32(b, 0);
          s.out += header(6, xid, b.size()) + b;
          if (!s.ready) {  // controllers that never ask for PORT_DESC (OpenFlow 1.0 style) too
            s.ready = true;
            ++ready;
            // Learn mode: traffic once the controller has surely finished its handshake (some,
            // os-ken among them, drop PACKET_INs that arrive before).
            if (learn_mode || dhcp_mode || learnpo_mode)
              s.start_at = Clock::now() + std::chrono::milliseconds(300);
            else
              start_traffic(s);
          }
        } else if (type == 18 && len >= 12 && rd16(m + 8) == 13) {  // PORT_DESC request
          std::string b;
          be16(b, 13);
          be16(b, 0);
          b.append(4, '\0');
          b += port(1, s.id) + port(2, s.id);
          s.out += header(19, xid, b.size()) + b;
        } else if (type == 18 && len >= 12 && dhcp_mode) {  // other multipart: empty, as a new switch
          std::string b;
          be16(b, rd16(m + 8));
          be16(b, 0);
          b.append(4, '\0');
          s.out += header(19, xid, b.size()) + b;
        } else if (type == 2) {  // ECHO_REQUEST
          s.out += header(3, xid, len - 8u) + std::string(reinterpret_cast<const char*>(m + 8), len - 8u);
        } else if (type == 20) {  // BARRIER_REQUEST
          s.out += header(21, xid, 0);
        } else if (learnpo_mode && (type == 13 || type == 14)) {
          bool floods = false;
          auto seq = type == 14 ? flow_mod_seq(m, len, s.id) : packet_out_seq(m, len, s.id, &floods);
          auto it = seq ? s.pending.find(*seq) : s.pending.end();
          if (it != s.pending.end()) {
            auto& p = it->second;
            ++(type == 14 ? p.flow_mods : p.packet_outs);
            p.bytes += len;
            auto t = Clock::now();
            bool counts = in_window(t) && p.sent >= measure_start;
            if ((p.flow_mods >= 1 && p.packet_outs >= 1) || p.flow_mods >= 2) {
              ++total_answered;
              if (counts) {
                latencies_us.push_back(std::chrono::duration<double, std::micro>(t - p.sent).count());
                ++responses;
                answer_bytes += p.bytes;
              }
              learnpo_next(s, *seq, t);
            } else if (floods && p.flow_mods == 0) {
              if (counts) ++flooded;
              learnpo_next(s, *seq, t);
            }
          }
        } else if ((type == 13 && len >= 12 && !learn_mode) || (type == 14 && learn_mode)) {
          // PACKET_OUT: buffer_id is our sequence number (dhcp: the OFFER's xid); FLOW_MOD
          // (learn): the MAC it names
          auto learned = learn_mode  ? learned_seq(m, len, s.id)
                         : dhcp_mode ? offered_xid(m, len)
                                     : std::optional<uint32_t>(rd32(m + 8));
          uint32_t seq = learned.value_or(0);
          auto it = learned ? s.inflight.find(seq) : s.inflight.end();
          if (it != s.inflight.end()) {
            auto t = Clock::now();
            if (measuring && t >= measure_start) {
              latencies_us.push_back(std::chrono::duration<double, std::micro>(t - it->second).count());
              ++responses;
            }
            s.inflight.erase(it);
            uint32_t next = s.next_seq++;
            s.inflight[next] = t;
            s.out += packet_in(s.id, next);
          }
        }
        off += len;
      }
      s.in.erase(0, off);
      if (!flush(s)) {
        std::fprintf(stderr, "switch %u: send failed\n", s.id);
        return 1;
      }
    }
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    return latencies_us.empty() ? 0.0 : latencies_us[static_cast<size_t>(p * (latencies_us.size() - 1))];
  };
  if (learnpo_mode) {  // PACKET_INs unanswered for 1 s and twice the p99 at the end: stuck slots
    auto stuck =
        std::max(std::chrono::duration<double>(1.0), std::chrono::duration<double>(2e-6 * pct(0.99)));
    for (auto& x : sw)
      for (auto& [seq, p] : x.pending)
        if (measure_end - p.sent >= stuck) ++lost;
  }
  std::printf(
      "mode=%s switches=%d window=%u seconds=%.1f responses=%llu responses_per_s=%.0f p50_us=%.1f "
      "p99_us=%.1f",
      learn_mode     ? "learn"
      : dhcp_mode    ? "dhcp"
      : learnpo_mode ? "learnpo"
                     : "hub",
      nswitches, window, seconds, static_cast<unsigned long long>(responses),
      static_cast<double>(responses) / seconds, pct(0.5), pct(0.99));
  if (learnpo_mode)
    std::printf(" bytes_per_answer=%.1f flooded=%llu lost=%llu total_answered=%llu",
                responses ? static_cast<double>(answer_bytes) / static_cast<double>(responses) : 0.0,
                static_cast<unsigned long long>(flooded), static_cast<unsigned long long>(lost),
                static_cast<unsigned long long>(total_answered));
  std::printf("\n");
  for (auto& s : sw) close(s.fd);
  return 0;
}
