// The link thread and its synchronous work (see executor.h).
#include "link/executor.h"

#include <pthread.h>

#include <map>

#include "base/log.h"
#include "link/ethtool.h"

namespace vlcp::link {

namespace {

// The sockets a request uses: the host's (owned by the worker) or a namespace's, opened for
// this request and closed when it ends.
struct Place {
  NsSockets* sockets = nullptr;
  std::optional<NsSockets> own;
};
Status enter(NsSockets& host, const std::string& netns, Place* place) {
  if (netns.empty()) {
    place->sockets = &host;
    return {};
  }
  VLCP_ASSIGN_OR_RETURN(Fd fd, open_netns(netns));
  VLCP_ASSIGN_OR_RETURN(NsSockets s, open_sockets_in(fd));
  place->own.emplace(std::move(s));
  place->sockets = &*place->own;
  return {};
}

std::string where(const std::string& netns) {
  return netns.empty() ? std::string() : " in " + netns;
}

}  // namespace

Result<std::unique_ptr<LinkWorker>> LinkWorker::open() {
  VLCP_ASSIGN_OR_RETURN(NsSockets host, open_sockets_here());
  return std::unique_ptr<LinkWorker>(new LinkWorker(std::move(host)));
}

Status LinkWorker::create_veth(const VethRequest& r) {
  VLCP_RETURN_IF_ERROR(check_ifname(r.host_name));
  VLCP_RETURN_IF_ERROR(check_ifname(r.peer_name));
  VLCP_RETURN_IF_ERROR(check_alias(r.alias));
  std::string what = "creating veth " + r.host_name + "/" + r.peer_name + where(r.netns);
  Fd ns;
  Place peer_place;
  if (!r.netns.empty()) {
    VLCP_ASSIGN_OR_RETURN(ns, open_netns(r.netns));
    VLCP_ASSIGN_OR_RETURN(NsSockets s, open_sockets_in(ns));
    peer_place.own.emplace(std::move(s));
    peer_place.sockets = &*peer_place.own;
  } else {
    peer_place.sockets = &host_;
  }
  VethParams p;
  p.host_name = r.host_name;
  p.peer_name = r.peer_name;
  p.mtu = r.mtu;
  p.peer_mac = r.peer_mac;
  p.peer_up = r.peer_up;
  if (ns) p.peer_netns_fd = static_cast<uint32_t>(ns.get());
  VLCP_RETURN_IF_ERROR(host_.rtnl.call(veth_request(p, 0), what));

  // The pair exists: from here a failure deletes it (the peer goes with the host end).
  Status s = [&]() -> Status {
    if (!r.alias.empty()) {
      LinkAttrs a;
      a.alias = r.alias;
      a.ifname = r.host_name;
      VLCP_RETURN_IF_ERROR(
          host_.rtnl.call(set_link_request(0, a, std::nullopt, 0), "marking " + r.host_name));
      a.ifname = r.peer_name;
      VLCP_RETURN_IF_ERROR(
          peer_place.sockets->rtnl.call(set_link_request(0, a, std::nullopt, 0), "marking " + r.peer_name));
    }
    if (r.tx_checksum_off) {
      VLCP_RETURN_IF_ERROR(set_tx_checksum(host_.inet.get(), r.host_name, false));
      VLCP_RETURN_IF_ERROR(set_tx_checksum(peer_place.sockets->inet.get(), r.peer_name, false));
    }
    return {};
  }();
  if (!s.ok()) {
    Status undo = host_.rtnl.call(del_link_request(r.host_name, 0), "deleting " + r.host_name);
    if (!undo.ok()) {
      VLCP_LOG_RL(kWarn, "link", 10, 2) << "undo of a failed veth create: " << undo.message();
    }
  }
  return s;
}

Status LinkWorker::delete_link(const std::string& name, const std::string& netns) {
  VLCP_RETURN_IF_ERROR(check_ifname(name));
  Place place;
  VLCP_RETURN_IF_ERROR(enter(host_, netns, &place));
  return place.sockets->rtnl.call(del_link_request(name, 0), "deleting link " + name + where(netns));
}

std::vector<Status> LinkWorker::delete_links(const std::vector<std::string>& names,
                                             const std::string& netns) {
  std::vector<Status> out(names.size());
  if (names.size() == 1) {
    out[0] = delete_link(names[0], netns);
    return out;
  }
  Place place;
  if (Status s = enter(host_, netns, &place); !s.ok()) {
    for (auto& o : out) o = s;
    return out;
  }
  RtnlSocket& rtnl = place.sockets->rtnl;
  bool any = false;
  for (size_t i = 0; i < names.size(); ++i) {
    out[i] = check_ifname(names[i]);
    if (!out[i].ok()) continue;
    LinkAttrs a;
    a.group = kDeleteGroup;
    a.ifname = names[i];
    out[i] = rtnl.call(set_link_request(0, a, std::nullopt, 0), "deleting link " + names[i] + where(netns));
    any = any || out[i].ok();
  }
  if (!any) return out;
  Status batch = rtnl.call(del_group_request(kDeleteGroup, 0), "deleting a batch of links" + where(netns));
  if (!batch.ok()) {
    for (auto& o : out)
      if (o.ok()) o = batch;
  }
  return out;
}

Status LinkWorker::set_link(const LinkChange& c) {
  VLCP_RETURN_IF_ERROR(check_ifname(c.name));
  if (!c.new_name.empty()) {
    VLCP_RETURN_IF_ERROR(check_ifname(c.new_name));
  }
  if (c.alias) {
    VLCP_RETURN_IF_ERROR(check_alias(*c.alias));
  }
  Place place;
  VLCP_RETURN_IF_ERROR(enter(host_, c.netns, &place));
  std::string what = "changing link " + c.name + where(c.netns);
  LinkAttrs a;
  a.mtu = c.mtu;
  a.address = c.mac;
  a.alias = c.alias;
  Fd target;
  int32_t index = 0;
  if (!c.move_to_netns.empty() || !c.new_name.empty()) {
    // IFLA_IFNAME is then the new name: the link is found by its index.
    VLCP_ASSIGN_OR_RETURN(LinkMessage found, place.sockets->rtnl.get_link(c.name));
    index = found.body.info.index;
    if (!c.move_to_netns.empty()) {
      VLCP_ASSIGN_OR_RETURN(target, open_netns(c.move_to_netns));
      a.net_ns_fd = static_cast<uint32_t>(target.get());
    }
    a.ifname = c.new_name.empty() ? c.name : c.new_name;
  } else {
    a.ifname = c.name;
  }
  return place.sockets->rtnl.call(set_link_request(index, std::move(a), c.up, 0), what);
}

Status LinkWorker::setup_netns(const NetnsSetup& s) {
  VLCP_RETURN_IF_ERROR(check_ifname(s.ifname));
  if (s.netns.empty())
    return make_error(Errc::kInvalidArgument, "setting up " + s.ifname + ": no namespace given");
  Place place;
  VLCP_RETURN_IF_ERROR(enter(host_, s.netns, &place));
  RtnlSocket& rtnl = place.sockets->rtnl;
  std::string in = where(s.netns);
  if (s.loopback_up) {
    LinkAttrs lo;
    lo.ifname = "lo";
    VLCP_RETURN_IF_ERROR(rtnl.call(set_link_request(0, lo, true, 0), "bringing lo up" + in));
  }
  VLCP_ASSIGN_OR_RETURN(LinkMessage link, rtnl.get_link(s.ifname));
  int32_t index = link.body.info.index;
  LinkAttrs a;
  if (s.mtu) a.mtu = s.mtu;
  VLCP_RETURN_IF_ERROR(rtnl.call(set_link_request(index, a, true, 0), "bringing " + s.ifname + " up" + in));
  for (const Ipv4Prefix& p : s.addresses) {
    if (p.length > 32) return make_error(Errc::kInvalidArgument, "prefix length over 32");
    VLCP_RETURN_IF_ERROR(
        rtnl.call(add_addr_request(index, p.address, p.length, 0), "adding an address to " + s.ifname + in));
  }
  for (const Route& r : s.routes) {
    if (r.destination.length > 32) return make_error(Errc::kInvalidArgument, "route prefix length over 32");
    std::optional<uint32_t> oif;
    if (!r.gateway) oif = static_cast<uint32_t>(index);
    VLCP_RETURN_IF_ERROR(
        rtnl.call(add_route_request(r.destination.address, r.destination.length, r.gateway, oif, 0),
                  "adding a route" + in));
  }
  return {};
}

Result<std::vector<LinkInfo>> LinkWorker::list_links(const std::string& netns) {
  Place place;
  VLCP_RETURN_IF_ERROR(enter(host_, netns, &place));
  VLCP_ASSIGN_OR_RETURN(auto messages, place.sockets->rtnl.dump_links());
  std::vector<LinkInfo> links;
  links.reserve(messages.size());
  for (const auto& m : messages) links.push_back(link_info(m));
  return links;
}

// ---- the thread ----------------------------------------------------------------------------------

Result<std::unique_ptr<LinkExecutor>> LinkExecutor::start(io::ControlLoop& loop) {
  std::unique_ptr<LinkExecutor> e(new LinkExecutor(loop));
  VLCP_ASSIGN_OR_RETURN(e->to_link_, sched::TaskRing::create("control-to-link", 1023, &e->waker_));
  VLCP_ASSIGN_OR_RETURN(e->to_loop_, sched::TaskRing::create("link-to-control", 1023, &loop.waker()));
  LinkExecutor* self = e.get();
  e->source_ = loop.add_source([self] { return self->to_loop_->run(); });
  e->thread_ = std::thread([self] { self->thread_main(); });
  return e;
}

LinkExecutor::~LinkExecutor() {
  alive_->store(false);
  if (thread_.joinable()) {
    stop_.store(true);
    waker_.notify();
    thread_.join();
  }
  if (source_) loop_.remove_source(source_);
}

void LinkExecutor::thread_main() {
  pthread_setname_np(pthread_self(), "vlcp-link");
  auto worker = LinkWorker::open();
  if (worker.ok()) {
    worker_ = std::move(*worker);
  } else {
    worker_error_ = worker.error();
    VLCP_LOG(kError, "link") << "the link thread has no netlink socket: " << worker_error_.message();
  }
  while (!stop_.load()) {
    while (to_link_->run(256)) {
    }
    flush_deletes();
    waker_.sleep_unless([this] { return stop_.load() || !to_link_->empty(); }, std::chrono::seconds(1));
  }
  to_link_->run();
  flush_deletes();
}

template <typename R>
void LinkExecutor::run(std::function<R(LinkWorker&)> work, std::function<void(R)> answer) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  to_link_->post([this, work = std::move(work), answer = std::move(answer), alive = alive_]() mutable {
    flush_deletes();
    R result = worker_ ? work(*worker_) : R(worker_error_);
    if (!result.ok()) failures_.fetch_add(1, std::memory_order_relaxed);
    if (!alive->load()) return;
    to_loop_->post([answer = std::move(answer), result = std::move(result), alive]() mutable {
      if (alive->load()) answer(std::move(result));
    });
  });
}

void LinkExecutor::create_veth(VethRequest request, Done done) {
  run<Status>([r = std::move(request)](LinkWorker& w) { return w.create_veth(r); }, std::move(done));
}

void LinkExecutor::delete_link(std::string name, std::string netns, Done done) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  to_link_->post([this, d = PendingDelete{std::move(name), std::move(netns), std::move(done)}]() mutable {
    deletes_.push_back(std::move(d));
  });
}

void LinkExecutor::flush_deletes() {
  if (deletes_.empty()) return;
  std::vector<PendingDelete> batch = std::move(deletes_);
  deletes_.clear();
  std::map<std::string, std::vector<size_t>> by_netns;
  for (size_t i = 0; i < batch.size(); ++i) by_netns[batch[i].netns].push_back(i);
  for (auto& [netns, members] : by_netns) {
    std::vector<std::string> names;
    for (size_t i : members) names.push_back(batch[i].name);
    std::vector<Status> results =
        worker_ ? worker_->delete_links(names, netns) : std::vector<Status>(names.size(), worker_error_);
    for (size_t k = 0; k < members.size(); ++k) {
      if (!results[k].ok()) failures_.fetch_add(1, std::memory_order_relaxed);
      if (!alive_->load()) continue;
      to_loop_->post(
          [answer = std::move(batch[members[k]].answer), s = std::move(results[k]), alive = alive_] {
            if (alive->load()) answer(s);
          });
    }
  }
}

void LinkExecutor::set_link(LinkChange change, Done done) {
  run<Status>([c = std::move(change)](LinkWorker& w) { return w.set_link(c); }, std::move(done));
}

void LinkExecutor::setup_netns(NetnsSetup setup, Done done) {
  run<Status>([s = std::move(setup)](LinkWorker& w) { return w.setup_netns(s); }, std::move(done));
}

void LinkExecutor::list_links(std::string netns, std::function<void(Result<std::vector<LinkInfo>>)> done) {
  run<Result<std::vector<LinkInfo>>>(
      [netns = std::move(netns)](LinkWorker& w) { return w.list_links(netns); }, std::move(done));
}

std::vector<std::pair<std::string, double>> LinkExecutor::metrics() const {
  return {{"vlcp_link_requests_total", static_cast<double>(requests())},
          {"vlcp_link_failures_total", static_cast<double>(failures())}};
}

}  // namespace vlcp::link
