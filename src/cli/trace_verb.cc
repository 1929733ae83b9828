#include "cli/trace_verb.h"

#include <algorithm>
#include <cstdio>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace vlcp::cli {

namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// How a hop's packet arrived: "from port a1", "by VXLAN VNI 10001 from 192.168.99.1 (physical
// network vx)", "by VLAN 101 (physical network pv)".
std::string arrival_text(const json& a) {
  std::string via = str(a, "via");
  if (via == "port") return "from port " + str(a, "port");
  std::string net = " (physical network " + str(a, "physicalnetwork") + ")";
  if (via == "vxlan")
    return "by VXLAN VNI " + std::to_string(a.value("vni", 0)) + " from " + str(a, "tun_src") + " to " +
           str(a, "tun_dst") + net;
  if (via == "vlan") return "by VLAN " + std::to_string(a.value("vlan", 0)) + net;
  return "by the untagged uplink" + net;
}

}  // namespace

std::string trace_text(const json& r, bool verbose) {
  std::string out;
  const json& p = r.value("packet", json::object());
  const json& from = r.value("from", json::object());
  const json& to = r.value("to", json::object());
  std::string to_name =
      to.is_object() ? (str(to, "id").empty() ? str(to, "ip") + str(to, "mac") : str(to, "id")) : "";
  std::string from_name =
      str(from, "id").empty() ? str(from, "server") + "/" + str(from, "iface") : str(from, "id");
  out += "trace " + from_name + (to_name.empty() ? "" : " -> " + to_name) + ": " + str(p, "proto") + " " +
         str(p, "ip_src") + " > " + str(p, "ip_dst") + ", " + str(p, "eth_src") + " > " + str(p, "eth_dst") +
         "\n";
  for (const auto& hop : r.value("hops", json::array())) {
    const json& arr = hop.value("arrival", json::object());
    out += "\n" + str(hop, "server") + " " + str(hop, "bridge") + ", " + arrival_text(arr) + " (in_port " +
           std::to_string(arr.value("ofport", 0)) + ")\n";
    std::vector<std::string> folded;
    auto flush = [&] {
      if (folded.empty()) return;
      std::string t;
      for (const auto& f : folded) t += (t.empty() ? "" : ", ") + f;
      out += "                  (tables " + t + ": default goto)\n";
      folded.clear();
    };
    for (const auto& s : hop.value("steps", json::array())) {
      if (s.value("underlay", false) && !verbose) continue;  // the tunnel's underlay bridge: in --raw
      std::string table = std::to_string(s.value("table", -1)) + " " + str(s, "table_name");
      if (s.value("default", false) && !verbose && s.value("actions", json::array()).size() <= 1 &&
          !s.value("actions", json::array()).empty() &&
          s["actions"][0].get<std::string>().rfind("goto_table:", 0) == 0) {
        folded.push_back(table);
        continue;
      }
      flush();
      std::string match = s.value("no_match", false) ? "(no match)" : str(s, "match");
      if (match.empty())
        match = "priority " + std::to_string(s.value("priority", 0));
      else if (s.value("priority", 0) >= 0 && s.value("priority", 0) != 32768)
        match += " p=" + std::to_string(s.value("priority", 0));
      if (verbose) match += " cookie=" + str(s, "cookie");
      std::string owner = s.value("default", false) ? "(table default)" : str(s, "explained");
      std::string indent(static_cast<size_t>(std::clamp(s.value("depth", 0), 0, 32)) * 2, ' ');
      out += "  " + indent + pad(table, 14) + " " + pad(match, 46) + " " + owner + "\n";
      std::string did;
      for (const auto& reg : s.value("registers", json::array()))
        did += (did.empty() ? "" : ", ") + str(reg, "name") + " := " + str(reg, "means");
      for (const auto& a : s.value("actions", json::array())) {
        std::string t = a.get<std::string>();
        if (t.rfind("set_field:", 0) == 0 && t.find("->reg") == std::string::npos)
          did += (did.empty() ? "" : ", ") + t.substr(t.find("->") + 2) +
                 " := " + t.substr(10, t.find("->") - 10);
        else if (t == "dec_ttl" || t.rfind("output:", 0) == 0 || t == "IN_PORT" ||
                 t.rfind("CONTROLLER", 0) == 0 || t.rfind("controller", 0) == 0 || t == "drop")
          did += (did.empty() ? "" : ", ") + t;
      }
      for (const auto& w : s.value("warnings", json::array()))
        did += (did.empty() ? "" : ", ") + ("!! " + w.get<std::string>());
      if (!did.empty()) out += "  " + indent + "                → " + did + "\n";
    }
    flush();
    for (const auto& o : hop.value("outputs", json::array())) {
      std::string where = str(o, "port").empty() ? str(o, "iface") : "port " + str(o, "port");
      out += "  output: " + str(o, "action") + (where.empty() ? "" : " (" + where + ")") +
             (o.value("effective", true) ? "" : " [not effective]") + "\n";
      if (o.contains("arrival") && o["arrival"].is_object()) {
        std::string next = str(o, "next");
        out += "          → leaves " + arrival_text(o["arrival"]).substr(3) +
               (next.empty() ? "" : ", to " + next) +
               (o.value("followed", false) ? " (followed: the next hop)" : " (not followed)") + "\n";
      }
    }
    if (!hop.value("raw", json()).is_null()) out += "\n" + hop["raw"].get<std::string>();
  }
  for (const auto& n : r.value("notes", json::array())) out += "note: " + n.get<std::string>() + "\n";
  bool live = r.contains("live") && r["live"].is_object();
  if (live)
    out += "simulated verdict: " + str(r.value("simulated_verdict", json::object()), "text") + "\n";
  else
    out += "verdict: " + str(r.value("verdict", json::object()), "text") + "\n";
  if (live) {
    const json& l = r["live"];
    out += "live: " + std::to_string(l.value("sent", 0)) + " marked packets sent\n";
    for (const auto& p : l.value("packets", json::array())) {
      out += "  packet " + std::to_string(p.value("no", 0)) + ":";
      for (const auto& ob : p.value("observations", json::array()))
        out += " " + str(ob, "server") + " " + str(ob, "table") + " →";
      out += p.value("delivered", false) ? " delivered\n" : " (not delivered)\n";
    }
    for (const auto& n : l.value("notes", json::array())) out += "  note: " + n.get<std::string>() + "\n";
    out += "live verdict: " + str(l.value("verdict", json::object()), "text") + "\n";
  }
  return out;
}

int trace_verb(const std::vector<std::string>& all) {
  auto cli = parse_cli(all);
  if (!cli.ok()) {
    std::fprintf(stderr, "vlcpctl: %s\n", cli.error().message().c_str());
    return kExitUsage;
  }
  std::vector<std::string> pos;
  std::string query;
  bool verbose = false;
  std::chrono::seconds timeout(60);
  auto usage = [] {
    std::fprintf(stderr, "Usage:\n%s", usage_of("trace").c_str());
    return kExitUsage;
  };
  for (size_t i = 0; i < cli->args.size(); ++i) {
    const std::string& a = cli->args[i];
    if (a == "--verbose") {
      verbose = true;
    } else if (a == "--raw") {
      query += "&raw=true";
    } else if (a == "--live") {
      query += "&live=true";
    } else if (a == "--proto" || a == "--dport" || a == "--sport" || a == "--ttl" || a == "--server" ||
               a == "--timeout" || a == "--count" || a == "--network" || a == "--src-mac" ||
               a == "--src-ip" || a == "--tun-src") {
      if (i + 1 >= cli->args.size()) return usage();
      if (a == "--timeout")
        timeout = std::chrono::seconds(std::clamp(std::atoi(cli->args[i + 1].c_str()), 1, 70) + 5);
      std::string name = a.substr(2);
      std::replace(name.begin(), name.end(), '-', '_');  // (--src-mac: src_mac)
      query += "&" + name + "=" + url_encode(cli->args[++i]);
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "vlcpctl: trace: unknown option %s\n", a.c_str());
      return usage();
    } else {
      pos.push_back(a);
    }
  }
  if (pos.empty() || pos.size() > 2) return usage();
  std::string target = "/trace/packet?from=" + url_encode(pos[0]);
  if (pos.size() == 2) target += "&to=" + url_encode(pos[1]);
  target += query;
  Outcome o = call_result(cli->at, "GET", target, "", timeout);
  if (!o.ok()) return o.exit_code;
  if (cli->as_json) {
    std::printf("%s\n", o.result.dump(2).c_str());
  } else {
    // The answer comes from a vlcpd that may be older or newer than this vlcpctl: a field of
    // another type than expected shows the JSON, never aborts.
    try {
      std::printf("%s", trace_text(o.result, verbose).c_str());
    } catch (const json::exception& e) {
      std::fprintf(stderr, "vlcpctl: trace: the answer is not in the expected form (%s); as JSON:\n",
                   e.what());
      std::printf("%s\n", o.result.dump(2).c_str());
    }
  }
  // (With --live the verdict is the live one: a path the simulation delivers can be lost.)
  std::string outcome =
      o.result.is_object() && o.result.contains("verdict") ? str(o.result["verdict"], "outcome") : "";
  return outcome == "delivered" || outcome == "answered" || outcome == "to_controller" ? 0 : kExitRefused;
}

}  // namespace vlcp::cli
