// pcap parsing and TCP reassembly for `vlcpctl ofp-print --pcap`.
#include "cli/pcap.h"

#include <arpa/inet.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <vector>

#include "ofp/message.h"

namespace vlcp::cli {
namespace {

constexpr uint16_t kOpenFlowPorts[] = {6653, 6633};

struct Direction {
  bool started = false;
  uint32_t next_seq = 0;
  std::vector<uint8_t> buffer;                       // bytes not yet cut into messages
  std::map<uint32_t, std::vector<uint8_t>> pending;  // out-of-order segments by sequence
};

// Sequence comparison modulo 2^32.
bool seq_before(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b) < 0;
}

std::string endpoint(const std::string& ip, uint16_t port) {
  return ip + ":" + std::to_string(port);
}

class Reassembler {
 public:
  explicit Reassembler(const std::function<void(const StreamMessage&)>& fn) : fn_(fn) {}

  void segment(double ts, const std::string& from, const std::string& to, uint32_t seq, bool syn,
               ByteSpan payload) {
    Direction& d = flows_[from + ">" + to];
    if (syn) {
      d = Direction{};
      d.started = true;
      d.next_seq = seq + 1;
      return;
    }
    if (!d.started) {  // capture began mid-connection: start at the first segment seen
      d.started = true;
      d.next_seq = seq;
    }
    if (payload.empty()) return;
    if (seq_before(seq, d.next_seq)) {  // retransmission: keep only what is new
      uint32_t overlap = d.next_seq - seq;
      if (overlap >= payload.size()) return;
      payload = payload.subspan(overlap);
      seq = d.next_seq;
    }
    if (seq != d.next_seq) {
      d.pending[seq].assign(payload.begin(), payload.end());
      return;
    }
    append(d, payload);
    for (auto it = d.pending.begin(); it != d.pending.end();) {
      if (seq_before(d.next_seq, it->first)) break;
      uint32_t overlap = d.next_seq - it->first;
      if (overlap < it->second.size()) append(d, ByteSpan(it->second).subspan(overlap));
      it = d.pending.erase(it);
    }
    cut(ts, from, to, d);
  }

 private:
  static void append(Direction& d, ByteSpan bytes) {
    d.buffer.insert(d.buffer.end(), bytes.begin(), bytes.end());
    d.next_seq += static_cast<uint32_t>(bytes.size());
  }

  void cut(double ts, const std::string& from, const std::string& to, Direction& d) {
    size_t pos = 0;
    for (;;) {
      ByteSpan rest(d.buffer.data() + pos, d.buffer.size() - pos);
      size_t len = ofp::frame_length(rest);
      if (len == 0 || len > rest.size()) break;
      fn_(StreamMessage{ts, from, to, rest.first(len)});
      pos += len;
    }
    d.buffer.erase(d.buffer.begin(), d.buffer.begin() + static_cast<long>(pos));
  }

  const std::function<void(const StreamMessage&)>& fn_;
  std::map<std::string, Direction> flows_;
};

bool is_openflow_port(uint16_t p) {
  for (uint16_t q : kOpenFlowPorts)
    if (p == q) return true;
  return false;
}

// The TCP segment inside an IP packet, if it is one on an OpenFlow port.
void handle_ip(double ts, ByteSpan ip, Reassembler& r) {
  if (ip.empty()) return;
  std::string src, dst;
  ByteSpan tcp;
  char text[INET6_ADDRSTRLEN];
  if ((ip[0] >> 4) == 4) {
    if (ip.size() < 20) return;
    size_t ihl = (ip[0] & 0xf) * 4u;
    size_t total = load_be16(ip.data() + 2);
    if (ihl < 20 || total < ihl || total > ip.size() || ip[9] != 6) return;
    inet_ntop(AF_INET, ip.data() + 12, text, sizeof text);
    src = text;
    inet_ntop(AF_INET, ip.data() + 16, text, sizeof text);
    dst = text;
    tcp = ip.subspan(ihl, total - ihl);
  } else if ((ip[0] >> 4) == 6) {
    if (ip.size() < 40 || ip[6] != 6) return;  // no extension headers on our own captures
    size_t payload = load_be16(ip.data() + 4);
    if (40 + payload > ip.size()) return;
    inet_ntop(AF_INET6, ip.data() + 8, text, sizeof text);
    src = std::string("[") + text + "]";
    inet_ntop(AF_INET6, ip.data() + 24, text, sizeof text);
    dst = std::string("[") + text + "]";
    tcp = ip.subspan(40, payload);
  } else {
    return;
  }
  if (tcp.size() < 20) return;
  uint16_t sport = load_be16(tcp.data()), dport = load_be16(tcp.data() + 2);
  if (!is_openflow_port(sport) && !is_openflow_port(dport)) return;
  size_t off = (tcp[12] >> 4) * 4u;
  if (off < 20 || off > tcp.size()) return;
  bool syn = tcp[13] & 0x02;
  r.segment(ts, endpoint(src, sport), endpoint(dst, dport), load_be32(tcp.data() + 4), syn, tcp.subspan(off));
}

}  // namespace

bool for_each_openflow_message(const std::string& path, const std::function<void(const StreamMessage&)>& fn,
                               std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open '" + path + "'";
    return false;
  }
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.size() < 24) {
    *error = path + ": too short for a pcap file";
    return false;
  }
  uint32_t magic = load_be32(file.data());
  bool swapped;  // little-endian file (the usual case on x86)
  bool nanos;
  switch (magic) {
    case 0xa1b2c3d4:
      swapped = false;
      nanos = false;
      break;
    case 0xd4c3b2a1:
      swapped = true;
      nanos = false;
      break;
    case 0xa1b23c4d:
      swapped = false;
      nanos = true;
      break;
    case 0x4d3cb2a1:
      swapped = true;
      nanos = true;
      break;
    default:
      *error = path + ": not a pcap file (pcapng is not supported: convert with 'tcpdump -r F -w F.pcap')";
      return false;
  }
  auto u32 = [&](size_t at) {
    uint32_t v = load_be32(file.data() + at);
    return swapped ? __builtin_bswap32(v) : v;
  };
  uint32_t linktype = u32(20) & 0x0fffffff;
  Reassembler r(fn);
  size_t pos = 24;
  while (pos + 16 <= file.size()) {
    double ts = u32(pos) + u32(pos + 4) / (nanos ? 1e9 : 1e6);
    size_t caplen = u32(pos + 8);
    pos += 16;
    if (caplen > file.size() - pos) {
      *error = path + ": truncated record";
      return false;
    }
    ByteSpan frame(file.data() + pos, caplen);
    pos += caplen;
    ByteSpan ip;
    if (linktype == 1) {  // Ethernet
      if (frame.size() < 14) continue;
      size_t off = 12;
      uint16_t et = load_be16(frame.data() + off);
      while ((et == 0x8100 || et == 0x88a8) && frame.size() >= off + 6) {
        off += 4;
        et = load_be16(frame.data() + off);
      }
      if (et != 0x0800 && et != 0x86dd) continue;
      ip = frame.subspan(off + 2);
    } else if (linktype == 113) {  // Linux cooked
      if (frame.size() < 16) continue;
      ip = frame.subspan(16);
    } else if (linktype == 276) {  // Linux cooked v2
      if (frame.size() < 20) continue;
      ip = frame.subspan(20);
    } else if (linktype == 101 || linktype == 228 || linktype == 229) {  // raw IP
      ip = frame;
    } else if (linktype == 0) {  // BSD loopback
      if (frame.size() < 4) continue;
      ip = frame.subspan(4);
    } else {
      *error = path + ": unsupported link type " + std::to_string(linktype);
      return false;
    }
    handle_ip(ts, ip, r);
  }
  return true;
}

}  // namespace vlcp::cli
