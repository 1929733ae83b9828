#include "containers/plug.h"

#include <cstdio>
#include <type_traits>

#include "base/fault.h"
#include "base/log.h"
#include "containers/docker_protocol.h"
#include "schema/container_ids.h"

namespace vlcp::containers {

namespace {

constexpr std::string_view kLog = "plug";

log::RateLimiter& plug_rate() {
  static log::RateLimiter r(60, 10);
  return r;
}

void warn(const Clock& clock, const std::string& text) {
  uint64_t suppressed = 0;
  if (plug_rate().allow(clock.now(), &suppressed)) {
    log::Line(log::Level::kWarn, kLog, suppressed) << text;
  }
}

bool valid_container_id(std::string_view id) {
  if (id.empty() || id.size() > 256) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool valid_ifname(std::string_view n) {
  if (n.empty() || n.size() > 15 || n == "." || n == "..") return false;
  for (char c : n) {
    if (c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// FNV-1a 64: the CNI host end's name from the owner (stable across versions: it is on disk).
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string mac_text(const link::Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

// An answer whose effect may have happened anyway (a lost answer, a deadline): the step's own
// undo runs too. A refusal (owner, input) made nothing, and undoing it could touch another's.
bool ambiguous(const Status& s) {
  return s.code() == Errc::kTimeout || s.code() == Errc::kUnavailable || s.code() == Errc::kIo ||
         s.code() == Errc::kInternal;
}

template <typename R>
Status status_of(const R& r) {
  if constexpr (std::is_same_v<R, Status>) {
    return r;
  } else {
    return r.status();
  }
}

}  // namespace

std::string_view plug_step_label(PlugStep step) {
  switch (step) {
#define VLCP_PLUG_STEP_LABEL(name, label) \
  case PlugStep::name:                    \
    return label;
    VLCP_PLUG_STEPS(VLCP_PLUG_STEP_LABEL)
#undef VLCP_PLUG_STEP_LABEL
  }
  return "?";
}

Result<EndpointNames> endpoint_names(const EndpointIdentity& e, std::string_view prefix) {
  EndpointNames n;
  if (e.kind == EndpointKind::kDocker) {
    auto v = docker::veth_names(prefix, e.id);
    if (!v) return make_error(Errc::kInvalidArgument, "endpoint id or veth prefix of the wrong form");
    n.port_id = docker::port_id(e.id);
    n.owner = docker::owner_mark(e.id);
    n.alias = docker::veth_alias(e.id);
    n.host_veth = v->host;
    n.peer_veth = v->container;
    return n;
  }
  if (!docker::valid_veth_prefix(prefix)) return make_error(Errc::kInvalidArgument, "bad veth prefix");
  if (!valid_container_id(e.id)) return make_error(Errc::kInvalidArgument, "container id of the wrong form");
  std::string ifname = e.ifname.empty() ? "eth0" : e.ifname;
  if (!valid_ifname(ifname)) return make_error(Errc::kInvalidArgument, "interface name of the wrong form");
  n.port_id = schema::cni_port_id(e.id, ifname);
  n.owner = "cni:" + e.id + ":" + ifname;
  n.alias = "vlcp:" + n.owner;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(n.owner)));
  n.host_veth = std::string(prefix) + std::string(hex, 10);
  n.peer_veth = ifname;
  return n;
}

// ---- journal -----------------------------------------------------------------------------------

std::vector<std::string> StepJournal::steps() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.step);
  return out;
}

void with_retries(io::ControlLoop& loop, RetryPolicy policy, StepJournal::Undo op,
                  std::function<void(Status)> done) {
  struct State {
    unsigned tries = 0;
    std::chrono::milliseconds delay;
  };
  auto st = std::make_shared<State>(State{0, policy.delay});
  auto attempt = std::make_shared<std::function<void()>>();
  *attempt = [&loop, policy, op, done, st, attempt] {
    ++st->tries;
    op([&loop, policy, done, st, attempt](Status s) {
      if (s.ok() || s.code() == Errc::kNotFound || st->tries >= std::max(1u, policy.attempts)) {
        auto self = std::move(*attempt);  // break the cycle
        (void)self;
        done(s.code() == Errc::kNotFound ? Status{} : s);
        return;
      }
      auto wait = st->delay;
      st->delay *= 2;
      loop.after(wait, [attempt] { (*attempt)(); });
    });
  };
  (*attempt)();
}

void StepJournal::unwind(io::ControlLoop& loop, RetryPolicy policy, std::function<void(Outcome)> done) {
  struct State {
    std::vector<Entry> entries;  // run from the back
    Outcome outcome;
    std::function<void(Outcome)> done;
  };
  auto st = std::make_shared<State>();
  st->entries = std::move(entries_);
  entries_.clear();
  st->done = std::move(done);
  auto next = std::make_shared<std::function<void()>>();
  *next = [&loop, policy, st, next] {
    if (st->entries.empty()) {
      auto self = std::move(*next);
      (void)self;
      st->done(std::move(st->outcome));
      return;
    }
    Entry e = std::move(st->entries.back());
    st->entries.pop_back();
    with_retries(loop, policy, e.undo, [st, next, step = e.step](Status s) {
      if (s.ok()) {
        ++st->outcome.undone;
      } else {
        st->outcome.failed.emplace_back(step, s);
      }
      (*next)();
    });
  };
  (*next)();
}

// ---- the machine -------------------------------------------------------------------------------

struct Plugger::Op {
  PlugRequest request;
  EndpointNames names;
  std::function<void(Result<PlugResult>)> done;
  std::function<void()> finished;  // the keyed queue's
  StepJournal journal;
  PlugResult result;
  bool over = false;
};

Plugger::Plugger(io::ControlLoop& loop, EndpointStore& store, link::LinkOps& links, PortOps& ports,
                 PlugSettings settings)
    : loop_(loop), store_(store), links_(links), ports_(ports), settings_(std::move(settings)) {}

Plugger::~Plugger() {
  *alive_ = false;
  for (const auto& [id, timer] : flow_waits_) {
    loop_.cancel(timer);
    if (flows_) flows_->cancel(id);
  }
}

void Plugger::enqueue(const std::string& key, Task task) {
  auto [it, fresh] = queues_.try_emplace(key);
  it->second.push_back(std::move(task));
  if (!fresh) return;  // runs when the ones before it finish
  auto alive = alive_;
  auto run_front = std::make_shared<std::function<void()>>();
  *run_front = [this, alive, key, run_front] {
    auto q = queues_.find(key);
    Task t = q->second.front();
    t([this, alive, key, run_front] {
      if (!*alive) return;
      auto q2 = queues_.find(key);
      q2->second.pop_front();
      if (q2->second.empty()) {
        queues_.erase(q2);
        auto self = std::move(*run_front);  // break the cycle
        (void)self;
        return;
      }
      (*run_front)();
    });
  };
  (*run_front)();
}

void Plugger::plug(PlugRequest request, std::function<void(Result<PlugResult>)> done) {
  auto names = endpoint_names(request.endpoint, settings_.veth_prefix);
  if (!names.ok()) {
    ++counters_.plug_failures;
    done(names.error());
    return;
  }
  auto op = std::make_shared<Op>();
  op->request = std::move(request);
  op->names = std::move(names).value();
  op->done = std::move(done);
  std::string key = op->names.owner;
  enqueue(key, [this, op](std::function<void()> finished) {
    op->finished = std::move(finished);
    auto p = plugged_.find(op->names.owner);
    if (p != plugged_.end() && p->second.first == op->request) {
      ++counters_.replays;
      ++counters_.plugs;
      op->over = true;
      auto answer = p->second.second;
      auto fin = std::move(op->finished);
      op->done(std::move(answer));
      fin();
      return;
    }
    run_plug(op);
  });
}

template <typename R>
void Plugger::timed(std::shared_ptr<Op> op, PlugStep step, std::chrono::nanoseconds deadline,
                    std::function<void(std::function<void(R)>)> start, StepJournal::Undo undo,
                    std::function<void(R)> answer) {
  struct Pending {
    bool answered = false, timed_out = false;
    io::TimerId timer = 0;
  };
  auto p = std::make_shared<Pending>();
  auto alive = alive_;
  p->timer = loop_.after(deadline, [this, alive, op, p, step, undo] {
    if (!*alive || p->answered) return;
    p->answered = p->timed_out = true;
    // The step may still take effect: its undo (idempotent) goes behind it on the seam.
    if (undo) op->journal.push(std::string(plug_step_label(step)) + " (past its deadline)", undo);
    fail(op, step,
         make_error(Errc::kTimeout, std::string(plug_step_label(step)) + " step past its deadline"));
  });
  start([this, alive, p, undo, answer = std::move(answer)](R r) {
    if (!*alive) return;
    if (p->timed_out) {
      // Late: whatever it made is undone once more (the unwind may have run before it).
      ++counters_.late_answers;
      if (status_of(r).ok() && undo) {
        with_retries(loop_, settings_.undo, undo, [this, alive](Status s) {
          if (!*alive) return;
          if (s.ok()) {
            ++counters_.undos;
          } else {
            ++counters_.undo_failures;
          }
        });
      }
      return;
    }
    if (p->answered) return;
    p->answered = true;
    loop_.cancel(p->timer);
    answer(std::move(r));
  });
}

StepJournal::Undo Plugger::undo_model(const std::string& port_id) {
  return
      [this, port_id](std::function<void(Status)> done) { store_.delete_endpoint(port_id, std::move(done)); };
}

// Deletes the host end (the peer goes with it) if it is ours: our alias, or none (a crash
// between create and alias). A link of that name with another owner is left alone.
StepJournal::Undo Plugger::undo_veth(const EndpointNames& names) {
  return [this, names](std::function<void(Status)> done) {
    links_.list_links("", [this, names, done](Result<std::vector<link::LinkInfo>> links) {
      if (!links.ok()) {
        done(links.error());
        return;
      }
      for (const auto& l : *links) {
        if (l.name != names.host_veth) continue;
        if (!l.alias.empty() && l.alias != names.alias) {
          done(Status{});  // not ours: nothing of ours to undo
          return;
        }
        links_.delete_link(names.host_veth, "", done);
        return;
      }
      done(Status{});
    });
  };
}

StepJournal::Undo Plugger::undo_ovsdb(const std::string& bridge, const EndpointNames& names) {
  return [this, bridge, names](std::function<void(Status)> done) {
    ports_.unplug_port(bridge, names.host_veth, names.owner, std::move(done));
  };
}

void Plugger::run_plug(std::shared_ptr<Op> op) {
  timed<Result<EndpointRecord>>(
      op, PlugStep::kModel, settings_.step_deadline,
      [this, op](std::function<void(Result<EndpointRecord>)> cb) {
        store_.create_endpoint(op->request, op->names, std::move(cb));
      },
      undo_model(op->names.port_id),
      [this, op](Result<EndpointRecord> r) {
        if (!r.ok()) {
          if (ambiguous(r.error())) op->journal.push("model", undo_model(op->names.port_id));
          fail(op, PlugStep::kModel, r.error());
          return;
        }
        op->journal.push("model", undo_model(op->names.port_id));
        fault::hit(fault::Point::kContainersAfterModel);
        op->result.names = op->names;
        op->result.record = std::move(r).value();
        op->result.mtu = op->result.record.mtu ? op->result.record.mtu : op->request.mtu;
        step_veth(op, false);
      });
}

void Plugger::step_veth(std::shared_ptr<Op> op, bool retried) {
  link::VethRequest v;
  v.host_name = op->names.host_veth;
  v.peer_name = op->names.peer_veth;
  v.netns = op->request.endpoint.kind == EndpointKind::kCni ? op->request.netns : "";
  v.mtu = op->result.mtu;
  v.peer_mac = op->result.record.mac;
  v.alias = op->names.alias;
  v.tx_checksum_off = settings_.tx_checksum_off;
  v.peer_up = false;
  timed<Status>(
      op, PlugStep::kVeth, settings_.step_deadline,
      [this, v](std::function<void(Status)> cb) { links_.create_veth(v, std::move(cb)); },
      undo_veth(op->names),
      [this, op, retried](Status s) {
        if (s.code() == Errc::kAlreadyExists && !retried) {
          resolve_veth_conflict(op, s);
          return;
        }
        if (!s.ok()) {
          if (ambiguous(s)) op->journal.push("veth", undo_veth(op->names));
          fail(op, PlugStep::kVeth, s);
          return;
        }
        op->journal.push("veth", undo_veth(op->names));
        fault::hit(fault::Point::kContainersAfterVeth);
        if (op->request.endpoint.kind == EndpointKind::kCni) {
          step_netns(op);
        } else {
          step_ovsdb(op);
        }
      });
}

// create_veth said a name is in use. Ours (our alias, or an unmarked link named from our id)
// is deleted and the create tried once more; another owner's is a 409 and stays.
void Plugger::resolve_veth_conflict(std::shared_ptr<Op> op, Status conflict) {
  const bool cni = op->request.endpoint.kind == EndpointKind::kCni;
  timed<Result<std::vector<link::LinkInfo>>>(
      op, PlugStep::kVeth, settings_.step_deadline,
      [this](std::function<void(Result<std::vector<link::LinkInfo>>)> cb) {
        links_.list_links("", std::move(cb));
      },
      nullptr,
      [this, op, conflict, cni](Result<std::vector<link::LinkInfo>> links) {
        if (!links.ok()) {
          fail(op, PlugStep::kVeth, links.error());
          return;
        }
        std::vector<std::string> ours;
        for (const auto& l : *links) {
          bool named = l.name == op->names.host_veth || (!cni && l.name == op->names.peer_veth);
          if (!named) continue;
          if (!l.alias.empty() && l.alias != op->names.alias) {
            fail(op, PlugStep::kVeth,
                 make_error(Errc::kAlreadyExists, "link " + l.name + " belongs to '" + l.alias + "'"));
            return;
          }
          ours.push_back(l.name);
        }
        auto retry = [this, op] {
          ++counters_.replaced;
          step_veth(op, true);
        };
        if (ours.empty()) {
          if (!cni) {
            fail(op, PlugStep::kVeth, conflict);
            return;
          }
          // The name in use is the pod's: ours only when it carries our alias.
          timed<Result<std::vector<link::LinkInfo>>>(
              op, PlugStep::kVeth, settings_.step_deadline,
              [this, op](std::function<void(Result<std::vector<link::LinkInfo>>)> cb) {
                links_.list_links(op->request.netns, std::move(cb));
              },
              nullptr,
              [this, op, conflict, retry](Result<std::vector<link::LinkInfo>> in_pod) {
                if (!in_pod.ok()) {
                  fail(op, PlugStep::kVeth, in_pod.error());
                  return;
                }
                for (const auto& l : *in_pod) {
                  if (l.name != op->names.peer_veth) continue;
                  if (l.alias != op->names.alias) {
                    fail(op, PlugStep::kVeth,
                         make_error(Errc::kAlreadyExists,
                                    "interface " + l.name + " exists in " + op->request.netns +
                                        (l.alias.empty() ? "" : " ('" + l.alias + "')")));
                    return;
                  }
                  timed<Status>(
                      op, PlugStep::kVeth, settings_.step_deadline,
                      [this, op](std::function<void(Status)> cb) {
                        links_.delete_link(op->names.peer_veth, op->request.netns, std::move(cb));
                      },
                      nullptr,
                      [this, op, retry](Status s) {
                        if (!s.ok() && s.code() != Errc::kNotFound) {
                          fail(op, PlugStep::kVeth, s);
                          return;
                        }
                        retry();
                      });
                  return;
                }
                fail(op, PlugStep::kVeth, conflict);
              });
          return;
        }
        // Delete ours one after the other (deleting a veth end takes its peer: kNotFound is fine).
        auto names = std::make_shared<std::vector<std::string>>(std::move(ours));
        auto next = std::make_shared<std::function<void()>>();
        *next = [this, op, names, next, retry] {
          if (names->empty()) {
            auto self = std::move(*next);
            (void)self;
            retry();
            return;
          }
          std::string name = names->back();
          names->pop_back();
          timed<Status>(
              op, PlugStep::kVeth, settings_.step_deadline,
              [this, name](std::function<void(Status)> cb) { links_.delete_link(name, "", std::move(cb)); },
              nullptr,
              [this, op, next](Status s) {
                if (!s.ok() && s.code() != Errc::kNotFound) {
                  auto self = std::move(*next);
                  (void)self;
                  fail(op, PlugStep::kVeth, s);
                  return;
                }
                (*next)();
              });
        };
        (*next)();
      });
}

void Plugger::step_netns(std::shared_ptr<Op> op) {
  link::NetnsSetup s;
  s.netns = op->request.netns;
  s.ifname = op->names.peer_veth;
  s.mtu = op->result.mtu;
  const auto& rec = op->result.record;
  if (rec.address) s.addresses.push_back(*rec.address);
  if (rec.gateway) s.routes.push_back(link::Route{link::Ipv4Prefix{{0, 0, 0, 0}, 0}, rec.gateway});
  for (const auto& r : rec.routes) s.routes.push_back(r);
  timed<Status>(
      op, PlugStep::kNetns, settings_.step_deadline,
      [this, s](std::function<void(Status)> cb) { links_.setup_netns(s, std::move(cb)); }, nullptr,
      [this, op](Status st) {
        if (!st.ok()) {
          fail(op, PlugStep::kNetns, st);  // the veth's undo takes the pod's end with it
          return;
        }
        step_ovsdb(op);
      });
}

void Plugger::step_ovsdb(std::shared_ptr<Op> op) {
  OvsPortSpec spec;
  spec.name = op->names.host_veth;
  spec.owner = op->names.owner;
  spec.external_ids["iface-id"] = op->names.port_id;
  spec.external_ids["attached-mac"] = mac_text(op->result.record.mac);
  spec.mtu_request = op->result.mtu;
  auto undo = undo_ovsdb(op->request.bridge, op->names);
  timed<Status>(
      op, PlugStep::kOvsdb, settings_.step_deadline,
      [this, op, spec](std::function<void(Status)> cb) {
        ports_.plug_port(op->request.bridge, spec, std::move(cb));
      },
      undo,
      [this, op, undo](Status s) {
        if (!s.ok()) {
          if (ambiguous(s)) op->journal.push("ovsdb", undo);
          if (s.code() == Errc::kConflict) s = make_error(Errc::kAlreadyExists, s.message());
          fail(op, PlugStep::kOvsdb, s);
          return;
        }
        op->journal.push("ovsdb", undo);
        fault::hit(fault::Point::kContainersAfterOvsdb);
        step_ofport(op);
      });
}

void Plugger::step_ofport(std::shared_ptr<Op> op) {
  timed<Result<int64_t>>(
      op, PlugStep::kOfport, settings_.ofport_wait,
      [this, op](std::function<void(Result<int64_t>)> cb) {
        ports_.wait_ofport(op->names.host_veth, settings_.ofport_wait, std::move(cb));
      },
      nullptr,
      [this, op](Result<int64_t> r) {
        if (!r.ok()) {
          fail(op, PlugStep::kOfport, r.error());
          return;
        }
        op->result.ofport = *r;
        step_flows(op);
      });
}

void Plugger::step_flows(std::shared_ptr<Op> op) {
  if (!flows_) {
    succeed(op);
    return;
  }
  // The answer may come at once (flows confirmed already), later, or never (the timer's).
  auto alive = alive_;
  auto id = std::make_shared<std::optional<uint64_t>>();
  auto answered = std::make_shared<bool>(false);
  auto answer = [this, alive, op, id, answered](bool confirmed, bool timed_out) {
    if (!*alive || *answered) return;
    *answered = true;
    if (*id) {
      if (auto it = flow_waits_.find(**id); it != flow_waits_.end()) {
        if (!timed_out) loop_.cancel(it->second);
        flow_waits_.erase(it);
      }
      if (timed_out && flows_) flows_->cancel(**id);
    }
    if (confirmed) ++counters_.flows_confirmed;
    if (timed_out) ++counters_.flows_wait_timeouts;
    succeed(op);
  };
  uint64_t wait =
      flows_->wait_flows(op->request.bridge, op->names.host_veth, [answer](bool ok) { answer(ok, false); });
  if (*answered) return;
  *id = wait;
  flow_waits_[wait] = loop_.after(settings_.flows_wait, [answer] { answer(false, true); });
}

void Plugger::succeed(std::shared_ptr<Op> op) {
  if (op->over) return;
  op->over = true;
  ++counters_.plugs;
  plugged_[op->names.owner] = {op->request, op->result};
  auto fin = std::move(op->finished);
  op->done(op->result);
  fin();
}

void Plugger::fail(std::shared_ptr<Op> op, PlugStep step, Status status) {
  if (op->over) return;
  op->over = true;
  ++counters_.plug_failures;
  ++counters_.step_failures[static_cast<size_t>(step)];
  if (status.code() == Errc::kTimeout) ++counters_.timeouts;
  plugged_.erase(op->names.owner);
  auto alive = alive_;
  op->journal.unwind(loop_, settings_.undo, [this, alive, op, step, status](StepJournal::Outcome out) {
    if (!*alive) return;
    counters_.undos += out.undone;
    counters_.undo_failures += out.failed.size();
    for (const auto& [undo_step, s] : out.failed) {
      warn(loop_.clock(), "plug " + op->names.port_id + ": undo of step " + undo_step +
                              " failed, left for the reconcile: " + s.to_string());
    }
    auto fin = std::move(op->finished);
    op->done(status.with_context(std::string(plug_step_label(step)) + " step of " + op->names.port_id));
    fin();
  });
}

void Plugger::unplug(UnplugRequest request, std::function<void(Status)> done) {
  auto names = endpoint_names(request.endpoint, settings_.veth_prefix);
  if (!names.ok()) {
    done(names.error());
    return;
  }
  std::string key = names->owner;
  // The watchers first (on the loop, before the answer: the plug machine is still alive then).
  done = [this, endpoint = request.endpoint, done = std::move(done)](Status s) {
    auto watchers = unplug_watchers_;  // (one may unwatch)
    for (auto& [id, fn] : watchers) fn(endpoint);
    done(std::move(s));
  };
  enqueue(key, [this, names = std::move(names).value(), request = std::move(request),
                done = std::move(done)](std::function<void()> finished) mutable {
    plugged_.erase(names.owner);
    auto alive = alive_;
    auto note = [this, alive, names](const char* step, const Status& s) {
      if (!*alive || s.ok()) return;
      ++counters_.unplug_step_failures;
      warn(loop_.clock(), "unplug " + names.port_id + ": " + step +
                              " step failed, left for the reconcile: " + s.to_string());
    };
    // 3, 2, 1: each retried, each tried whatever the one before answered.
    with_retries(loop_, settings_.undo, undo_ovsdb(request.bridge, names),
                 [this, alive, names, note, done = std::move(done),
                  finished = std::move(finished)](Status s3) mutable {
                   if (!*alive) return;
                   note("ovsdb", s3);
                   fault::hit(fault::Point::kContainersDeleteAfterOvsdb);
                   with_retries(
                       loop_, settings_.undo,
                       [this, names](std::function<void(Status)> cb) {
                         links_.delete_link(names.host_veth, "", std::move(cb));
                       },
                       [this, alive, names, note, done = std::move(done),
                        finished = std::move(finished)](Status s2) mutable {
                         if (!*alive) return;
                         note("veth", s2);
                         with_retries(loop_, settings_.undo, undo_model(names.port_id),
                                      [this, alive, note, done = std::move(done),
                                       finished = std::move(finished)](Status s1) {
                                        if (!*alive) return;
                                        note("model", s1);
                                        ++counters_.unplugs;
                                        done(s1);
                                        finished();
                                      });
                       });
                 });
  });
}

uint64_t Plugger::watch_unplugs(std::function<void(const EndpointIdentity&)> fn) {
  unplug_watchers_[++next_watcher_] = std::move(fn);
  return next_watcher_;
}

std::vector<std::pair<std::string, double>> Plugger::metrics() const {
  const auto& c = counters_;
  std::vector<std::pair<std::string, double>> m = {
      {"vlcp_plug_plugs_total", static_cast<double>(c.plugs)},
      {"vlcp_plug_plug_failures_total", static_cast<double>(c.plug_failures)},
      {"vlcp_plug_replays_total", static_cast<double>(c.replays)},
      {"vlcp_plug_replaced_total", static_cast<double>(c.replaced)},
      {"vlcp_plug_unplugs_total", static_cast<double>(c.unplugs)},
      {"vlcp_plug_unplug_step_failures_total", static_cast<double>(c.unplug_step_failures)},
      {"vlcp_plug_timeouts_total", static_cast<double>(c.timeouts)},
      {"vlcp_plug_late_answers_total", static_cast<double>(c.late_answers)},
      {"vlcp_plug_undos_total", static_cast<double>(c.undos)},
      {"vlcp_plug_undo_failures_total", static_cast<double>(c.undo_failures)},
      {"vlcp_plug_flows_confirmed_total", static_cast<double>(c.flows_confirmed)},
      {"vlcp_plug_flows_wait_timeouts_total", static_cast<double>(c.flows_wait_timeouts)},
      {"vlcp_plug_endpoints_busy", static_cast<double>(queues_.size())},
  };
  for (size_t i = 0; i < kPlugStepCount; ++i) {
    m.emplace_back(
        "vlcp_plug_step_failures_" + std::string(plug_step_label(static_cast<PlugStep>(i))) + "_total",
        static_cast<double>(c.step_failures[i]));
  }
  return m;
}

}  // namespace vlcp::containers
