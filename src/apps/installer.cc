#include "apps/installer.h"

#include "base/buffer.h"
#include "base/log.h"
#include "ofp/bodies.h"

namespace vlcp::apps {

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

Installer::Installer(const Clock& clock) : clock_(clock) {}
Installer::~Installer() {
  *alive_ = false;
}

void Installer::set(const std::string& partition, Desired desired) {
  auto it = desired_.find(partition);
  if (it != desired_.end() && it->second == desired) return;
  if (it == desired_.end() && desired.flows.empty() && desired.groups.empty() && !installed_.count(partition))
    return;
  desired_[partition] = std::move(desired);
  dirty_.insert(partition);
  stats_.synced = false;
  if (state_ == State::kIdle) sync();
}

void Installer::set_all(std::map<std::string, Desired> partitions) {
  std::set<std::string> names;
  for (const auto& [p, d] : desired_) names.insert(p);
  for (const auto& [p, d] : partitions) names.insert(p);
  for (const auto& p : names) {
    auto it = partitions.find(p);
    Desired d = it == partitions.end() ? Desired{} : std::move(it->second);
    auto cur = desired_.find(p);
    if (cur != desired_.end() && cur->second == d) continue;
    desired_[p] = std::move(d);
    dirty_.insert(p);
    stats_.synced = false;
  }
  if (state_ == State::kIdle) sync();
}

void Installer::attach(SwitchLink* link) {
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

void Installer::detach() {
  link_ = nullptr;
  ++epoch_;
  state_ = State::kDetached;
  installed_.clear();
  stats_.synced = false;
}

Desired Installer::installed() const {
  Desired d;
  for (const auto& [p, x] : installed_) merge_into(d.flows, d.groups, x);
  return d;
}
Desired Installer::desired() const {
  Desired d;
  for (const auto& [p, x] : desired_) merge_into(d.flows, d.groups, x);
  return d;
}

// Reads every flow and group the switch has (two multipart requests), then reconciles.
void Installer::read_switch() {
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
                     if (!(b.cookie & kCookieDynamic)) set.emplace(k, std::move(b));
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

void Installer::reconcile(pipeline::FlowSet flows, pipeline::GroupSet groups) {
  pipeline::FlowSet want_f;
  pipeline::GroupSet want_g;
  std::set<std::string> all;
  for (const auto& [p, d] : desired_) {
    merge_into(want_f, want_g, d);
    all.insert(p);
  }
  dirty_.clear();
  ++stats_.reconciles;
  send(all, want_f, flows, want_g, groups, true);
}

void Installer::sync() {
  if (!link_ || state_ != State::kIdle || dirty_.empty()) return;
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
  send(parts, want_f, have_f, want_g, have_g, false);
}

void Installer::send(std::set<std::string> parts, const pipeline::FlowSet& want_f,
                     const pipeline::FlowSet& have_f, const pipeline::GroupSet& want_g,
                     const pipeline::GroupSet& have_g, bool reconciling) {
  pipeline::FlowDiff fd = pipeline::diff(want_f, have_f);
  pipeline::GroupDiff gd = pipeline::diff_groups(want_g, have_g);
  // What each partition will have once the batch is confirmed.
  std::map<std::string, Desired> sent;
  for (const auto& p : parts)
    if (auto it = desired_.find(p); it != desired_.end()) sent[p] = it->second;
  auto finish = [this, parts, sent = std::move(sent), reconciling]() mutable {
    for (const auto& p : parts) {
      auto it = sent.find(p);
      if (it == sent.end() || (it->second.flows.empty() && it->second.groups.empty()))
        installed_.erase(p);
      else
        installed_[p] = std::move(it->second);
      auto d = desired_.find(p);
      if (d != desired_.end() && d->second.flows.empty() && d->second.groups.empty() && !dirty_.count(p))
        desired_.erase(d);
    }
    size_t flows = 0, groups = 0;
    for (const auto& [p, d] : installed_) flows += d.flows.size(), groups += d.groups.size();
    stats_.installed_flows = flows;
    stats_.installed_groups = groups;
    if (reconciling && reconcile_pending_) {
      reconcile_pending_ = false;
      stats_.last_reconcile_seconds = std::chrono::duration<double>(clock_.now() - connected_at_).count();
    }
    state_ = State::kIdle;
    backoff_ = std::chrono::milliseconds(0);
    stats_.synced = dirty_.empty();
    if (!dirty_.empty()) return sync();
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
  link_->send_batch(std::move(messages), [this, epoch, finish = std::move(finish), parts,
                                          alive = alive_](SwitchLink::Outcome out) mutable {
    if (!*alive || epoch != epoch_) return;
    if (!out.completed) return;  // the connection went away: attach() starts over
    if (!out.errors.empty()) {
      stats_.errors += out.errors.size();
      for (size_t i = 0; i < out.errors.size() && i < 3; ++i)
        VLCP_LOG_RL(kWarn, "installer", 20, 5) << "the switch refused part of a batch: " << out.errors[i];
      for (const auto& p : parts) dirty_.insert(p);
      return failed(std::to_string(out.errors.size()) + " errors in a batch");
    }
    finish();
  });
}

// Something went wrong with the switch's state: read it again and reconcile, after a backoff.
void Installer::failed(const std::string& why) {
  if (!link_ || resync_scheduled_) return;  // (both reads can fail: one resync)
  resync_scheduled_ = true;
  ++stats_.resyncs;
  backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
  VLCP_LOG_RL(kWarn, "installer", 20, 5)
      << why << "; reading the switch again in " << backoff_.count() << " ms";
  state_ = State::kReading;
  uint64_t epoch = epoch_;
  link_->after(backoff_, [this, epoch, alive = alive_] {
    if (!*alive || epoch != epoch_) return;
    resync_scheduled_ = false;
    read_switch();
  });
}

}  // namespace vlcp::apps
