#include "trace/parse.h"

#include <charconv>
#include <cstdio>

namespace vlcp::trace {

std::string_view node_kind_name(NodeKind k) {
  switch (k) {
#define VLCP_TRACE_NODE_NAME(e, name) \
  case NodeKind::e:                   \
    return name;
    VLCP_TRACE_NODE_KINDS(VLCP_TRACE_NODE_NAME)
#undef VLCP_TRACE_NODE_NAME
  }
  return "?";
}

std::string_view output_kind_name(OutputKind k) {
  switch (k) {
#define VLCP_TRACE_OUTPUT_NAME(e, name) \
  case OutputKind::e:                   \
    return name;
    VLCP_TRACE_OUTPUT_KINDS(VLCP_TRACE_OUTPUT_NAME)
#undef VLCP_TRACE_OUTPUT_NAME
  }
  return "?";
}

namespace {

constexpr size_t kMaxTraceText = 4u << 20;

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

template <typename T>
std::optional<T> number(std::string_view s, int base = 10) {
  if (base == 16 && (starts_with(s, "0x") || starts_with(s, "0X"))) s.remove_prefix(2);
  if (s.empty()) return std::nullopt;
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// A value as OVS prints it: "0x1f" or "31".
std::optional<uint64_t> any_number(std::string_view s) {
  if (starts_with(s, "0x") || starts_with(s, "0X")) return number<uint64_t>(s, 16);
  return number<uint64_t>(s, 10);
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

// "N. rest" at the start of `s`: N and where rest starts.
std::optional<std::pair<int, size_t>> table_prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && i < 4 && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0 || i + 1 >= s.size() || s[i] != '.' || s[i + 1] != ' ') return std::nullopt;
  auto n = number<int>(s.substr(0, i));
  if (!n || *n > 255) return std::nullopt;
  return std::pair{*n, i + 2};
}

void parse_table_text(Node& n, std::string_view rest) {
  if (starts_with(rest, "No match")) {
    n.no_match = true;
    return;
  }
  std::string_view tail;
  if (starts_with(rest, "priority ")) {
    tail = rest;
  } else if (size_t at = rest.find(", priority "); at != std::string_view::npos) {
    n.match = std::string(rest.substr(0, at));
    tail = rest.substr(at + 2);
  } else {
    n.match = std::string(rest);  // a shape we do not know: the text is kept as the match
    return;
  }
  tail.remove_prefix(9);  // "priority "
  size_t comma = tail.find(',');
  if (auto p = number<int>(tail.substr(0, comma))) n.priority = *p;
  if (comma == std::string_view::npos) return;
  std::string_view c = tail.substr(comma + 1);
  while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
  if (starts_with(c, "cookie ")) {
    c.remove_prefix(7);
    size_t end = c.find(',');
    if (auto v = number<uint64_t>(c.substr(0, end), 16)) n.cookie = *v;
  }
}

}  // namespace

std::map<std::string, std::string> flow_fields(std::string_view flow) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < flow.size()) {
    size_t comma = flow.find(',', pos);
    std::string_view item =
        flow.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      if (!item.empty() && !out.count("")) out[""] = std::string(item);
    } else {
      out[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

Result<ParsedTrace> parse_trace(std::string_view text) {
  if (text.size() > kMaxTraceText)
    return make_error(Errc::kResourceExhausted,
                      "ofproto/trace output over " + std::to_string(kMaxTraceText) + " bytes");
  ParsedTrace t;
  bool have_flow = false, tail = false;
  // The open nodes, innermost last, with the column each was opened at.
  std::vector<std::pair<int, Node*>> stack;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t col = line.find_first_not_of(' ');
    if (col == std::string_view::npos) continue;  // blank
    std::string_view content = line.substr(col);
    if (col == 0 && starts_with(content, "Flow: ") && !have_flow && t.bridges.empty()) {
      t.flow = std::string(content.substr(6));
      have_flow = true;
      continue;
    }
    if (starts_with(content, "Translation failed")) {
      t.translation_error = std::string(content);
      continue;
    }
    if (col == 0 && starts_with(content, "Final flow: ")) {
      t.final_flow = std::string(content.substr(12));
      tail = true;
      continue;
    }
    if (col == 0 && starts_with(content, "Megaflow: ")) {
      t.megaflow = std::string(content.substr(10));
      tail = true;
      continue;
    }
    if (col == 0 && starts_with(content, "Datapath actions: ")) {
      t.datapath_actions = std::string(content.substr(18));
      tail = true;
      continue;
    }
    if (content.find_first_not_of('-') == std::string_view::npos) continue;  // a bridge's underline
    bool is_bridge = starts_with(content, "bridge(\"") && content.size() >= 10 &&
                     content.substr(content.size() - 2) == "\")";
    if (tail || (t.bridges.empty() && !(is_bridge && col == 0))) {
      t.notes.emplace_back(content);
      continue;
    }
    if (is_bridge && col == 0) {
      t.bridges.push_back(Bridge{std::string(content.substr(8, content.size() - 10)), {}});
      stack.clear();
      continue;
    }
    Node n;
    n.column = static_cast<int>(col);
    int eff = static_cast<int>(col);
    if (is_bridge) {
      n.kind = NodeKind::kBridge;
      n.bridge = std::string(content.substr(8, content.size() - 10));
      n.text = std::string(content);
      eff = static_cast<int>(col) - 1;  // the bridge's tables, at its column, are its children
    } else if (auto tp = table_prefix(content)) {
      n.kind = NodeKind::kTable;
      n.table = tp->first;
      n.text = std::string(content);
      parse_table_text(n, content.substr(tp->second));
      int start = static_cast<int>(col + tp->second);
      eff = std::max(0, (start - 4) / 4 * 4);  // "%2d. " right-aligns: the column is taken after the number
    } else if (starts_with(content, ">>>> ")) {
      n.kind = NodeKind::kError;
      std::string_view e = content.substr(5);
      if (e.size() >= 5 && e.substr(e.size() - 5) == " <<<<") e.remove_suffix(5);
      n.text = std::string(e);
    } else if (starts_with(content, ">> ")) {
      n.kind = NodeKind::kWarn;
      n.text = std::string(content.substr(3));
    } else if (starts_with(content, "-> ")) {
      n.kind = NodeKind::kDetail;
      n.text = std::string(content.substr(3));
    } else if (starts_with(content, "bucket ") && number<int>(content.substr(7))) {
      n.kind = NodeKind::kBucket;
      n.text = std::string(content);
    } else if (col == 0) {
      n.kind = NodeKind::kNote;  // a shape at the top of a bridge that is no table
      n.text = std::string(content);
    } else {
      n.kind = NodeKind::kAction;
      n.text = std::string(content);
    }
    n.column = eff;
    while (!stack.empty() && stack.back().first >= eff) stack.pop_back();
    std::vector<Node>& into = stack.empty() ? t.bridges.back().nodes : stack.back().second->children;
    into.push_back(std::move(n));
    stack.emplace_back(eff, &into.back());
  }
  if (!have_flow) return make_error(Errc::kMalformed, "ofproto/trace output without a \"Flow:\" line");
  if (t.bridges.empty()) return make_error(Errc::kMalformed, "ofproto/trace output without a bridge section");
  return t;
}

// ---- the walk ------------------------------------------------------------------------------------

namespace {

// An action's field name (OVS's set_field names and NXM/OXM names) as flow_format prints it.
std::string state_name(std::string_view f) {
  static const std::map<std::string_view, std::string_view> names = {{"eth_src", "dl_src"},
                                                                     {"eth_dst", "dl_dst"},
                                                                     {"ip_src", "nw_src"},
                                                                     {"ip_dst", "nw_dst"},
                                                                     {"ipv4_src", "nw_src"},
                                                                     {"ipv4_dst", "nw_dst"},
                                                                     {"tunnel_id", "tun_id"},
                                                                     {"tun_ipv4_src", "tun_src"},
                                                                     {"tun_ipv4_dst", "tun_dst"},
                                                                     {"icmpv4_type", "icmp_type"},
                                                                     {"icmpv4_code", "icmp_code"},
                                                                     {"NXM_OF_ETH_SRC", "dl_src"},
                                                                     {"NXM_OF_ETH_DST", "dl_dst"},
                                                                     {"NXM_OF_IP_SRC", "nw_src"},
                                                                     {"NXM_OF_IP_DST", "nw_dst"},
                                                                     {"NXM_NX_ARP_SHA", "arp_sha"},
                                                                     {"NXM_NX_ARP_THA", "arp_tha"},
                                                                     {"NXM_OF_ARP_SPA", "arp_spa"},
                                                                     {"NXM_OF_ARP_TPA", "arp_tpa"},
                                                                     {"NXM_OF_ARP_OP", "arp_op"},
                                                                     {"NXM_NX_TUN_ID", "tun_id"},
                                                                     {"NXM_NX_TUN_IPV4_SRC", "tun_src"},
                                                                     {"NXM_NX_TUN_IPV4_DST", "tun_dst"},
                                                                     {"OXM_OF_IN_PORT", "in_port"},
                                                                     {"NXM_OF_IN_PORT", "in_port"},
                                                                     {"NXM_NX_IP_TTL", "nw_ttl"}};
  if (auto it = names.find(f); it != names.end()) return std::string(it->second);
  if (starts_with(f, "NXM_NX_REG")) return "reg" + std::string(f.substr(10));
  if (starts_with(f, "OXM_OF_PKT_REG")) return "xreg" + std::string(f.substr(14));
  return std::string(f);
}

bool is_register(std::string_view name) {
  return starts_with(name, "reg") && number<int>(name.substr(3)).has_value();
}

// "FIELD[]", "FIELD[15]", "FIELD[0..15]": the name and the bit range (whole: nullopt).
std::pair<std::string, std::optional<std::pair<int, int>>> subfield(std::string_view s) {
  size_t lb = s.find('[');
  if (lb == std::string_view::npos || s.back() != ']') return {std::string(s), std::nullopt};
  std::string_view name = s.substr(0, lb), range = s.substr(lb + 1, s.size() - lb - 2);
  if (range.empty()) return {std::string(name), std::nullopt};
  size_t dots = range.find("..");
  auto a = number<int>(range.substr(0, dots));
  auto b = dots == std::string_view::npos ? a : number<int>(range.substr(dots + 2));
  if (!a || !b || *a < 0 || *b > 63 || *a > *b) return {std::string(name), std::pair{-1, -1}};
  return {std::string(name), std::pair{*a, *b}};
}

struct Walker {
  Walk out;

  struct Ctx {
    std::string bridge;
    bool underlay = false;
    std::string branch;
    int depth = 0;
    int step = -1;
    std::string group;  // the last group:G action, for its buckets' names
  };

  void set_value(PacketState& st, const std::string& name, std::string_view value) {
    if (is_register(name)) {
      if (auto v = any_number(value)) {
        st.fields[name] = hex(*v);
        return;
      }
    }
    if (name == "vlan_vid") {
      if (auto v = any_number(value)) {
        st.fields["dl_vlan"] = std::to_string(*v & 0xfff);
        return;
      }
    }
    st.fields[name] = std::string(value);
  }

  void apply(const Node& a, PacketState& st) {
    std::string_view t = a.text;
    auto after = [&](std::string_view p) { return t.substr(p.size()); };
    if (starts_with(t, "set_field:")) {
      std::string_view rest = after("set_field:");
      size_t arrow = rest.rfind("->");
      if (arrow == std::string_view::npos) {
        st.approximate = true;
        return;
      }
      std::string_view value = rest.substr(0, arrow);
      if (size_t slash = value.find('/'); slash != std::string_view::npos) {  // a masked set
        st.approximate = true;
        value = value.substr(0, slash);
      }
      set_value(st, state_name(rest.substr(arrow + 2)), value);
    } else if (starts_with(t, "load:")) {
      std::string_view rest = after("load:");
      size_t arrow = rest.find("->");
      auto v = arrow == std::string_view::npos ? std::nullopt : any_number(rest.substr(0, arrow));
      if (!v) {
        st.approximate = true;
        return;
      }
      auto [field, range] = subfield(rest.substr(arrow + 2));
      std::string name = state_name(field);
      if (!range) {
        set_value(st, name, hex(*v));
      } else if (is_register(name) && range->first >= 0 && range->second < 32) {
        uint64_t cur = 0;
        if (auto it = st.fields.find(name); it != st.fields.end()) cur = any_number(it->second).value_or(0);
        int width = range->second - range->first + 1;
        uint64_t mask = (width >= 64 ? ~0ull : ((1ull << width) - 1)) << range->first;
        cur = (cur & ~mask) | ((*v << range->first) & mask);
        st.fields[name] = hex(cur);
      } else {
        st.approximate = true;
      }
    } else if (starts_with(t, "move:")) {
      std::string_view rest = after("move:");
      size_t arrow = rest.find("->");
      if (arrow == std::string_view::npos) {
        st.approximate = true;
        return;
      }
      std::string_view dst = rest.substr(arrow + 2);
      auto [field, range] = subfield(dst);
      // OVS says the result: " -> NXM_OF_ETH_DST[] is now 02:00:0a:01:00:0b".
      for (const Node& d : a.children) {
        if (d.kind != NodeKind::kDetail) continue;
        std::string prefix = std::string(dst) + " is now ";
        if (starts_with(d.text, prefix) && !range) {
          set_value(st, state_name(field), std::string_view(d.text).substr(prefix.size()));
          return;
        }
      }
      auto [sfield, srange] = subfield(rest.substr(0, arrow));
      auto it = st.fields.find(state_name(sfield));
      if (!range && !srange && it != st.fields.end())
        set_value(st, state_name(field), std::string(it->second));
      else
        st.approximate = true;
    } else if (t == "dec_ttl" || starts_with(t, "dec_ttl(")) {
      auto it = st.fields.find("nw_ttl");
      if (it == st.fields.end()) return;
      auto v = number<int>(it->second);
      if (v && *v > 0)
        it->second = std::to_string(*v - 1);
      else
        st.approximate = true;
    } else if (starts_with(t, "mod_nw_ttl:")) {
      st.fields["nw_ttl"] = std::string(after("mod_nw_ttl:"));
    } else if (starts_with(t, "mod_dl_src:")) {
      st.fields["dl_src"] = std::string(after("mod_dl_src:"));
    } else if (starts_with(t, "mod_dl_dst:")) {
      st.fields["dl_dst"] = std::string(after("mod_dl_dst:"));
    } else if (starts_with(t, "set_tunnel:") || starts_with(t, "set_tunnel64:")) {
      st.fields["tun_id"] = std::string(t.substr(t.find(':') + 1));
    } else if (t == "pop_vlan" || t == "strip_vlan") {
      st.fields.erase("dl_vlan");
      st.fields.erase("dl_vlan_pcp");
      st.fields["vlan_tci"] = "0x0000";
    } else if (starts_with(t, "push_vlan:")) {
      st.fields.erase("vlan_tci");
      st.fields["dl_vlan"] = "0";
      st.fields["dl_vlan_pcp"] = "0";
    } else if (starts_with(t, "set_") || starts_with(t, "mod_") || starts_with(t, "push_") ||
               starts_with(t, "pop_") || starts_with(t, "dec_") || starts_with(t, "ct(") ||
               starts_with(t, "nat") || starts_with(t, "encap") || starts_with(t, "decap") ||
               starts_with(t, "multipath") || starts_with(t, "bundle")) {
      st.approximate = true;
    }
  }

  std::optional<Output> as_output(const Node& a, const PacketState& st) {
    std::string_view t = a.text;
    Output o;
    if (starts_with(t, "output:")) {
      std::string_view port = t.substr(7);
      if (auto n = number<uint32_t>(port)) {
        o.ofport = *n;
      } else {  // output:NXM_NX_REG6[] and the like: the register's value now
        auto [field, range] = subfield(port);
        auto it = st.fields.find(state_name(field));
        auto v = it == st.fields.end() ? std::optional<uint64_t>(0) : any_number(it->second);
        if (range || !v) return std::nullopt;
        o.ofport = static_cast<uint32_t>(*v);
      }
      o.kind = OutputKind::kPort;
    } else if (t == "IN_PORT" || t == "in_port" || t == "output:IN_PORT") {
      o.kind = OutputKind::kInPort;
      auto it = st.fields.find("in_port");
      if (it != st.fields.end()) o.ofport = number<uint32_t>(it->second).value_or(0);
    } else if (starts_with(t, "CONTROLLER") || starts_with(t, "controller")) {
      o.kind = OutputKind::kController;
    } else if (t == "NORMAL") {
      o.kind = OutputKind::kNormal;
    } else if (t == "FLOOD" || t == "ALL") {
      o.kind = OutputKind::kFlood;
    } else if (t == "LOCAL") {
      o.kind = OutputKind::kLocal;
    } else {
      return std::nullopt;
    }
    o.action = std::string(t);
    return o;
  }

  void walk(const std::vector<Node>& nodes, Ctx ctx, PacketState& st) {
    for (const Node& n : nodes) {
      switch (n.kind) {
        case NodeKind::kTable: {
          Step s;
          s.bridge = ctx.bridge;
          s.underlay = ctx.underlay;
          s.table = n.table;
          s.priority = n.priority;
          s.cookie = n.cookie;
          s.match = n.match;
          s.no_match = n.no_match;
          s.depth = ctx.depth;
          s.branch = ctx.branch;
          out.steps.push_back(std::move(s));
          Ctx inner = ctx;
          inner.step = static_cast<int>(out.steps.size()) - 1;
          inner.depth = ctx.depth + 1;
          walk(n.children, inner, st);
          break;
        }
        case NodeKind::kAction: {
          if (ctx.step >= 0) out.steps[ctx.step].actions.push_back(n.text);
          apply(n, st);
          if (starts_with(n.text, "group:")) ctx.group = n.text.substr(6);
          std::optional<Output> o = as_output(n, st);
          for (const Node& c : n.children) {
            if (c.kind == NodeKind::kDetail) {
              if (ctx.step >= 0) out.steps[ctx.step].details.push_back(c.text);
              if (o) o->details.push_back(c.text);
            } else if (c.kind == NodeKind::kWarn || c.kind == NodeKind::kError) {
              if (ctx.step >= 0) out.steps[ctx.step].warnings.push_back(c.text);
              if (o) {
                o->warnings.push_back(c.text);
                o->effective = false;
              }
            }
          }
          if (o) {
            o->bridge = ctx.bridge;
            o->underlay = ctx.underlay;
            o->branch = ctx.branch;
            o->step = ctx.step;
            o->packet = st;
            out.outputs.push_back(std::move(*o));
          }
          // Tables and bridges under an action (a nested bridge after a tunnel output).
          std::vector<Node> rest;
          for (const Node& c : n.children)
            if (c.kind != NodeKind::kDetail && c.kind != NodeKind::kWarn && c.kind != NodeKind::kError)
              rest.push_back(c);
          if (!rest.empty()) walk(rest, ctx, st);
          break;
        }
        case NodeKind::kBucket: {
          PacketState copy = st;  // each bucket acts on its own copy of the packet
          Ctx inner = ctx;
          inner.branch = (ctx.branch.empty() ? "" : ctx.branch + ", ") + "group " + ctx.group + ", " + n.text;
          walk(n.children, inner, copy);
          break;
        }
        case NodeKind::kBridge: {
          PacketState copy = st;  // the encapsulated packet: only approximately this one
          copy.approximate = true;
          Ctx inner = ctx;
          inner.bridge = n.bridge;
          inner.underlay = true;
          walk(n.children, inner, copy);
          break;
        }
        case NodeKind::kDetail:
          if (ctx.step >= 0) out.steps[ctx.step].details.push_back(n.text);
          break;
        case NodeKind::kWarn:
        case NodeKind::kError:
          if (ctx.step >= 0) out.steps[ctx.step].warnings.push_back(n.text);
          break;
        case NodeKind::kNote:
          break;
      }
    }
  }
};

}  // namespace

Walk walk_trace(const ParsedTrace& t) {
  Walker w;
  PacketState st;
  st.fields = flow_fields(t.flow);
  for (size_t i = 0; i < t.bridges.size(); ++i) {
    Walker::Ctx ctx;
    ctx.bridge = t.bridges[i].name;
    ctx.underlay = i > 0;  // a second section: the bridge a tunnel or patch port led to
    PacketState copy = st;
    if (i > 0) copy.approximate = true;
    w.walk(t.bridges[i].nodes, ctx, i == 0 ? st : copy);
  }
  bool delivered = false;
  for (const Output& o : w.out.outputs)
    if (!o.underlay && o.effective) delivered = true;
  if (!delivered) {
    Drop d;
    for (int i = static_cast<int>(w.out.steps.size()) - 1; i >= 0; --i)
      if (!w.out.steps[i].underlay) {
        d.step = i;
        break;
      }
    if (t.translation_error) {
      d.reason = "translation_error";
      d.text = *t.translation_error;
    } else if (d.step >= 0 && w.out.steps[d.step].no_match) {
      d.reason = "no_match";
    } else if (d.step >= 0 && !w.out.steps[d.step].warnings.empty()) {
      d.reason = "warning";
      d.text = w.out.steps[d.step].warnings.back();
    } else {
      d.reason = "drop_action";
      // The last warning on the way, if any (e.g. the output a tunnel could not take).
      for (const Output& o : w.out.outputs)
        if (!o.underlay && !o.warnings.empty()) {
          d.reason = "warning";
          d.text = o.warnings.back();
        }
    }
    w.out.drop = d;
  }
  return std::move(w.out);
}

}  // namespace vlcp::trace
