// The link thread: veth pairs, links, and a container's addresses and routes by rtnetlink, in
// the host's namespace or a container's, without forking ip (docs/CONTAINERS_DESIGN.md §3.1).
// LinkOps is the seam the plug machine uses (tests fake it); LinkWorker does the work
// synchronously on the calling thread; LinkExecutor runs a LinkWorker on its own thread
// (`vlcp-link`), takes requests from the control thread through one TaskRing and answers through
// another, so every callback runs on the control thread. Deletes that arrive together are
// batched (one kernel RCU wait for the lot: the cost of a delete is mostly that wait).
//
// Threads: LinkExecutor's public methods are called on the control thread only; its worker and
// sockets belong to the link thread. Namespaces are entered only to open sockets (rtnl.h).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/result.h"
#include "io/control_loop.h"
#include "link/netlink.h"
#include "link/rtnl.h"
#include "sched/task_ring.h"
#include "sched/waker.h"

namespace vlcp::link {

struct Ipv4Prefix {
  Ipv4 address{};
  uint8_t length = 32;
  bool operator==(const Ipv4Prefix&) const = default;
};
struct Route {
  Ipv4Prefix destination;       // 0.0.0.0/0: the default route
  std::optional<Ipv4> gateway;  // none: on-link, out of the interface
  bool operator==(const Route&) const = default;
};

// A veth pair. The host end is made in the executor's namespace, up; the peer (the container
// end) either there too, or directly in `netns` under its final name (one RTM_NEWLINK with
// IFLA_NET_NS_FD). Then IFLA_IFALIAS on both ends (the kernel ignores it on create) and TX
// checksum offload off on both. A failure after the pair exists deletes it again.
struct VethRequest {
  std::string host_name;
  std::string peer_name;
  std::string netns;  // empty: the peer stays beside the host end; else a netns path
  uint32_t mtu = 0;   // both ends; 0: the kernel's default
  std::optional<Mac> peer_mac;
  std::string alias;  // the owner mark ("vlcp:docker:<id>"); empty: none
  bool tx_checksum_off = true;
  bool peer_up = false;
};

// Changes to one link (in `netns`, or the executor's namespace), in one RTM_SETLINK.
struct LinkChange {
  std::string name;
  std::string netns;
  std::optional<uint32_t> mtu;
  std::optional<Mac> mac;
  std::optional<bool> up;
  std::optional<std::string> alias;
  std::string move_to_netns;  // a netns path: the link moves there...
  std::string new_name;       // ...under this name (also a plain rename without a move)
};

// Inside a container's namespace: lo up, the interface's MTU (when set), up, its addresses,
// then its routes (in the main table).
struct NetnsSetup {
  std::string netns;
  std::string ifname;
  uint32_t mtu = 0;
  std::vector<Ipv4Prefix> addresses;
  std::vector<Route> routes;
  bool loopback_up = true;
};

class LinkOps {
 public:
  using Done = std::function<void(Status)>;
  virtual ~LinkOps() = default;
  virtual void create_veth(VethRequest request, Done done) = 0;
  // kNotFound when there is no such link (an undo may take that as done).
  virtual void delete_link(std::string name, std::string netns, Done done) = 0;
  virtual void set_link(LinkChange change, Done done) = 0;
  virtual void setup_netns(NetnsSetup setup, Done done) = 0;
  virtual void list_links(std::string netns, std::function<void(Result<std::vector<LinkInfo>>)> done) = 0;
};

// The work itself, synchronous, on the calling thread (the link thread, a tool, a benchmark).
// Errors are typed (netlink.h: errno_status): kAlreadyExists for a name in use (409),
// kNotFound, kPermissionDenied, kInvalidArgument (bad names, a path that is not a netns)...
class LinkWorker {
 public:
  // Opens the host sockets in the calling thread's namespace.
  static Result<std::unique_ptr<LinkWorker>> open();

  Status create_veth(const VethRequest& r);
  Status delete_link(const std::string& name, const std::string& netns);
  // Several links of one namespace in one kernel batch: each is moved into device group
  // kDeleteGroup (an error there answers that name alone), then the group is deleted with one
  // RTM_DELLINK, so the kernel waits for RCU once for all of them (~3 ms a link instead of
  // ~25 ms one by one on the 2-vCPU VM). A crash between the two steps leaves links in the
  // group; the next batch in that namespace deletes them.
  std::vector<Status> delete_links(const std::vector<std::string>& names, const std::string& netns);
  static constexpr uint32_t kDeleteGroup = 0x766c6370;  // "vlcp": links being deleted by vlcpd
  Status set_link(const LinkChange& c);
  Status setup_netns(const NetnsSetup& s);
  Result<std::vector<LinkInfo>> list_links(const std::string& netns);

 private:
  explicit LinkWorker(NsSockets host) : host_(std::move(host)) {}
  NsSockets host_;
};

class LinkExecutor final : public LinkOps {
 public:
  static Result<std::unique_ptr<LinkExecutor>> start(io::ControlLoop& loop);
  ~LinkExecutor() override;  // requests already queued still run; their answers are dropped

  void create_veth(VethRequest request, Done done) override;
  void delete_link(std::string name, std::string netns, Done done) override;
  void set_link(LinkChange change, Done done) override;
  void setup_netns(NetnsSetup setup, Done done) override;
  void list_links(std::string netns, std::function<void(Result<std::vector<LinkInfo>>)> done) override;

  // Any thread (metrics).
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  std::vector<std::pair<std::string, double>> metrics() const;

 private:
  explicit LinkExecutor(io::ControlLoop& loop) : loop_(loop) {}
  void thread_main();
  // Runs `work` on the link thread and `answer` with its result on the control thread.
  template <typename R>
  void run(std::function<R(LinkWorker&)> work, std::function<void(R)> answer);
  // Link thread: the deletes queued since the last other request, in one batch per namespace
  // (LinkWorker::delete_links); every other request flushes them first, so order is kept.
  void flush_deletes();
  struct PendingDelete {
    std::string name, netns;
    Done answer;
  };
  std::vector<PendingDelete> deletes_;  // link thread

  io::ControlLoop& loop_;
  std::unique_ptr<LinkWorker> worker_;  // the link thread's
  Status worker_error_;                 // why there is none (answered to every request)
  sched::EventFdWaker waker_;
  std::unique_ptr<sched::TaskRing> to_link_, to_loop_;
  uint64_t source_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
  std::atomic<uint64_t> requests_{0}, failures_{0};
};

}  // namespace vlcp::link
