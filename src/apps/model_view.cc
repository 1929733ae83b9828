#include "apps/model_view.h"

#include "base/log.h"

namespace vlcp::apps {

using Json = nlohmann::json;
using schema::Kind;

namespace {

bool starts(const std::string& s, std::string_view p) {
  return !p.empty() && s.compare(0, p.size(), p) == 0;
}
const std::set<std::string> kNone;
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

ModelView::ModelView(db::ObjectDb& db, After after, std::set<schema::Kind> kinds)
    : db_(db), after_(std::move(after)) {
  watch(kinds);
}

void ModelView::watch(const std::set<schema::Kind>& kinds) {
  if (watch_) {  // (a programming error: the host adds its apps' kinds before it starts the view)
    VLCP_LOG(kError, "model") << "kinds added to a model view already started: ignored";
    return;
  }
  for (Kind k : kinds) {
    if (!kinds_.insert(k).second) continue;
    const auto& info = schema::kind(k);
    if (!info.key_prefix.empty()) prefixes_.emplace_back(info.key_prefix);
    if (!info.map_prefix.empty()) prefixes_.emplace_back(info.map_prefix);
  }
}

ModelView::~ModelView() {
  *alive_ = false;
  if (watch_) db_.close_watch(watch_);
}

void ModelView::start() {
  watch_ = db_.open_watch([this](const db::KeyUpdate& u) { on_update(u); });
  for (const auto& p : prefixes_) db_.watch_prefix(watch_, p);
  load();
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
  uint64_t& seen = versions_[u.key];
  if (u.record.version && u.record.version <= seen && u.reason != db::KeyUpdate::kRestored) return;
  seen = std::max(seen, u.record.version);
  // A deleted key's version is needed only while the model loads (its snapshot may be older
  // than what the watch already said); after that ObjectDB reports a key's versions in order,
  // so deleted keys are not remembered (churn would grow this map without bound).
  if (loaded_ && !u.record.exists()) versions_.erase(u.key);
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
    ModelChange c{Kind::kLogicalPort, false, pid, {}};
    if (auto old = ports_.find(pid); old != ports_.end()) {
      c.parents.insert(old->second.network);
      if (auto m = by_net_.find(old->second.network); m != by_net_.end()) {
        m->second.erase(pid);
        if (m->second.empty()) by_net_.erase(m);
      }
    }
    if (v) {
      LogicalPortObj p{text_field(*v, "id"),
                       text_field(*v, "network"),
                       model::detail::parse_mac(text_field(*v, "mac_address")),
                       *v,
                       text_field(*v, "subnet"),
                       model::detail::parse_ip(text_field(*v, "ip_address"))};
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
}

}  // namespace vlcp::apps
