// The scale simulator's model layout (issue 20, docs/SCALE_DESIGN.md §4), declared once: which
// networks, subnets, ports and servers a model of P ports has, and which server hosts which port.
// scale_build writes it; scale_nodes binds each simulated server to its ports from the same flags.
//
// Network n has `per_network` ports, split into `spread` chunks of equal size, each chunk on a
// different server. The measured server (0) holds chunk 0 of the first measured_share / chunk
// networks (default: 100 ports in 5 networks of 100, the other 80 ports of each on 4 other
// servers); every other chunk goes round-robin to servers 1..S-1.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace vlcp::perf::scale {

struct Layout {
  int ports = 1000;
  int servers = 0;  // 0: ports / 100
  int per_network = 100;
  int measured_share = 100;
  int spread = 5;         // servers per network
  int router_groups = 0;  // >0: one router per this many consecutive networks (their subnets attached)

  int server_count() const { return servers > 0 ? servers : std::max(ports / 100, spread + 1); }
  int networks() const { return ports / per_network; }
  int chunk() const { return per_network / spread; }
  int measured_networks() const { return measured_share / chunk(); }
  // Why the flags do not describe a layout ("" when they do).
  std::string problem() const {
    if (per_network < spread || per_network % spread) return "--ports-per-network must be a multiple of 5";
    if (per_network > 250) return "--ports-per-network must be at most 250 (one /24 per subnet)";
    if (ports < per_network || ports % per_network)
      return "--ports must be a multiple of --ports-per-network";
    if (measured_share % chunk()) return "--measured-share must be a multiple of ports-per-network / 5";
    if (measured_networks() > networks()) return "--measured-share is more than the model holds";
    if (server_count() <= spread) return "--servers must be more than 5 (a network spans 5 servers)";
    return "";
  }

  // The server of chunk j of network n.
  int server_of(int n, int j) const {
    int m = measured_networks();
    if (j == 0 && n < m) return 0;
    int c = n * spread + j;
    int before = std::min(m, (c + spread - 1) / spread);  // measured chunks (n' * spread) below c
    return 1 + (c - before) % (server_count() - 1);
  }
  int server_of_port(int n, int i) const { return server_of(n, i / chunk()); }

  static std::string network_id(int n) { return "n" + std::to_string(n); }
  static std::string subnet_id(int n) { return "s" + std::to_string(n); }
  static std::string router_id(int r) { return "r" + std::to_string(r); }
  static std::string port_id(int n, int i) { return "p" + std::to_string(n) + "-" + std::to_string(i); }
  static std::string system_id(int s) {
    char b[16];
    std::snprintf(b, sizeof b, "s%04d", s);
    return b;
  }
  static std::string cidr(int n) {
    return "10." + std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255) + ".0/24";
  }
  static std::string gateway(int n) {
    return "10." + std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255) + ".1";
  }
  static std::string ip(int n, int i) {
    return "10." + std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255) + "." +
           std::to_string(i + 2);
  }
  std::string mac(int n, int i) const {
    uint32_t g = static_cast<uint32_t>(n) * static_cast<uint32_t>(per_network) + static_cast<uint32_t>(i);
    char b[24];
    std::snprintf(b, sizeof b, "02:00:%02x:%02x:%02x:%02x", g >> 24, (g >> 16) & 255, (g >> 8) & 255,
                  g & 255);
    return b;
  }
  // Server s's tunnel endpoint (what its VXLAN port's local_ip would be).
  static std::string tunnel_ip(int s) {
    return "172.16." + std::to_string(((s + 1) >> 8) & 255) + "." + std::to_string((s + 1) & 255);
  }

  // The ports (ids) server s hosts, by network.
  std::map<int, std::vector<std::string>> ports_on(int s) const {
    std::map<int, std::vector<std::string>> out;
    for (int n = 0; n < networks(); ++n)
      for (int j = 0; j < spread; ++j)
        if (server_of(n, j) == s)
          for (int i = j * chunk(); i < (j + 1) * chunk(); ++i) out[n].push_back(port_id(n, i));
    return out;
  }
  // The servers that host a port of network n.
  std::vector<int> servers_of(int n) const {
    std::vector<int> out;
    for (int j = 0; j < spread; ++j) out.push_back(server_of(n, j));
    return out;
  }
};

}  // namespace vlcp::perf::scale
