// Fakes shared by the containers unit tests: links as the kernel would keep them and OVSDB ports
// as ovsdb-server would, each keeping what it made — so "nothing left" is checked on state. Every
// answer comes later on the loop, as the real ones do.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "containers/plug.h"
#include "link/executor.h"
#include "ovsdb/replica.h"

namespace vlcp::containers::fakes {

// Links: host end -> peer, MTU, MAC, alias. fail_create / fail_list make those calls fail.
class FakeLinks final : public link::LinkOps {
 public:
  explicit FakeLinks(io::ControlLoop& loop) : loop_(loop) {}
  struct Veth {
    std::string peer, alias;
    uint32_t mtu = 0;
    std::optional<link::Mac> mac = std::nullopt;
  };
  std::map<std::string, Veth> veths;
  Status fail_create;
  Status fail_list;
  void create_veth(link::VethRequest r, Done done) override {
    Status s = fail_create;
    if (s.ok()) {
      if (veths.count(r.host_name))
        s = make_error(Errc::kAlreadyExists, "exists");
      else
        veths[r.host_name] = {r.peer_name, r.alias, r.mtu, r.peer_mac};
    }
    later([done, s] { done(s); });
  }
  // Either end names the pair, as deleting one end of a veth removes both.
  void delete_link(std::string name, std::string, Done done) override {
    bool had = veths.erase(name) > 0;
    for (auto it = veths.begin(); !had && it != veths.end(); ++it)
      if (it->second.peer == name) {
        veths.erase(it);
        had = true;
        break;
      }
    later([done, had] { done(had ? Status() : make_error(Errc::kNotFound, "no such link")); });
  }
  void set_link(link::LinkChange, Done done) override {
    later([done] { done(Status()); });
  }
  void setup_netns(link::NetnsSetup, Done done) override {
    later([done] { done(Status()); });
  }
  void list_links(std::string, std::function<void(Result<std::vector<link::LinkInfo>>)> done) override {
    if (!fail_list.ok()) return later([done, s = fail_list] { done(s); });
    std::vector<link::LinkInfo> out;
    for (const auto& [name, v] : veths) {
      link::LinkInfo i;
      i.name = name;
      i.alias = v.alias;
      i.kind = "veth";
      out.push_back(i);
    }
    later([done, out] { done(out); });
  }

 private:
  void later(std::function<void()> fn) { loop_.after(std::chrono::nanoseconds(0), std::move(fn)); }
  io::ControlLoop& loop_;
};

// OVSDB ports by name. fail_plug makes plugs fail; unplug refuses a port of another owner, as the
// real guarded unplug does; ofports count up from next_ofport.
class FakePorts final : public PortOps {
 public:
  explicit FakePorts(io::ControlLoop& loop) : loop_(loop) {}
  std::map<std::string, OvsPortSpec> ports;
  Status fail_plug;
  int64_t next_ofport = 1;
  void plug_port(const std::string&, OvsPortSpec spec, std::function<void(Status)> done) override {
    Status s = fail_plug;
    if (s.ok()) ports[spec.name] = spec;
    later([done, s] { done(s); });
  }
  void unplug_port(const std::string&, const std::string& name, const std::string& owner,
                   std::function<void(Status)> done) override {
    Status s;
    auto it = ports.find(name);
    if (it != ports.end() && it->second.owner != owner)
      s = make_error(Errc::kConflict, "another owner");
    else
      ports.erase(name);
    later([done, s] { done(s); });
  }
  void wait_ofport(const std::string& iface, std::chrono::nanoseconds,
                   std::function<void(Result<int64_t>)> done) override {
    Result<int64_t> r = ports.count(iface) ? Result<int64_t>(next_ofport++)
                                           : Result<int64_t>(make_error(Errc::kTimeout, "no ofport"));
    later([done, r] { done(r); });
  }
  // The replica OVSDB would show: the bridge with these ports, one interface each.
  std::shared_ptr<const ovsdb::Replica> replica(const std::string& bridge) const {
    auto r = std::make_shared<ovsdb::Replica>();
    auto& b = r->bridges[bridge];
    b.name = bridge;
    for (const auto& [name, spec] : ports) {
      b.ports.push_back(name);
      r->ports[name] = ovsdb::Port{name, {name}, {}, -1};
      ovsdb::Interface i;
      i.name = name;
      i.external_ids = spec.external_ids;
      i.external_ids["vlcp-owner"] = spec.owner;
      r->interfaces[name] = i;
    }
    return r;
  }

 private:
  void later(std::function<void()> fn) { loop_.after(std::chrono::nanoseconds(0), std::move(fn)); }
  io::ControlLoop& loop_;
};

}  // namespace vlcp::containers::fakes
