// module.openflowserver.* and protocol.openflow.*, read and checked.
#include "switch/settings.h"

#include <chrono>
#include <cstdlib>

namespace vlcp::sw {

namespace {
struct OpenflowKeys {
  VLCP_OPENFLOW_KEYS(VLCP_KEYS_FIELD)
};

std::chrono::milliseconds seconds(double s) {
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}
}  // namespace

Result<OpenflowSettings> read_openflow_settings(const Config& config) {
  OpenflowKeys keys;
  VLCP_OPENFLOW_KEYS(VLCP_KEYS_READ)
  OpenflowSettings s;
  // Each listener with the key it came from, so an error points at the line that asked for it.
  std::vector<std::pair<const char*, std::string>> urls = {{"module.openflowserver.url", keys.url}};
  for (const auto& u : keys.urls) urls.emplace_back("module.openflowserver.urls", u);
  for (auto& [from, u] : urls) {
    auto l = parse_listener(u);
    if (!l.ok()) return config.error_at(from, l.error().message());
    if (l->kind == Listener::Kind::kSsl &&
        (keys.key.empty() || keys.certificate.empty() || keys.ca_certs.empty()))
      return config.error_at(
          from, "'" + u + "': ssl:// listeners need module.openflowserver.key, certificate and ca_certs");
    // Whoever connects can announce any datapath id: off this host only switches with a
    // certificate from ca_certs (ssl://) are accepted, unless the operator says otherwise.
    if (l->kind == Listener::Kind::kTcp && !keys.allow_remote_tcp && !io::is_loopback_address(l->host))
      return config.error_at(
          from,
          "'" + u + "': a plain tcp:// listener on a non-loopback address lets any host that reaches it " +
              "act as a switch; use unix:// (OVS's controller through module.ovsdbmanager.controller) or " +
              "ssl:// with ca_certs, or set module.openflowserver.allow_remote_tcp = True");
    s.listeners.push_back(*l);
  }
  {
    const std::string& m = keys.socketmode;
    char* end = nullptr;
    unsigned long mode = m.empty() ? 0 : std::strtoul(m.c_str(), &end, 8);
    if (m.empty() || *end || mode > 0777 || (mode & 0600) != 0600 || (mode & 0007))
      return config.error_at("module.openflowserver.socketmode",
                             "'" + m + "': octal, owner read-write and nothing for others (0600 or 0660)");
    s.socket_mode = static_cast<unsigned>(mode);
  }
  s.key = keys.key;
  s.certificate = keys.certificate;
  s.ca_certs = keys.ca_certs;
  if (keys.iothreads < 1 || keys.iothreads > 64)
    return config.error_at("module.openflowserver.iothreads", "must be 1..64");
  s.iothreads = static_cast<unsigned>(keys.iothreads);
  if (keys.spin_us < 0 || keys.spin_us > 10000)
    return config.error_at("module.openflowserver.spin_us", "must be 0..10000 (microseconds)");
  s.spin = std::chrono::microseconds(keys.spin_us);
  if (keys.packetin != "control" && keys.packetin != "hub")
    return config.error_at("module.openflowserver.packetin", "control or hub");
  s.hub = keys.packetin == "hub";
  if (keys.role == "equal")
    s.session.role = ofp::Role::kEqual;
  else if (keys.role == "master")
    s.session.role = ofp::Role::kMaster;
  else if (keys.role == "slave")
    s.session.role = ofp::Role::kSlave;
  else if (!keys.role.empty())
    return config.error_at("module.openflowserver.role", "equal, master or slave");
  s.session.generation_id = static_cast<uint64_t>(keys.generation_id);
  s.session.versions = 0;
  for (int64_t v : keys.allowedversions) {
    if (v != ofp::kOfp13 && v != ofp::kOfp14)
      return config.error_at("protocol.openflow.allowedversions",
                             "only 4 (OpenFlow 1.3) and 5 (OpenFlow 1.4) are spoken");
    s.session.versions |= 1u << v;
  }
  if (!s.session.versions)
    return config.error_at("protocol.openflow.allowedversions", "offer at least one version");
  for (auto [key, value] : {std::pair{"protocol.openflow.keepalivetime", keys.keepalivetime},
                            std::pair{"protocol.openflow.keepalivetimeout", keys.keepalivetimeout},
                            std::pair{"protocol.openflow.hellotimeout", keys.hellotimeout}})
    if (!(value >= 0.05)) return config.error_at(key, "timeouts must be at least 0.05 s");
  // The handshake's PORT_DESC alone may need kMaxPortDescBytes; less would refuse real switches.
  if (keys.maxmultipartbytes < static_cast<int64_t>(kMaxPortDescBytes))
    return config.error_at(
        "protocol.openflow.maxmultipartbytes",
        "must be at least " + std::to_string(kMaxPortDescBytes) + " (a full PORT_DESC reply)");
  s.session.max_multipart_bytes = static_cast<size_t>(keys.maxmultipartbytes);
  s.session.probe_interval = seconds(keys.keepalivetime);
  s.session.probe_timeout = seconds(keys.keepalivetimeout);
  s.session.handshake_timeout = seconds(keys.hellotimeout);
  return s;
}

}  // namespace vlcp::sw
