// The link layer's test driver (system test link_netns, by hand): each command goes through a
// real LinkExecutor (the vlcp-link thread, answers on a control loop), as vlcpd's plug does.
//   link_tool veth HOST PEER [--netns PATH] [--mtu N] [--mac MAC] [--alias TEXT] [--peer-up]
//   link_tool setup NETNS IFNAME [--mtu N] [--addr A.B.C.D/L]... [--route DST/L[@GW]]...
//   link_tool set NAME [--netns PATH] [--mtu N] [--mac MAC] [--up|--down] [--alias TEXT]
//                      [--move PATH] [--name NEW]
//   link_tool del NAME... [--netns PATH]        (several: one batch; exit status of the first error)
//   link_tool list [--netns PATH] [--alias-prefix P]    one line a link: name index kind mtu up alias
// --check-home (any command): afterwards the link thread lists its own namespace's links, which
// must be this process's (the thread came back from every namespace it entered), else exit 7.
// Exit status: 0 done, 3 already exists, 4 not found, 5 invalid argument (a non-netns path
// too), 6 permission denied, 1 anything else (the error on stderr), 2 usage.
#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "io/control_loop.h"
#include "link/executor.h"

using namespace vlcp;
using namespace vlcp::link;

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "link_tool: " << why << "\n";
  std::exit(2);
}

Ipv4 ipv4(const std::string& s) {
  Ipv4 a;
  if (inet_pton(AF_INET, s.c_str(), a.data()) != 1) usage("not an IPv4 address: " + s);
  return a;
}

Ipv4Prefix prefix(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) usage("expected A.B.C.D/LEN: " + s);
  Ipv4Prefix p;
  p.address = ipv4(s.substr(0, slash));
  p.length = static_cast<uint8_t>(std::atoi(s.c_str() + slash + 1));
  return p;
}

Mac mac(const std::string& s) {
  Mac m;
  unsigned v[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    usage("not a MAC: " + s);
  for (int i = 0; i < 6; ++i) m[i] = static_cast<uint8_t>(v[i]);
  return m;
}

int exit_code(const Status& s) {
  if (s.ok()) return 0;
  std::cerr << "link_tool: " << s.to_string() << "\n";
  switch (s.code()) {
    case Errc::kAlreadyExists:
      return 3;
    case Errc::kNotFound:
      return 4;
    case Errc::kInvalidArgument:
      return 5;
    case Errc::kPermissionDenied:
      return 6;
    default:
      return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) usage("no command");
  std::string cmd = args[0];
  std::vector<std::string> pos;
  std::string netns, alias_prefix, move, new_name;
  std::optional<std::string> alias;
  std::optional<uint32_t> mtu;
  std::optional<Mac> mac_addr;
  std::optional<bool> up;
  bool peer_up = false, check_home = false;
  std::vector<Ipv4Prefix> addrs;
  std::vector<Route> routes;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) usage(a + " needs a value");
      return args[++i];
    };
    if (a == "--netns") {
      netns = value();
    } else if (a == "--mtu") {
      mtu = static_cast<uint32_t>(std::stoul(value()));
    } else if (a == "--mac") {
      mac_addr = mac(value());
    } else if (a == "--alias") {
      alias = value();
    } else if (a == "--alias-prefix") {
      alias_prefix = value();
    } else if (a == "--check-home") {
      check_home = true;
    } else if (a == "--peer-up") {
      peer_up = true;
    } else if (a == "--up") {
      up = true;
    } else if (a == "--down") {
      up = false;
    } else if (a == "--move") {
      move = value();
    } else if (a == "--name") {
      new_name = value();
    } else if (a == "--addr") {
      addrs.push_back(prefix(value()));
    } else if (a == "--route") {
      std::string r = value();
      Route route;
      auto at = r.find('@');
      route.destination = prefix(r.substr(0, at));
      if (at != std::string::npos) route.gateway = ipv4(r.substr(at + 1));
      routes.push_back(route);
    } else if (a.rfind("--", 0) == 0) {
      usage("unknown option " + a);
    } else {
      pos.push_back(a);
    }
  }

  io::ControlLoop loop(RealClock::instance());
  auto executor = LinkExecutor::start(loop);
  if (!executor.ok()) return exit_code(executor.error());
  LinkOps& ops = **executor;
  int rc = 0;
  auto names = [](const std::vector<LinkInfo>& links) {
    std::vector<std::string> n;
    for (const auto& l : links) n.push_back(l.name + "#" + std::to_string(l.index));
    std::sort(n.begin(), n.end());
    return n;
  };
  auto finish = [&](Status s) {
    rc = exit_code(s);
    if (!check_home) {
      loop.stop();
      return;
    }
    ops.list_links("", [&](Result<std::vector<LinkInfo>> theirs) {
      auto worker = LinkWorker::open();  // this (main) thread's namespace
      auto ours = worker.ok() ? (*worker)->list_links("") : Result<std::vector<LinkInfo>>(worker.error());
      if (!theirs.ok() || !ours.ok() || names(*theirs) != names(*ours)) {
        std::cerr << "link_tool: the link thread is not in the process's namespace\n";
        rc = 7;
      }
      loop.stop();
    });
  };

  if (cmd == "veth" && pos.size() == 2) {
    VethRequest r;
    r.host_name = pos[0];
    r.peer_name = pos[1];
    r.netns = netns;
    r.mtu = mtu.value_or(0);
    r.peer_mac = mac_addr;
    r.alias = alias.value_or("");
    r.peer_up = peer_up;
    ops.create_veth(r, finish);
  } else if (cmd == "setup" && pos.size() == 2) {
    NetnsSetup s;
    s.netns = pos[0];
    s.ifname = pos[1];
    s.mtu = mtu.value_or(0);
    s.addresses = addrs;
    s.routes = routes;
    ops.setup_netns(s, finish);
  } else if (cmd == "set" && pos.size() == 1) {
    LinkChange c;
    c.name = pos[0];
    c.netns = netns;
    c.mtu = mtu;
    c.mac = mac_addr;
    c.up = up;
    c.alias = alias;
    c.move_to_netns = move;
    c.new_name = new_name;
    ops.set_link(c, finish);
  } else if (cmd == "del" && !pos.empty()) {
    // Posted together: the link thread deletes them in one batch. The first error decides.
    auto left = std::make_shared<size_t>(pos.size());
    auto first = std::make_shared<Status>();
    for (const auto& name : pos) {
      ops.delete_link(name, netns, [&, left, first](Status s) {
        if (!s.ok() && first->ok()) *first = s;
        if (--*left == 0) finish(*first);
      });
    }
  } else if (cmd == "list" && pos.empty()) {
    ops.list_links(netns, [&](Result<std::vector<LinkInfo>> links) {
      if (links.ok()) {
        for (const LinkInfo& l : *links) {
          if (!alias_prefix.empty() && l.alias.rfind(alias_prefix, 0) != 0) continue;
          std::cout << l.name << " " << l.index << " " << (l.kind.empty() ? "-" : l.kind) << " " << l.mtu
                    << " " << (l.up ? "up" : "down") << " " << (l.alias.empty() ? "-" : l.alias) << "\n";
        }
      }
      finish(links.status());
    });
  } else {
    usage("bad command line for " + cmd);
  }
  loop.run();
  return rc;
}
