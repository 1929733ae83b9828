#include "apps/model_view.h"

#include <algorithm>

#include "base/log.h"

namespace vlcp::apps {

using Json = nlohmann::json;
using schema::Kind;

namespace {

bool starts(const std::string& s, std::string_view p) {
  return !p.empty() && s.compare(0, p.size(), p) == 0;
}
const std::set<std::string> kNone;
// The kinds followed per logical network in the interest model (the others are watched whole).
bool by_interest(Kind k) {
  return k == Kind::kLogicalNetwork || k == Kind::kLogicalPort || k == Kind::kLocation ||
         k == Kind::kSubnet || k == Kind::kRouter || k == Kind::kRouterInterface;
}
std::string key_of(Kind k, const std::string& part) {
  return std::string(schema::kind(k).key_prefix) + part;
}
std::string map_of(Kind k, const std::string& key) {  // an object's map key, from its key
  const auto& info = schema::kind(k);
  return std::string(info.map_prefix) + key.substr(info.key_prefix.size());
}
// The member index entry of a network's logical ports (its members are "<entry>.<port key>").
std::string member_entry(const std::string& network) {
  static const db::IndexRule rule =
      model::detail::index_rule(Kind::kLogicalPort, schema::parent_index(Kind::kLogicalPort)->name);
  Json fields = Json::object();
  fields[rule.fields.at(0)] = network;
  return *db::ObjectDb::index_key(rule, &fields);
}
LogicalPortObj port_of(const Json& v) {
  return LogicalPortObj{text_field(v, "id"),
                        text_field(v, "network"),
                        model::detail::parse_mac(text_field(v, "mac_address")),
                        v,
                        text_field(v, "subnet"),
                        model::detail::parse_ip(text_field(v, "ip_address"))};
}
// value[field] is the boolean true (anything else — absent, null, a string — is false: stored
// values are untrusted and never thrown on).
bool is_true(const Json& value, const char* field) {
  if (!value.is_object()) return false;
  auto it = value.find(field);
  return it != value.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

std::string text_field(const Json& value, const char* field) {
  auto it = value.find(field);
  return it != value.end() && it->is_string() ? it->get<std::string>() : "";
}

Result<ModelViewSettings> read_model_view_settings(const Config& config) {
  struct Keys {
    VLCP_MODEL_VIEW_KEYS(VLCP_KEYS_FIELD)
  } keys;
  VLCP_MODEL_VIEW_KEYS(VLCP_KEYS_READ)
  ModelViewSettings s;
  if (keys.modelsync != "interest" && keys.modelsync != "all")
    return config.error_at("module.ioprocessing.modelsync",
                           "expected interest or all, got '" + keys.modelsync + "'");
  s.sync = keys.modelsync == "all" ? ModelSync::kAll : ModelSync::kInterest;
  if (!(keys.interestlinger >= 0 && keys.interestlinger <= 86400))
    return config.error_at("module.ioprocessing.interestlinger", "must be 0..86400 seconds");
  s.linger = std::chrono::milliseconds(static_cast<int64_t>(keys.interestlinger * 1000));
  return s;
}

ModelView::ModelView(db::ObjectDb& db, After after, std::set<schema::Kind> kinds, ModelSync sync)
    : sync_(sync), db_(db), after_(std::move(after)) {
  watch(kinds);
}

void ModelView::watch(const std::set<schema::Kind>& kinds) {
  if (watch_) {  // (a programming error: the host adds its apps' kinds before it starts the view)
    VLCP_LOG(kError, "model") << "kinds added to a model view already started: ignored";
    return;
  }
  for (Kind k : kinds) {
    if (!kinds_.insert(k).second || (interest() && by_interest(k))) continue;
    const auto& info = schema::kind(k);
    if (!info.key_prefix.empty()) prefixes_.emplace_back(info.key_prefix);
    if (!info.map_prefix.empty()) prefixes_.emplace_back(info.map_prefix);
  }
}

ModelView::~ModelView() {
  *alive_ = false;
  if (watch_) db_.close_watch(watch_);
  for (const auto& [net, in] : nets_) db_.close_watch(in.watch);
}

void ModelView::start() {
  watch_ = db_.open_watch([this](const db::KeyUpdate& u) { on_update(u); });
  for (const auto& p : prefixes_) db_.watch_prefix(watch_, p);
  load();
  if (!interest()) return;
  std::vector<std::string> bound;
  for (const auto& pid : bound_) bound.push_back(key_of(Kind::kLogicalPort, pid));
  if (!bound.empty()) {
    db_.watch_keys(watch_, bound);
    read_keys(std::move(bound), "");
  }
}

const std::set<std::string>& ModelView::subnets_of(const std::string& network) const {
  auto it = subnets_by_net_.find(network);
  return it == subnets_by_net_.end() ? kNone : it->second;
}

std::string ModelView::network_of_subnet(const std::string& subnet) const {
  auto it = subnets_.find(subnet);
  return it == subnets_.end() ? std::string() : it->second.network;
}

std::set<std::string> ModelView::with_router_neighbours(const std::set<std::string>& networks) const {
  std::set<std::string> routers, out = networks;
  for (const auto& [key, i] : interfaces_)
    if (networks.count(network_of_subnet(i.subnet))) routers.insert(i.router);
  if (routers.empty()) return out;
  for (const auto& [key, i] : interfaces_)
    if (routers.count(i.router)) out.insert(network_of_subnet(i.subnet));
  out.erase("");
  return out;
}

bool ModelView::loaded() const {
  return loaded_;
}

bool ModelView::ready_for(const std::set<std::string>& iface_ids) const {
  if (!interest()) return loaded_;
  for (const auto& id : iface_ids) {
    std::string pid = db::escape_key_part(id);
    if (!bound_.count(pid) || bound_unread_.count(pid)) return false;
    auto p = raw_ports_.find(pid);
    if (p != raw_ports_.end() && !p->second.network.empty() && !ports_.count(pid)) return false;
  }
  return true;
}

InterestStats ModelView::interest_stats() const {
  InterestStats s;
  s.ports_bound = bound_.size();
  s.ports_published = ports_.size();
  s.keys_watched = holders_.size();
  s.prefixes_watched = prefixes_.size() + nets_.size();
  for (const auto& [net, in] : nets_) {
    ++(in.linger ? s.networks_lingering : s.networks_wanted);
    s.networks_ready += in.ready();
    s.networks_published += in.published;
  }
  return s;
}

const std::set<std::string>& ModelView::ports_of(const std::string& network) const {
  auto it = by_net_.find(network);
  return it == by_net_.end() ? kNone : it->second;
}

// The model once, at one snapshot. The prefix watches are open first, so nothing is missed.
void ModelView::load() {
  auto keys = std::make_shared<std::vector<std::string>>();
  auto left = std::make_shared<size_t>(prefixes_.size());
  auto failed = std::make_shared<bool>(false);
  auto done = [this, keys, failed, alive = alive_] {
    auto retry = [this, alive] {
      after_(std::chrono::seconds(1), [this, alive] {
        if (*alive) load();
      });
    };
    if (*failed) {
      VLCP_LOG_RL(kWarn, "model", 20, 5) << "the network model cannot be read yet (ObjectDB unreachable); "
                                            "switches keep their flows until it can";
      return retry();
    }
    db_.get(*keys, [this, retry, alive](Result<std::map<std::string, db::Record>> recs) {
      if (!*alive) return;
      if (!recs.ok()) return retry();
      for (const auto& [k, rec] : *recs) on_update(db::KeyUpdate{k, rec, db::KeyUpdate::kUpdated});
      loaded_ = true;
      VLCP_LOG(kInfo, "model") << "network model loaded: " << lognets_.size() << " logical networks, "
                               << ports_.size() << " logical ports";
      for (auto& fn : on_loaded) fn();
    });
  };
  if (prefixes_.empty()) return done();
  for (const auto& p : prefixes_)
    db_.list(p, [keys, left, failed, done, alive = alive_](Result<std::vector<std::string>> r) {
      if (!*alive) return;
      if (!r.ok())
        *failed = true;
      else
        keys->insert(keys->end(), r->begin(), r->end());
      if (!--*left) done();
    });
}

void ModelView::report(const ModelChange& c) {
  if (!loaded_) return;  // the load reports itself once, through on_loaded
  for (auto& fn : listeners_) fn(c);
}

void ModelView::on_update(const db::KeyUpdate& u) {
  if (!apply(u) || !interest()) return;
  // What the interest follows may have changed: a bound port's network, a network's subnets, a
  // subnet's router, a router's interfaces, an interface's subnet.
  const std::string& k = u.key;
  const auto& port = schema::kind(Kind::kLogicalPort);
  bool bound_port = starts(k, port.key_prefix) && bound_.count(k.substr(port.key_prefix.size()));
  if (bound_port || starts(k, schema::kind(Kind::kLogicalNetwork).map_prefix) ||
      starts(k, schema::kind(Kind::kSubnet).key_prefix) ||
      starts(k, schema::kind(Kind::kSubnet).map_prefix) ||
      starts(k, schema::kind(Kind::kRouter).key_prefix) ||
      starts(k, schema::kind(Kind::kRouterInterface).key_prefix))
    schedule_reconcile();
}

bool ModelView::apply(const db::KeyUpdate& u) {
  uint64_t& seen = versions_[u.key];
  if (u.record.version && u.record.version <= seen && u.reason != db::KeyUpdate::kRestored) return false;
  seen = std::max(seen, u.record.version);
  // A deleted key's version is needed only while the model loads (its snapshot may be older
  // than what the watch already said); after that ObjectDB reports a key's versions in order,
  // so deleted keys are not remembered (churn would grow this map without bound). Keys the
  // interest holds by name keep theirs until they are let go (two watches report them).
  if (loaded_ && !u.record.exists() && !holders_.count(u.key)) versions_.erase(u.key);
  const Json* v = u.record.value ? &*u.record.value : nullptr;
  const std::string& k = u.key;
  const auto& lognet = schema::kind(Kind::kLogicalNetwork);
  const auto& physnet = schema::kind(Kind::kPhysicalNetwork);
  const auto& port = schema::kind(Kind::kLogicalPort);
  const auto& physport = schema::kind(Kind::kPhysicalPort);
  const auto& location = schema::kind(Kind::kLocation);
  const auto& subnet = schema::kind(Kind::kSubnet);
  const auto& router = schema::kind(Kind::kRouter);
  const auto& interface = schema::kind(Kind::kRouterInterface);
  if (starts(k, lognet.map_prefix)) {
    std::string net = std::string(lognet.key_prefix) + k.substr(lognet.map_prefix.size());
    std::optional<uint32_t> netid;
    if (v && v->contains("netid") && (*v)["netid"].is_number_integer()) netid = (*v)["netid"].get<uint32_t>();
    if (netid)
      netids_[net] = *netid;
    else
      netids_.erase(net);
    if (auto it = lognets_.find(net); it != lognets_.end()) it->second.netid = netid;
    if (interest() && v) {
      std::vector<std::string>& subnets = net_subnets_[net];
      subnets.clear();
      if (auto it = v->find("subnets"); it != v->end() && it->is_array())
        for (const auto& sn : *it)
          if (sn.is_string()) subnets.push_back(sn.get<std::string>());
    } else if (interest()) {
      net_subnets_.erase(net);
    }
    report({Kind::kLogicalNetwork, true, net, {net}});
  } else if (starts(k, lognet.key_prefix)) {
    if (v) {
      LogicalNetworkObj n{k, text_field(*v, "physicalnetwork"), std::nullopt, 0, *v};
      if (auto id = netids_.find(k); id != netids_.end()) n.netid = id->second;
      for (const char* f : {"vlanid", "vni"})
        if (v->contains(f) && (*v)[f].is_number_integer()) n.segment = (*v)[f].get<uint32_t>();
      lognets_[k] = std::move(n);
    } else {
      lognets_.erase(k);
    }
    report({Kind::kLogicalNetwork, false, k, {k}});
  } else if (starts(k, physnet.map_prefix)) {
    report({Kind::kPhysicalNetwork,
            true,
            std::string(physnet.key_prefix) + k.substr(physnet.map_prefix.size()),
            {}});
  } else if (starts(k, physnet.key_prefix)) {
    if (v)
      physnets_[k] = PhysicalNetworkObj{k, text_field(*v, "type"), *v};
    else
      physnets_.erase(k);
    ModelChange c{Kind::kPhysicalNetwork, false, k, {}};
    for (const auto& [net, n] : lognets_)
      if (n.physnet == k) c.parents.insert(net);
    report(c);
  } else if (starts(k, port.key_prefix)) {
    std::string pid = k.substr(port.key_prefix.size());
    if (interest()) {  // read; visible once its network is published
      if (v)
        raw_ports_[pid] = port_of(*v);
      else
        raw_ports_.erase(pid);
      show_port(pid, true);
      return true;
    }
    ModelChange c{Kind::kLogicalPort, false, pid, {}};
    if (auto old = ports_.find(pid); old != ports_.end()) {
      c.parents.insert(old->second.network);
      if (auto m = by_net_.find(old->second.network); m != by_net_.end()) {
        m->second.erase(pid);
        if (m->second.empty()) by_net_.erase(m);
      }
    }
    if (v) {
      LogicalPortObj p = port_of(*v);
      by_net_[p.network].insert(pid);
      c.parents.insert(p.network);
      ports_[pid] = std::move(p);
    } else {
      ports_.erase(pid);
    }
    report(c);
  } else if (starts(k, physport.key_prefix)) {
    if (v)
      physports_[k] = PhysicalPortObj{k, text_field(*v, "physicalnetwork")};
    else
      physports_.erase(k);
    report({Kind::kPhysicalPort, false, k, {}});
  } else if (starts(k, location.key_prefix)) {
    std::string pid = k.substr(location.key_prefix.size());
    if (interest()) {  // visible with its port
      if (v)
        raw_locations_[pid] = *v;
      else
        raw_locations_.erase(pid);
      show_location(pid, true);
      return true;
    }
    if (v)
      locations_[pid] = *v;
    else
      locations_.erase(pid);
    ModelChange c{Kind::kLocation, false, pid, {}};
    if (auto p = ports_.find(pid); p != ports_.end()) c.parents.insert(p->second.network);
    report(c);
  } else if (starts(k, subnet.key_prefix)) {
    ModelChange c{Kind::kSubnet, false, k, {}};
    if (auto old = subnets_.find(k); old != subnets_.end()) {
      c.parents.insert(old->second.network);
      if (auto m = subnets_by_net_.find(old->second.network); m != subnets_by_net_.end()) {
        m->second.erase(k);
        if (m->second.empty()) subnets_by_net_.erase(m);
      }
    }
    if (v) {
      SubnetObj sn{k,
                   text_field(*v, "network"),
                   std::nullopt,
                   model::detail::parse_ip(text_field(*v, "gateway")),
                   is_true(*v, "isexternal"),
                   text_field(*v, "router"),
                   *v};
      if (auto c = model::detail::parse_cidr(text_field(*v, "cidr")); c.ok()) sn.cidr = *c;
      subnets_by_net_[sn.network].insert(k);
      c.parents.insert(sn.network);
      subnets_[k] = std::move(sn);
    } else {
      subnets_.erase(k);
    }
    report(c);
  } else if (starts(k, router.key_prefix)) {
    ModelChange c{Kind::kRouter, false, k, {}};
    auto networks_of = [&](const RouterObj& r) {
      for (const auto& i : r.interfaces)
        if (auto it = interfaces_.find(i); it != interfaces_.end())
          c.parents.insert(network_of_subnet(it->second.subnet));
    };
    if (auto old = routers_.find(k); old != routers_.end()) networks_of(old->second);
    if (v) {
      RouterObj r{k, {}, {}, *v};
      if (auto it = v->find("interfaces"); it != v->end() && it->is_array())
        for (const auto& i : *it)
          if (i.is_string()) r.interfaces.push_back(i.get<std::string>());
      if (auto it = v->find("routes"); it != v->end() && it->is_array())
        for (const auto& route : *it) {
          if (!route.is_array() || route.size() != 2 || !route[0].is_string() || !route[1].is_string())
            continue;
          auto prefix = model::detail::parse_route_prefix(route[0].get<std::string>());
          auto nexthop = model::detail::parse_ip(route[1].get<std::string>());
          if (prefix.ok() && nexthop) r.routes.emplace_back(*prefix, *nexthop);
        }
      networks_of(r);
      routers_[k] = std::move(r);
    } else {
      routers_.erase(k);
    }
    c.parents.erase("");
    report(c);
  } else if (starts(k, interface.key_prefix)) {
    ModelChange c{Kind::kRouterInterface, false, k, {}};
    if (auto old = interfaces_.find(k); old != interfaces_.end())
      c.parents.insert(network_of_subnet(old->second.subnet));
    if (v) {
      RouterInterfaceObj i{k, text_field(*v, "router"), text_field(*v, "subnet"),
                           model::detail::parse_ip(text_field(*v, "ip_address")), *v};
      c.parents.insert(network_of_subnet(i.subnet));
      interfaces_[k] = std::move(i);
    } else {
      interfaces_.erase(k);
    }
    c.parents.erase("");
    report(c);
  } else {
    std::optional<Kind> kind = schema::kind_of_key(k);
    if (v)
      others_[k] = *v;
    else
      others_.erase(k);
    if (kind) report({*kind, false, k, {}});
  }
  return true;
}

// ---- the interest model (docs/SCALE_DESIGN.md §2) -------------------------------------------

bool ModelView::published(const std::string& network) const {
  if (!interest()) return true;
  auto it = nets_.find(network);
  return it != nets_.end() && it->second.published;
}

// The port as the apps see it follows the one read and its network's publication.
void ModelView::show_port(const std::string& pid, bool updated, std::vector<ModelChange>* later) {
  auto raw = raw_ports_.find(pid);
  bool show = raw != raw_ports_.end() && published(raw->second.network);
  auto old = ports_.find(pid);
  if (!show && old == ports_.end()) return;
  if (show && old != ports_.end() && !updated) return;
  ModelChange c{Kind::kLogicalPort, false, pid, {}};
  if (old != ports_.end()) {
    c.parents.insert(old->second.network);
    if (auto m = by_net_.find(old->second.network); m != by_net_.end()) {
      m->second.erase(pid);
      if (m->second.empty()) by_net_.erase(m);
    }
  }
  if (show) {
    by_net_[raw->second.network].insert(pid);
    c.parents.insert(raw->second.network);
    ports_[pid] = raw->second;
  } else {
    ports_.erase(pid);
  }
  later ? later->push_back(std::move(c)) : report(c);
  show_location(pid, false, later);
}

// A location is visible with its port (the L2 app withdraws this node's endpoints of ports it
// does not see bound: a port whose network is loading must not lose its location).
void ModelView::show_location(const std::string& pid, bool updated, std::vector<ModelChange>* later) {
  auto raw = raw_locations_.find(pid);
  bool show = raw != raw_locations_.end() && ports_.count(pid);
  auto old = locations_.find(pid);
  if (!show && old == locations_.end()) return;
  if (show && old != locations_.end() && !updated) return;
  if (show)
    locations_[pid] = raw->second;
  else
    locations_.erase(pid);
  ModelChange c{Kind::kLocation, false, pid, {}};
  if (auto p = ports_.find(pid); p != ports_.end()) c.parents.insert(p->second.network);
  later ? later->push_back(std::move(c)) : report(c);
}

void ModelView::want_ports(const std::string& source, std::set<std::string> iface_ids) {
  if (!interest()) return;
  if (iface_ids.empty())
    want_by_source_.erase(source);
  else
    want_by_source_[source] = std::move(iface_ids);
  std::set<std::string> now;
  for (const auto& [src, ids] : want_by_source_)
    for (const auto& id : ids) now.insert(db::escape_key_part(id));
  if (now == bound_) return;
  std::vector<std::string> added, removed;
  for (const auto& pid : now)
    if (!bound_.count(pid)) added.push_back(key_of(Kind::kLogicalPort, pid));
  for (const auto& pid : bound_)
    if (!now.count(pid)) removed.push_back(key_of(Kind::kLogicalPort, pid));
  for (const auto& pid : now)
    if (!bound_.count(pid)) bound_unread_.insert(pid);
  bound_ = std::move(now);
  for (const auto& k : added) holders_[k].insert("");
  if (watch_ && !removed.empty()) db_.unwatch_keys(watch_, removed);
  for (const auto& k : removed) {
    bound_unread_.erase(k.substr(schema::kind(Kind::kLogicalPort).key_prefix.size()));
    release(k, "");
  }
  if (watch_ && !added.empty()) {  // (before start: start() watches and reads them)
    db_.watch_keys(watch_, added);
    read_keys(std::move(added), "");
  }
  readiness_changed_ = true;
  schedule_reconcile();
}

// Keys just watched, read once (the watch reports only later changes); a read older than an
// update already applied is dropped by version.
bool ModelView::unread(const std::string& key, const std::string& net) const {
  if (net.empty())
    return bound_unread_.count(key.substr(schema::kind(Kind::kLogicalPort).key_prefix.size())) > 0;
  auto it = nets_.find(net);
  return it != nets_.end() && it->second.unread.count(key);
}

void ModelView::read_keys(std::vector<std::string> keys, const std::string& net) {
  db_.get(keys, [this, keys, net, alive = alive_](Result<std::map<std::string, db::Record>> recs) {
    if (!*alive) return;
    if (!recs.ok()) {
      VLCP_LOG_RL(kWarn, "model", 20, 5)
          << "reading the model for this node's ports: " << recs.error().message();
      after_(std::chrono::seconds(1), [this, keys, net, alive] {
        if (!*alive) return;
        std::vector<std::string> again;
        for (const auto& k : keys)
          if (unread(k, net)) again.push_back(k);
        if (!again.empty()) read_keys(std::move(again), net);
      });
      return;
    }
    for (const auto& [k, rec] : *recs)
      if (holders_.count(k)) apply(db::KeyUpdate{k, rec, db::KeyUpdate::kUpdated});
    for (const auto& k : keys) {
      if (net.empty())
        readiness_changed_ |=
            bound_unread_.erase(k.substr(schema::kind(Kind::kLogicalPort).key_prefix.size())) > 0;
      else if (auto it = nets_.find(net); it != nets_.end())
        it->second.unread.erase(k);
    }
    schedule_reconcile();
  });
}

// A change seen by a network's watch: its member index, or an object of its closure.
void ModelView::on_net_update(const std::string& net, const db::KeyUpdate& u) {
  auto it = nets_.find(net);
  if (it == nets_.end()) return;
  Interest& in = it->second;
  std::string entry = member_entry(net) + ".";
  if (!starts(u.key, entry)) return on_update(u);
  if (u.record.exists()) {
    std::string object = db::unescape_key_part(u.key.substr(entry.size()));
    const auto& prefix = schema::kind(Kind::kLogicalPort).key_prefix;
    if (!starts(object, prefix) || u.key.find('.', entry.size()) != std::string::npos) return;
    in.members[u.key] = object.substr(prefix.size());
    in.gone.erase(u.key);
  } else {
    in.members.erase(u.key);
    if (!in.listed) in.gone.insert(u.key);  // (the listing may be older than this)
  }
  schedule_reconcile();
}

// The network's members, listed once after its prefix watch opened (which reports what comes
// and goes after): the network is ready only once they are known.
void ModelView::list_members(const std::string& net) {
  std::string entry = member_entry(net);
  db_.members(entry, [this, net, entry, alive = alive_](Result<std::vector<std::string>> objects) {
    if (!*alive) return;
    auto it = nets_.find(net);
    if (it == nets_.end() || it->second.listed) return;
    if (!objects.ok()) {
      after_(std::chrono::seconds(1), [this, net, alive] {
        if (*alive && nets_.count(net)) list_members(net);
      });
      return;
    }
    Interest& in = it->second;
    const auto& prefix = schema::kind(Kind::kLogicalPort).key_prefix;
    for (const auto& object : *objects) {
      std::string key = entry + "." + db::escape_key_part(object);
      if (starts(object, prefix) && !in.gone.count(key)) in.members[key] = object.substr(prefix.size());
    }
    in.gone.clear();
    in.listed = true;
    schedule_reconcile();
  });
}

void ModelView::schedule_reconcile() {
  if (reconcile_scheduled_ || !watch_) return;
  reconcile_scheduled_ = true;
  after_(std::chrono::milliseconds(0), [this, alive = alive_] {
    if (!*alive) return;
    reconcile_scheduled_ = false;
    reconcile();
  });
}

// What is wanted now: the networks of bound ports (primary) and their router neighbours; each
// one's closure watched and read; networks no longer wanted linger, then go.
void ModelView::reconcile() {
  std::set<std::string> primary;
  for (const auto& pid : bound_)
    if (auto p = raw_ports_.find(pid); p != raw_ports_.end() && !p->second.network.empty())
      primary.insert(p->second.network);
  std::set<std::string> wanted = with_router_neighbours(primary);
  primary_ = std::move(primary);
  for (const auto& net : wanted) {
    auto [it, added] = nets_.try_emplace(net);
    Interest& in = it->second;
    in.linger = 0;
    if (!added) continue;
    in.watch = db_.open_watch([this, net](const db::KeyUpdate& u) { on_net_update(net, u); });
    // (children only: the entry's members are one ZooKeeper parent's children, no watch on the
    // list of every parent)
    db_.watch_prefix(in.watch, member_entry(net) + ".", true);
    list_members(net);
  }
  for (auto& [net, in] : nets_) {
    if (wanted.count(net) || in.linger) continue;
    in.linger = ++next_linger_;
    after_(linger_, [this, net, gen = in.linger, alive = alive_] {
      if (!*alive) return;
      auto it = nets_.find(net);
      if (it == nets_.end() || it->second.linger != gen) return;
      drop(net);
      schedule_reconcile();
    });
  }
  for (auto& [net, in] : nets_) expand(net, in);
  publish();
}

// A network's closure: the network and its map, each member's port and location, its subnets
// and their maps, each subnet's router interface, its router, the router's other interfaces and
// their subnets (so its neighbours are known). Watched before read; what left it is let go.
void ModelView::expand(const std::string& net, Interest& in) {
  std::set<std::string> want{net, map_of(Kind::kLogicalNetwork, net)};
  for (const auto& [entry, pid] : in.members) {
    want.insert(key_of(Kind::kLogicalPort, pid));
    want.insert(key_of(Kind::kLocation, pid));
  }
  std::set<std::string> subnets, interfaces;
  if (auto it = net_subnets_.find(net); it != net_subnets_.end())
    subnets.insert(it->second.begin(), it->second.end());
  auto subnet_interfaces = [&](const std::string& subnet) {
    if (auto sn = subnets_.find(subnet); sn != subnets_.end() && !sn->second.router.empty())
      interfaces.insert(sn->second.router);
    if (auto m = others_.find(map_of(Kind::kSubnet, subnet)); m != others_.end() && m->second.is_object())
      if (auto rp = m->second.find("routerports"); rp != m->second.end() && rp->is_object())
        for (const auto& [router, port] : rp->items())  // (an external subnet's routers)
          if (port.is_string()) interfaces.insert(port.get<std::string>());
  };
  for (const auto& sn : subnets) subnet_interfaces(sn);
  std::set<std::string> routers;
  for (const auto& i : interfaces)
    if (auto it = interfaces_.find(i); it != interfaces_.end() && !it->second.router.empty())
      routers.insert(it->second.router);
  for (const auto& r : routers)
    if (auto it = routers_.find(r); it != routers_.end())
      interfaces.insert(it->second.interfaces.begin(), it->second.interfaces.end());
  for (const auto& i : interfaces)
    if (auto it = interfaces_.find(i); it != interfaces_.end() && !it->second.subnet.empty())
      subnets.insert(it->second.subnet);
  const auto& sn_prefix = schema::kind(Kind::kSubnet).key_prefix;
  const auto& r_prefix = schema::kind(Kind::kRouter).key_prefix;
  const auto& i_prefix = schema::kind(Kind::kRouterInterface).key_prefix;
  for (const auto& sn : subnets)
    if (starts(sn, sn_prefix)) want.insert({sn, map_of(Kind::kSubnet, sn)});
  for (const auto& r : routers)
    if (starts(r, r_prefix)) want.insert(r);
  for (const auto& i : interfaces)
    if (starts(i, i_prefix)) want.insert(i);
  std::vector<std::string> added, removed;
  for (const auto& k : want)
    if (!in.keys.count(k)) added.push_back(k);
  for (const auto& k : in.keys)
    if (!want.count(k)) removed.push_back(k);
  if (!removed.empty()) {
    db_.unwatch_keys(in.watch, removed);
    for (const auto& k : removed) {
      in.keys.erase(k);
      in.unread.erase(k);
      release(k, net);
    }
  }
  if (added.empty()) return;
  for (const auto& k : added) {
    in.keys.insert(k);
    in.unread.insert(k);
    holders_[k].insert(net);
  }
  db_.watch_keys(in.watch, added);
  read_keys(std::move(added), net);
}

// A network is published (its ports visible) once it is ready and, when a bound port is in it,
// every router neighbour is ready too: the apps never program part of a network or a route.
// Published stays published while the network is held (a neighbour added later loads beside it).
void ModelView::publish() {
  std::vector<std::string> now;
  for (auto& [net, in] : nets_) {
    if (in.published || !in.ready()) continue;
    bool neighbours = true;
    if (primary_.count(net))
      for (const auto& n : with_router_neighbours({net})) {
        auto it = nets_.find(n);
        neighbours = neighbours && it != nets_.end() && it->second.ready();
      }
    if (!neighbours) continue;
    in.published = true;
    now.push_back(net);
  }
  // Every port of every network published now is visible before the first change is reported.
  std::vector<ModelChange> changes;
  for (const auto& net : now) {
    std::set<std::string> pids;
    for (const auto& [entry, pid] : nets_.at(net).members) pids.insert(pid);
    for (const auto& pid : bound_) pids.insert(pid);
    for (const auto& pid : pids)
      if (auto p = raw_ports_.find(pid); p != raw_ports_.end() && p->second.network == net)
        show_port(pid, false, &changes);
    changes.push_back({Kind::kLogicalNetwork, false, net, {net}});
  }
  for (const auto& c : changes) report(c);
  if (now.empty() && !readiness_changed_) return;
  readiness_changed_ = false;
  for (auto& fn : on_ready) fn();
}

// A network no longer wanted, after its linger: its watch closed (prefix and keys together), its
// objects dropped where nothing else holds them, its ports hidden (reported: the apps delete
// what they derived from them).
void ModelView::drop(const std::string& net) {
  auto it = nets_.find(net);
  if (it == nets_.end()) return;
  Interest in = std::move(it->second);
  nets_.erase(it);
  db_.close_watch(in.watch);
  std::set<std::string> shown = ports_of(net);  // (a copy: hiding them changes it)
  for (const auto& pid : shown) show_port(pid, false);
  for (const auto& k : in.keys) release(k, net);
  VLCP_LOG(kInfo, "model") << "logical network " << net << " no longer followed: " << in.keys.size()
                           << " keys let go";
}

void ModelView::release(const std::string& key, const std::string& holder) {
  auto it = holders_.find(key);
  if (it == holders_.end()) return;
  it->second.erase(holder);
  if (!it->second.empty()) return;
  holders_.erase(it);
  forget(key);
}

void ModelView::forget(const std::string& key) {
  apply(db::KeyUpdate{key, db::Record{}, db::KeyUpdate::kRestored});  // (absent, whatever its version)
  versions_.erase(key);
}
}  // namespace vlcp::apps
