#include "flows/owner.h"

#include <cstdio>

#include "base/buffer.h"
#include "base/log.h"
#include "ofp/bodies.h"

namespace vlcp::flows {

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{500}, kMaxBackoff{30000};

void merge_into(pipeline::FlowSet& f, pipeline::GroupSet& g, const Desired& d) {
  f.insert(d.flows.begin(), d.flows.end());
  g.insert(d.groups.begin(), d.groups.end());
}

// OFPT_EXPERIMENTER (ONF) bundle messages, as OVS implements them for OpenFlow 1.3.
std::vector<uint8_t> bundle_control(uint32_t id, ofp::BundleCtrlType type) {
  return encoded([&](Buffer& b) {
    Buffer body;
    ofp::ExperimenterHeader{ofp::kOnfExperimenter, ofp::kOnfBundleControl}.encode(body);
    ofp::BundleControl{id, static_cast<uint16_t>(type), ofp::kBundleAtomic | ofp::kBundleOrdered}.encode(
        body);
    ofp::encode_simple(b, ofp::MsgType::kExperimenter, 0, body.span());
  });
}

std::string ns(const std::string& app, const std::string& partition) {
  return app + "/" + partition;
}
std::string app_part(const std::string& name) {
  return name.substr(0, name.find('/'));
}

// A flow named in an error: its table, priority and match (hex, shortened).
std::string describe(const pipeline::FlowKey& k) {
  std::string hex;
  for (size_t i = 0; i < k.match.size() && i < 24; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", static_cast<uint8_t>(k.match[i]));
    hex += b;
  }
  if (k.match.size() > 24) hex += "...";
  return "flow (table " + std::to_string(k.table) + ", priority " + std::to_string(k.priority) + ", match " +
         (hex.empty() ? "any" : hex) + ")";
}

}  // namespace

std::vector<std::vector<uint8_t>> bundled(uint32_t id, std::vector<std::vector<uint8_t>> messages) {
  std::vector<std::vector<uint8_t>> out;
  out.reserve(messages.size() + 2);
  out.push_back(bundle_control(id, ofp::BundleCtrlType::kOpenRequest));
  for (const auto& m : messages)
    out.push_back(encoded([&](Buffer& b) {
      Buffer body;
      ofp::ExperimenterHeader{ofp::kOnfExperimenter, ofp::kOnfBundleAdd}.encode(body);
      ofp::BundleAddHeader{id, ofp::kBundleAtomic | ofp::kBundleOrdered}.encode(body);
      body.append(ByteSpan(m.data(), m.size()));  // its version and xid: the session's, when sent
      ofp::encode_simple(b, ofp::MsgType::kExperimenter, 0, body.span());
    }));
  out.push_back(bundle_control(id, ofp::BundleCtrlType::kCommitRequest));
  return out;
}

FlowOwner::FlowOwner(const Clock& clock) : clock_(clock) {}
FlowOwner::~FlowOwner() {
  *alive_ = false;
}

Status FlowOwner::add_app(const std::string& app, std::set<AppId> ids) {
  if (app.empty() || app.find('/') != std::string::npos)
    return Status(Errc::kInvalidArgument, "an app's name must be non-empty without '/': '" + app + "'");
  if (apps_.count(app)) return Status(Errc::kAlreadyExists, "app " + app + " is registered already");
  for (AppId id : ids)
    if (auto it = id_owner_.find(id); it != id_owner_.end())
      return Status(Errc::kConflict, "app " + app + " claims cookie app id " + std::to_string(id) +
                                         ", which app " + it->second + " owns");
  for (AppId id : ids) id_owner_[id] = app;
  apps_[app] = std::move(ids);
  stats_.apps[app];
  return {};
}

std::vector<FlowOwner::OwnedFlow> FlowOwner::find(uint8_t table, uint16_t priority, uint64_t cookie) const {
  std::map<pipeline::FlowKey, OwnedFlow> found;
  for (const auto& [name, d] : installed_) {
    for (auto it = d.flows.lower_bound(pipeline::FlowKey{table, priority, ""});
         it != d.flows.end() && it->first.table == table && it->first.priority == priority; ++it) {
      if (it->second.cookie != cookie) continue;
      OwnedFlow& f = found[it->first];
      f.key = it->first;
      f.body = it->second;
      f.partitions.push_back(name);
    }
  }
  std::vector<OwnedFlow> out;
  for (auto& [k, f] : found) out.push_back(std::move(f));
  return out;
}

std::string FlowOwner::app_of(AppId id) const {
  auto it = id_owner_.find(id);
  return it == id_owner_.end() ? std::string() : it->second;
}

// Whether `app` may state `d` as its `partition`: every flow's cookie is the app's, and no other
// app states one of its flows or groups.
Status FlowOwner::check(const std::string& app, const std::string& partition, const Desired& d) const {
  auto self = apps_.find(app);
  if (self == apps_.end()) return Status(Errc::kNotFound, "app " + app + " is not registered");
  std::string me = ns(app, partition);
  for (const auto& [k, b] : d.flows) {
    AppId id = cookie_app(b.cookie);
    if (cookie_dynamic(b.cookie))
      return Status(
          Errc::kInvalidArgument,
          describe(k) + " of " + me + " has the dynamic cookie bit: learned flows are the switch's");
    if (!self->second.count(id)) {
      std::string owner = app_of(id);
      return Status(Errc::kConflict,
                    describe(k) + " of " + me + " carries cookie app id " + std::to_string(id) +
                        (owner.empty() ? ", which no app owns" : ", which is app " + owner + "'s"));
    }
    if (auto c = flow_claims_.find(k); c != flow_claims_.end())
      for (const auto& other : c->second)
        if (app_part(other) != app)
          return Status(Errc::kConflict, describe(k) + " is stated by app " + app_part(other) + " (" + other +
                                             ") and by app " + app + " (" + me + ")");
  }
  for (const auto& [id, g] : d.groups)
    if (auto c = group_claims_.find(id); c != group_claims_.end())
      for (const auto& other : c->second)
        if (app_part(other) != app)
          return Status(Errc::kConflict, "group " + std::to_string(id) + " is stated by app " +
                                             app_part(other) + " (" + other + ") and by app " + app + " (" +
                                             me + ")");
  return {};
}

Status FlowOwner::refuse(const std::string& app, Status why) {
  ++stats_.refused;
  if (auto it = stats_.apps.find(app); it != stats_.apps.end()) ++it->second.refused;
  VLCP_LOG_RL(kError, "flows", 20, 5) << "refused: " << why.message();
  return why;
}

void FlowOwner::put(const std::string& name, Desired desired) {
  auto& cur = desired_[name];
  for (const auto& [k, b] : cur.flows)
    if (auto c = flow_claims_.find(k); c != flow_claims_.end() && c->second.erase(name) && c->second.empty())
      flow_claims_.erase(c);
  for (const auto& [id, g] : cur.groups)
    if (auto c = group_claims_.find(id);
        c != group_claims_.end() && c->second.erase(name) && c->second.empty())
      group_claims_.erase(c);
  for (const auto& [k, b] : desired.flows) flow_claims_[k].insert(name);
  for (const auto& [id, g] : desired.groups) group_claims_[id].insert(name);
  cur = std::move(desired);
  dirty_.insert(name);
  ++generation_;
  stats_.synced = false;
}

Status FlowOwner::set(const std::string& app, const std::string& partition, Desired desired) {
  if (!apps_.count(app)) return Status(Errc::kNotFound, "app " + app + " is not registered");
  std::string name = ns(app, partition);
  auto it = desired_.find(name);
  if (it != desired_.end() && it->second == desired) return {};
  if (it == desired_.end() && desired.empty() && !installed_.count(name)) return {};
  if (Status st = check(app, partition, desired); !st.ok()) return refuse(app, std::move(st));
  put(name, std::move(desired));
  if (state_ == State::kIdle && !held_) sync();
  return {};
}

Status FlowOwner::set_all(const std::string& app, std::map<std::string, Desired> partitions) {
  if (!apps_.count(app)) return Status(Errc::kNotFound, "app " + app + " is not registered");
  std::string prefix = app + "/";
  std::set<std::string> names;  // the app's partitions, unqualified
  for (auto it = desired_.lower_bound(prefix); it != desired_.end() && it->first.starts_with(prefix); ++it)
    names.insert(it->first.substr(prefix.size()));
  for (const auto& [p, d] : partitions) names.insert(p);
  Status first;
  for (const auto& p : names) {
    auto it = partitions.find(p);
    Desired d = it == partitions.end() ? Desired{} : std::move(it->second);
    std::string name = prefix + p;
    auto cur = desired_.find(name);
    if (cur != desired_.end() && cur->second == d) continue;
    if (cur == desired_.end() && d.empty() && !installed_.count(name)) continue;
    if (Status st = check(app, p, d); !st.ok()) {
      Status r = refuse(app, std::move(st));
      if (first.ok()) first = std::move(r);
      continue;
    }
    put(name, std::move(d));
  }
  if (state_ == State::kIdle && !held_) sync();
  return first;
}

void FlowOwner::hold() {
  ++held_;
}

void FlowOwner::release() {
  if (held_ > 0 && --held_ == 0 && state_ == State::kIdle) sync();
}

void FlowOwner::attach(SwitchLink* link) {
  link_ = link;
  ++epoch_;
  resync_scheduled_ = false;
  installed_.clear();
  stats_.synced = false;
  connected_at_ = clock_.now();
  reconcile_pending_ = true;
  backoff_ = std::chrono::milliseconds(0);
  read_switch();
}

void FlowOwner::detach() {
  link_ = nullptr;
  ++epoch_;
  state_ = State::kDetached;
  installed_.clear();
  stats_.synced = false;
}

Desired FlowOwner::installed() const {
  Desired d;
  for (const auto& [p, x] : installed_) merge_into(d.flows, d.groups, x);
  return d;
}
Desired FlowOwner::desired() const {
  Desired d;
  for (const auto& [p, x] : desired_) merge_into(d.flows, d.groups, x);
  return d;
}
Desired FlowOwner::desired(const std::string& app) const {
  Desired d;
  std::string prefix = app + "/";
  for (auto it = desired_.lower_bound(prefix); it != desired_.end() && it->first.starts_with(prefix); ++it)
    merge_into(d.flows, d.groups, it->second);
  return d;
}

// Reads every flow and group the switch has (two multipart requests), then reconciles.
void FlowOwner::read_switch() {
  if (!link_) return;
  state_ = State::kReading;
  uint64_t epoch = epoch_;
  auto flows = std::make_shared<std::optional<pipeline::FlowSet>>();
  auto groups = std::make_shared<std::optional<pipeline::GroupSet>>();
  auto both = [this, epoch, flows, groups, alive = alive_] {
    if (!*alive || epoch != epoch_ || !flows->has_value() || !groups->has_value()) return;
    reconcile(std::move(**flows), std::move(**groups));
  };
  link_->request(encoded([](Buffer& b) { ofp::encode_flow_stats_request(b, 0, ofp::FlowStatsRequest{}); }),
                 [this, epoch, flows, both, alive = alive_](Result<std::vector<uint8_t>> body) {
                   if (!*alive || epoch != epoch_) return;
                   if (!body.ok()) return failed("reading the flows: " + body.error().message());
                   auto stats = ofp::decode_flow_stats_reply(ByteSpan(body->data(), body->size()));
                   if (!stats.ok()) return failed("the switch's flow stats do not decode");
                   pipeline::FlowSet set;
                   for (auto& [k, b] : pipeline::from_stats(*stats))
                     if (!cookie_dynamic(b.cookie)) set.emplace(k, std::move(b));
                   *flows = std::move(set);
                   both();
                 });
  link_->request(
      encoded([](Buffer& b) { ofp::encode_multipart_request(b, 0, ofp::MultipartType::kGroupDesc, {}); }),
      [this, epoch, groups, both, alive = alive_](Result<std::vector<uint8_t>> body) {
        if (!*alive || epoch != epoch_) return;
        if (!body.ok()) return failed("reading the groups: " + body.error().message());
        auto set = pipeline::groups_from_desc(ByteSpan(body->data(), body->size()));
        if (!set.ok()) return failed(set.error().message());
        *groups = std::move(*set);
        both();
      });
}

void FlowOwner::reconcile(pipeline::FlowSet flows, pipeline::GroupSet groups) {
  batch_started_ = clock_.now();
  pipeline::FlowSet want_f;
  pipeline::GroupSet want_g;
  std::set<std::string> all;
  for (const auto& [p, d] : desired_) {
    merge_into(want_f, want_g, d);
    all.insert(p);
  }
  dirty_.clear();
  ++stats_.reconciles;
  // What the switch has, attributed to its apps by the cookie's app id.
  for (auto& [app, a] : stats_.apps) a.reconcile_found_flows = 0;
  stats_.reconcile_unowned_flows = 0;
  for (const auto& [k, b] : flows) {
    auto owner = id_owner_.find(cookie_app(b.cookie));
    if (owner == id_owner_.end())
      ++stats_.reconcile_unowned_flows;
    else
      ++stats_.apps[owner->second].reconcile_found_flows;
  }
  send(all, want_f, flows, want_g, groups, true);
}

void FlowOwner::sync() {
  if (!link_ || state_ != State::kIdle || dirty_.empty()) return;
  batch_started_ = clock_.now();
  // The dirty partitions together: a flow that moves between two of them is modified, not
  // added by one and then deleted by the other.
  pipeline::FlowSet want_f, have_f;
  pipeline::GroupSet want_g, have_g;
  std::set<std::string> parts = std::move(dirty_);
  dirty_.clear();
  for (const auto& p : parts) {
    if (auto it = desired_.find(p); it != desired_.end()) merge_into(want_f, want_g, it->second);
    if (auto it = installed_.find(p); it != installed_.end()) merge_into(have_f, have_g, it->second);
  }
  // A flow or group that moves between partitions of one app in separate batches (stated by one
  // now, dropped by the other later, or the other way round) is one flow on the switch: compared
  // with what the switch has for it, whichever partition put it there, and kept while any
  // partition states it.
  auto other = [&](const std::set<std::string>& claimants) -> const std::string* {
    for (const auto& c : claimants)
      if (!parts.count(c)) return &c;
    return nullptr;
  };
  for (const auto& [k, b] : want_f)
    if (!have_f.count(k))
      if (auto c = flow_claims_.find(k); c != flow_claims_.end())
        if (const std::string* o = other(c->second))
          if (auto i = installed_.find(*o); i != installed_.end())
            if (auto f = i->second.flows.find(k); f != i->second.flows.end()) have_f.emplace(k, f->second);
  for (const auto& [k, b] : have_f)
    if (!want_f.count(k))
      if (auto c = flow_claims_.find(k); c != flow_claims_.end())
        if (const std::string* o = other(c->second)) want_f.emplace(k, desired_.at(*o).flows.at(k));
  for (const auto& [id, g] : want_g)
    if (!have_g.count(id))
      if (auto c = group_claims_.find(id); c != group_claims_.end())
        if (const std::string* o = other(c->second))
          if (auto i = installed_.find(*o); i != installed_.end())
            if (auto f = i->second.groups.find(id); f != i->second.groups.end())
              have_g.emplace(id, f->second);
  for (const auto& [id, g] : have_g)
    if (!want_g.count(id))
      if (auto c = group_claims_.find(id); c != group_claims_.end())
        if (const std::string* o = other(c->second)) want_g.emplace(id, desired_.at(*o).groups.at(id));
  send(parts, want_f, have_f, want_g, have_g, false);
}

void FlowOwner::send(std::set<std::string> parts, const pipeline::FlowSet& want_f,
                     const pipeline::FlowSet& have_f, const pipeline::GroupSet& want_g,
                     const pipeline::GroupSet& have_g, bool reconciling) {
  pipeline::FlowDiff fd = pipeline::diff(want_f, have_f);
  pipeline::GroupDiff gd = pipeline::diff_groups(want_g, have_g);
  // What each partition will have once the batch is confirmed.
  std::map<std::string, Desired> sent;
  for (const auto& p : parts)
    if (auto it = desired_.find(p); it != desired_.end()) sent[p] = it->second;
  // Every change stated so far is in this batch or an earlier one (sync takes every dirty
  // partition; a reconcile, all of them).
  auto batch = std::make_shared<BatchDone>(BatchDone{generation_, batch_started_, clock_.now(), {}, 0});
  auto finish = [this, parts, sent = std::move(sent), reconciling, batch]() mutable {
    for (const auto& p : parts) {
      auto it = sent.find(p);
      if (it == sent.end() || it->second.empty())
        installed_.erase(p);
      else
        installed_[p] = std::move(it->second);
      auto d = desired_.find(p);
      if (d != desired_.end() && d->second.empty() && !dirty_.count(p)) desired_.erase(d);
    }
    // Each partition's flows carry its app's ids (check()): counted by partition, that is by
    // the cookie's app id.
    size_t flows = 0, groups = 0;
    for (auto& [app, a] : stats_.apps) a.installed_flows = a.installed_groups = 0;
    for (const auto& [p, d] : installed_) {
      flows += d.flows.size(), groups += d.groups.size();
      AppFlowStats& a = stats_.apps[app_part(p)];
      a.installed_flows += d.flows.size();
      a.installed_groups += d.groups.size();
    }
    stats_.installed_flows = flows;
    stats_.installed_groups = groups;
    if (reconciling && reconcile_pending_) {
      reconcile_pending_ = false;
      stats_.last_reconcile_seconds = std::chrono::duration<double>(clock_.now() - connected_at_).count();
    }
    state_ = State::kIdle;
    backoff_ = std::chrono::milliseconds(0);
    stats_.synced = dirty_.empty();
    confirmed_ = std::max(confirmed_, batch->generation);
    batch->confirmed = clock_.now();
    if (on_batch) on_batch(*batch);
    if (!dirty_.empty()) return held_ ? void() : sync();
    if (on_synced) on_synced();
  };
  size_t n_flow = fd.mods.size(), n_group = gd.add_modify.size() + gd.deletes.size();
  if (reconciling && reconcile_pending_) stats_.last_reconcile_flow_mods = n_flow;
  if (n_flow == 0 && n_group == 0) return finish();

  std::vector<std::vector<uint8_t>> messages;
  messages.reserve(n_flow + n_group);
  for (const auto& g : gd.add_modify)
    messages.push_back(encoded([&](Buffer& b) { ofp::encode_group_mod(b, 0, g); }));
  for (const auto& f : fd.mods)  // adds and modifies, then deletes
    messages.push_back(encoded([&](Buffer& b) { ofp::encode_flow_mod(b, 0, f); }));
  for (const auto& g : gd.deletes)
    messages.push_back(encoded([&](Buffer& b) { ofp::encode_group_mod(b, 0, g); }));
  // A batch that removes state and puts other state in its place (a port that changed network
  // or address, a switch that kept stale flows while disconnected) is applied atomically: an
  // ONF bundle, so traffic meets either the old flows or the new ones, never a mix.
  bool replaces = (fd.deletes || !gd.deletes.empty()) && (fd.adds || fd.modifies || !gd.add_modify.empty());
  if (bundles && replaces) {
    messages = bundled(++bundle_id_, std::move(messages));
    ++stats_.bundles;
  }
  stats_.flow_mods += n_flow;
  stats_.group_mods += n_group;
  ++stats_.batches;
  state_ = State::kSending;
  uint64_t epoch = epoch_;
  batch->handed = clock_.now();
  batch->messages = messages.size();
  link_->send_batch(std::move(messages), [this, epoch, finish = std::move(finish), parts,
                                          alive = alive_](SwitchLink::Outcome out) mutable {
    if (!*alive || epoch != epoch_) return;
    if (!out.completed) return;  // the connection went away: attach() starts over
    if (!out.errors.empty()) {
      stats_.errors += out.errors.size();
      for (size_t i = 0; i < out.errors.size() && i < 3; ++i)
        VLCP_LOG_RL(kWarn, "flows", 20, 5) << "the switch refused part of a batch: " << out.errors[i];
      for (const auto& p : parts) dirty_.insert(p);
      return failed(std::to_string(out.errors.size()) + " errors in a batch");
    }
    finish();
  });
}

// Something went wrong with the switch's state: read it again and reconcile, after a backoff.
void FlowOwner::failed(const std::string& why) {
  if (!link_ || resync_scheduled_) return;  // (both reads can fail: one resync)
  resync_scheduled_ = true;
  ++stats_.resyncs;
  backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
  VLCP_LOG_RL(kWarn, "flows", 20, 5) << why << "; reading the switch again in " << backoff_.count() << " ms";
  state_ = State::kReading;
  uint64_t epoch = epoch_;
  link_->after(backoff_, [this, epoch, alive = alive_] {
    if (!*alive || epoch != epoch_) return;
    resync_scheduled_ = false;
    read_switch();
  });
}

}  // namespace vlcp::flows
