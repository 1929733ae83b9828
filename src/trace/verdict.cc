#include "trace/verdict.h"

#include <algorithm>

namespace vlcp::trace {

namespace {

using Values = std::map<std::string, std::string>;

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

bool has_warning(const VerdictInput& in, std::string_view text, const StepView** where = nullptr) {
  for (const auto& s : in.steps)
    for (const auto& w : s.warnings)
      if (w.find(text) != std::string::npos) {
        if (where) *where = &s;
        return true;
      }
  for (const auto& o : in.outputs)
    for (const auto& w : o.warnings)
      if (w.find(text) != std::string::npos) {
        if (where && o.step >= 0 && static_cast<size_t>(o.step) < in.steps.size()) *where = &in.steps[o.step];
        return true;
      }
  return false;
}

const StepView* step_of(const VerdictInput& in, int i) {
  return i >= 0 && static_cast<size_t>(i) < in.steps.size() ? &in.steps[i] : nullptr;
}

// The first output of `kind` (effective), or null.
const OutputView* output_of(const VerdictInput& in, OutputKind kind) {
  for (const auto& o : in.outputs)
    if (o.kind == kind && o.effective) return &o;
  return nullptr;
}

// Whether a step of `app` is on the path to output `o` (any step before it).
const StepView* app_step(const VerdictInput& in, const std::string& app, int upto) {
  for (int i = std::min<int>(upto, static_cast<int>(in.steps.size()) - 1); i >= 0; --i)
    if (in.steps[i].app == app) return &in.steps[i];
  return nullptr;
}

std::string owner_of(const StepView* s) {
  if (!s) return "?";
  return s->owner.empty() ? (s->app.empty() ? "an unknown app" : s->app) : s->owner;
}

std::string field(const OutputView& o, const char* name) {
  auto it = o.packet.find(name);
  return it == o.packet.end() ? "" : it->second;
}

std::optional<Values> holds(VerdictCode code, const VerdictInput& in) {
  Values v{{"server", in.server},
           {"bridge", in.bridge},
           {"from", in.from},
           {"to", in.to},
           {"servers", join(in.servers_asked)}};
  switch (code) {
    case VerdictCode::kSourceUnknown:
      if (in.from_exists) return std::nullopt;
      return v;
    case VerdictCode::kSourceNotBound:
      if (in.from_bound) return std::nullopt;
      return v;
    case VerdictCode::kSourceIfaceOrphan:
      if (in.orphan_iface.empty() || in.orphan_iface_id.empty()) return std::nullopt;
      v["iface"] = in.orphan_iface;
      v["iface_id"] = in.orphan_iface_id;
      return v;
    case VerdictCode::kPeerNoAnswer:
      if (in.peer_no_answer.empty()) return std::nullopt;
      v["peer"] = in.peer_no_answer;
      v["waited"] = in.peer_waited.empty() ? "the deadline" : in.peer_waited;
      v["record"] = in.peer_record.empty() ? "is still live" : in.peer_record;
      return v;
    case VerdictCode::kPeerUnknown:
      if (in.peer_unknown.empty()) return std::nullopt;
      v["vtep"] = in.peer_unknown;
      return v;
    case VerdictCode::kLoop:
      if (in.loop.empty()) return std::nullopt;
      v["peer"] = in.loop;
      v["via"] = in.loop_via.empty() ? "?" : in.loop_via;
      return v;
    case VerdictCode::kControllerNotConnected: {
      if (in.openflow_connected) return std::nullopt;
      const OutputView* o = output_of(in, OutputKind::kController);
      if (!o) return std::nullopt;
      const StepView* s = step_of(in, o->step);
      v["owner"] = s && !s->app.empty() ? s->app : "?";
      v["table"] = s ? s->table_name : "?";
      return v;
    }
    case VerdictCode::kTtlExpired: {
      const StepView* s = nullptr;
      if (!has_warning(in, "decrement TTL exception", &s) &&
          !(in.drop && in.drop->text.find("TTL") != std::string::npos))
        return std::nullopt;
      if (!s && in.drop) s = step_of(in, in.drop->step);
      v["table"] = s ? s->table_name : "?";
      v["ttl"] = std::to_string(in.ttl);
      return v;
    }
    case VerdictCode::kNoRouterInterface: {
      if (!in.dst_router_mac || in.network_routed || !in.drop) return std::nullopt;
      v["network"] = in.from_network;
      v["mac"] = in.dst_mac;
      return v;
    }
    case VerdictCode::kNoRoute: {
      if (!in.drop) return std::nullopt;
      const StepView* s = step_of(in, in.drop->step);
      if (!s || s->table_name != "l3router" || !(s->table_default || in.drop->reason == "no_match"))
        return std::nullopt;
      v["router"] = in.router.empty() ? "?" : in.router;
      v["ip"] = in.dst_ip;
      v["why"] = in.no_route_why;
      return v;
    }
    case VerdictCode::kPortNotBound: {
      if (in.to_port.empty() || in.to_ofport || in.to_bound) return std::nullopt;
      // Out through a tunnel or an uplink: TO may be bound where it goes (a server not asked).
      if (!in.all_answered)
        for (const auto& o : in.outputs)
          if (o.effective && o.kind == OutputKind::kPort && o.port.empty() && !o.iface.empty())
            return std::nullopt;
      // An ARP or ICMP answered by flows never needed TO's port (the responders answer for it).
      if (const OutputView* o = output_of(in, OutputKind::kInPort))
        if (app_step(in, "arp", o->step) || app_step(in, "icmp", o->step)) return std::nullopt;
      v["mac"] = in.dst_mac;
      v["to"] = in.to_port;
      const StepView* s = in.drop ? step_of(in, in.drop->step) : nullptr;
      v["table"] = s ? s->table_name : "l2output";
      return v;
    }
    case VerdictCode::kUnknownDestination:
      if (!in.to_unknown) return std::nullopt;
      v["what"] = in.to_what;
      v["value"] = in.to_value;
      v["network"] = in.from_network;
      return v;
    case VerdictCode::kNoTunnel: {
      if (!in.peer_no_entry.empty()) {
        v["what"] = in.peer_no_entry;
        return v;
      }
      std::string ofport;
      for (const auto& o : in.outputs)
        if (o.kind == OutputKind::kPort && o.iface.empty()) {
          ofport = std::to_string(o.ofport);
          break;
        }
      if (ofport.empty() && !has_warning(in, "Nonexistent output port")) return std::nullopt;
      v["what"] = "output to port " + (ofport.empty() ? "?" : ofport) + " on " + in.server + ", which " +
                  in.bridge + " does not have";
      return v;
    }
    case VerdictCode::kUnderlayNoRoute:
      for (const auto& o : in.outputs)
        for (const auto& d : o.details)
          if (d.find("native tunnel routing failed") != std::string::npos) {
            v["vtep"] = field(o, "tun_dst").empty() ? "?" : field(o, "tun_dst");
            return v;
          }
      return std::nullopt;
    case VerdictCode::kAnsweredArp:
    case VerdictCode::kAnsweredIcmp: {
      const OutputView* o = output_of(in, OutputKind::kInPort);
      if (!o) return std::nullopt;
      bool arp = code == VerdictCode::kAnsweredArp;
      const StepView* s = app_step(in, arp ? "arp" : "icmp", o->step);
      if (!s) return std::nullopt;
      v["owner"] = owner_of(s);
      v["ip"] = arp ? field(*o, "arp_spa") : field(*o, "nw_src");
      v["mac"] = arp ? field(*o, "arp_sha") : field(*o, "dl_src");
      return v;
    }
    case VerdictCode::kToControllerDhcp: {
      const OutputView* o = output_of(in, OutputKind::kController);
      if (!o) return std::nullopt;
      const StepView* s = step_of(in, o->step);
      if (!s || s->app != "dhcp") return std::nullopt;
      v["offer"] = in.offer.empty() ? "no address (the port has none)" : in.offer;
      return v;
    }
    case VerdictCode::kToControllerFirstPacket: {
      const OutputView* o = output_of(in, OutputKind::kController);
      if (!o) return std::nullopt;
      const StepView* s = step_of(in, o->step);
      v["owner"] = s && !s->app.empty() ? s->app : "?";
      v["table"] = s ? s->table_name : "?";
      v["ip"] = in.dst_ip;
      return v;
    }
    case VerdictCode::kDelivered: {
      if (!in.to_ofport) return std::nullopt;
      for (const auto& o : in.outputs) {
        if (!o.effective || o.ofport != *in.to_ofport ||
            (o.kind != OutputKind::kPort && o.kind != OutputKind::kInPort))
          continue;
        v["to"] = in.to_port;
        std::string how;
        auto ttl = o.packet.find("nw_ttl");
        if (ttl != o.packet.end() && ttl->second != std::to_string(in.ttl))
          how = "routed" + (in.router.empty() ? "" : " by " + in.router) + ", TTL " + std::to_string(in.ttl) +
                " → " + ttl->second;
        if (!in.hops_note.empty()) how += (how.empty() ? "" : "; ") + in.hops_note;
        if (!how.empty()) how = " (" + how + ")";
        v["how"] = how;
        return v;
      }
      return std::nullopt;
    }
    case VerdictCode::kDeliveredElsewhere: {
      std::vector<std::string> ports;
      for (const auto& o : in.outputs)
        if (o.effective && !o.port.empty() && (o.kind == OutputKind::kPort || o.kind == OutputKind::kInPort))
          ports.push_back("port " + o.port);
      if (ports.empty()) return std::nullopt;
      v["ports"] = join(ports);
      if (in.to.empty()) v["to"] = "the destination";
      return v;
    }
    case VerdictCode::kLeft: {
      std::vector<std::string> ports;
      std::string toward;
      for (const auto& o : in.outputs) {
        if (!o.effective || o.kind != OutputKind::kPort || !o.port.empty() || o.iface.empty()) continue;
        std::string t = field(o, "tun_dst");
        ports.push_back(o.iface + (o.iface_type.empty() ? "" : " (" + o.iface_type + ")") +
                        (t.empty() || t == "0.0.0.0" ? "" : " to " + t));
      }
      if (ports.empty()) return std::nullopt;
      v["ports"] = join(ports);
      if (!in.to_port.empty()) toward = " toward port " + in.to_port;
      v["toward"] = toward;
      return v;
    }
    case VerdictCode::kDropped: {
      const StepView* s =
          in.drop ? step_of(in, in.drop->step) : (in.steps.empty() ? nullptr : &in.steps.back());
      v["table_id"] = s ? std::to_string(s->table) : "?";
      v["table"] = s ? s->table_name : "?";
      v["owner"] = s ? (s->table_default ? "the table's default flow" : owner_of(s) + "'s flow") : "?";
      std::string why = in.drop ? in.drop->reason : "no output";
      if (in.drop && !in.drop->text.empty()) why += " (" + in.drop->text + ")";
      v["why"] = why;
      return v;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view outcome_name(Outcome o) {
  switch (o) {
#define VLCP_TRACE_OUTCOME_NAME(e, name) \
  case Outcome::e:                       \
    return name;
    VLCP_TRACE_OUTCOMES(VLCP_TRACE_OUTCOME_NAME)
#undef VLCP_TRACE_OUTCOME_NAME
  }
  return "?";
}

const std::vector<VerdictDecl>& verdict_decls() {
  static const std::vector<VerdictDecl> decls = {
#define VLCP_VERDICT(e, code, outcome, text) {VerdictCode::e, code, Outcome::outcome, text},
#include "trace/verdicts.def"
#undef VLCP_VERDICT
  };
  return decls;
}

const VerdictDecl& verdict_decl(VerdictCode code) {
  return verdict_decls().at(static_cast<size_t>(code));
}

std::string fill(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    size_t open = text.find('{', at);
    size_t close = open == std::string_view::npos ? open : text.find('}', open);
    if (close == std::string_view::npos) {
      out += text.substr(at);
      break;
    }
    out += text.substr(at, open - at);
    auto it = values.find(std::string(text.substr(open + 1, close - open - 1)));
    out += it == values.end() ? std::string(text.substr(open, close - open + 1)) : it->second;
    at = close + 1;
  }
  return out;
}

Verdict decide(const VerdictInput& in) {
  for (const auto& d : verdict_decls())
    if (auto values = holds(d.code, in)) {
      Verdict v;
      v.code = d.code;
      v.code_name = std::string(d.name);
      v.outcome = std::string(outcome_name(d.outcome));
      v.text = fill(d.text, *values);
      v.values = std::move(*values);
      return v;
    }
  return {};  // (unreachable: `dropped` always holds)
}

}  // namespace vlcp::trace
