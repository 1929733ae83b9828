// What the model's objects share: parameter checks, transactions that build their answer,
// VLCP's dump format, sets and filters. Internal to src/model.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "db/objectdb.h"
#include "model/address.h"
#include "schema/kinds.h"

namespace vlcp::model {
struct AddressHints;  // ports.cc
}  // namespace vlcp::model

namespace vlcp::model::detail {

using Json = nlohmann::json;
using Done = std::function<void(Result<Json>)>;

Status bad(const std::string& m);
// An integer parameter: a JSON integer, or (from a query string or form) its decimal text.
std::optional<int64_t> as_int(const Json& v);
// A parameter as text (strings as they are, other values as JSON).
std::string text(const Json& v);
// An id parameter; when absent and not required, a new id.
Result<std::string> id_param(const Json& spec, const char* field, bool required);

// Reads keys inside a transaction body; `pending` when one is not fetched yet (the body
// returns and runs again).
struct Reader {
  db::TxnContext& ctx;
  bool pending = false;
  const Json* get(const std::string& key) {
    db::Lookup l = ctx.get(key);
    if (!l.fetched) {
      pending = true;
      return nullptr;
    }
    return l.value();
  }
};

// An object as VLCP's API shows it: its fields, "_type" and "_key".
Json dump(const std::string& key, const char* type, Json value);
// A set object ({"set": [keys]}) with `key` added or removed.
Json set_with(const Json* set, const std::string& key, bool add);
Json list_without(const Json& list, const std::string& key);
// Whether an object has every filter's value (text-equal for string filters; a reference
// also by the referenced object's id); `special` filters are the caller's.
bool matches(const Json& value, const Json& filters, const std::set<std::string>& special);
// What a batch holds, for its checks and messages: the object kind ("logical port"), the batch
// form's parameter ("ports"), and which object a spec names ("" when none yet: an id to be
// generated). By default a spec names the object of its "id".
struct BatchOf {
  const char* kind;
  const char* param;
  std::string (*names)(const Json& spec) = nullptr;
};
// Every batch verb (create, update, delete, add/remove interface) of every kind checks its specs
// here, once: a non-empty list of objects; no attribute with a reserved name (VLCP's "_key",
// "_type", ... : a name starting with '_'); no object named twice ("logical port X is named twice
// in the batch": one transaction cannot create, change or delete an object twice).
Result<Json> checked_specs(const Json& specs, const BatchOf& of);
// A kind's batch as its declaration names it (schema/kinds.h): its display name and batch parameter.
BatchOf batch_of(schema::Kind kind, std::string (*names)(const Json& spec) = nullptr);
// ObjectDB's rule for the declared index `name` of `owner` (schema::kIndices; it must exist).
db::IndexRule index_rule(schema::Kind owner, std::string_view name);
// The keys a batch names by id (after checked_specs): `fixed`, then each spec's key (and map
// key, when given).
Result<std::vector<std::string>> batch_keys(const Json& specs, const BatchOf& of,
                                            std::vector<std::string> fixed,
                                            std::string (*key_of)(const std::string&),
                                            std::string (*map_of)(const std::string&));
// The map object beside an object: viperflow.<kind>.<id> -> viperflow.<kind>map.<id>
// (physical networks, logical networks, subnets).
std::string map_key_of(const std::string& key);

// Addresses, parsed once here and stored in one spelling, so that unique indices and filters see
// one text per address.
//
// (IPv4 and MAC text: model/address.h.)
// An IPv4 network. Hosts: every address but the network and broadcast ones, except that a /31
// (RFC 3021 point-to-point) and a /32 have no such addresses and all are hosts.
struct Cidr {
  uint32_t network = 0;
  int prefix = 0;
  uint32_t mask() const { return prefix ? ~uint32_t{0} << (32 - prefix) : 0; }
  uint32_t broadcast() const { return network | ~mask(); }
  bool contains(uint32_t ip) const { return (ip & mask()) == network; }
  bool overlaps(const Cidr& o) const { return contains(o.network) || o.contains(network); }
  uint32_t first_host() const { return prefix >= 31 ? network : network + 1; }
  uint32_t last_host() const { return prefix >= 31 ? broadcast() : broadcast() - 1; }
  bool is_host(uint32_t ip) const { return contains(ip) && ip >= first_host() && ip <= last_host(); }
  std::string text() const { return ip_text(network) + "/" + std::to_string(prefix); }
};
// A subnet's network "ADDRESS/PREFIX": prefix 1-32, host bits must be zero.
Result<Cidr> parse_cidr(const std::string& s);
// A route's destination, as VLCP's parse_ip4_network reads it: prefix 0-32, host bits cleared.
Result<Cidr> parse_route_prefix(const std::string& s);
// value[field], when present and not null, must be an IPv4 address; stored canonical.
Status normalise_ip(Json& value, const char* field);
// value[field] (a router's routes, a subnet's host_routes): a list of [prefix, nexthop], each
// prefix a route prefix and each nexthop an address; stored canonical ("10.1.0.0/16").
Status check_routes(Json& routes, const char* field);
// value[field], when present, must be a MAC address a port can have: unicast (the I/G bit clear,
// which also refuses ff:ff:ff:ff:ff:ff) and not all zeros; stored lower case.
Status normalise_port_mac(Json& value, const char* field);

// The DHCP and DNS options networks, subnets and ports carry, checked and normalised in place
// (a JSON value or its text from a form): mtu 68-65535, lease_time 60 s - 2^32-1 s or
// "infinite", dns_nameservers and ntp_servers lists of IPv4 addresses, domain_name and
// hostname DNS names, extra_dhcp_options {code: value} or [[code, value]] with codes 1-254
// (normalised to the object form; values text, numbers or lists of them).
Status check_dhcp_options(Json& value);

// The end of a batch: the maps it changed, and its set.
void write_batch(Reader& r, const std::map<std::string, Json>& maps, const char* set_key,
                 const Json& next_set);

// Subnets that share a logical network or a router do not overlap (an address must name one
// subnet): subnet `skey` (id `sid`) with `cidr` against the subnets `others` (keys; `skey` itself
// skipped) as this transaction sees them (its own writes included); `owner` names what they share
// in the 409 ("logical network n1", "router r1"). Reads as it goes: ok with r.pending set until all
// is read. Creating a subnet, changing its cidr and adding a router interface all check here.
Status check_subnets_apart(Reader& r, const std::string& skey, const std::string& sid, const Cidr& cidr,
                           const std::vector<std::string>& others, const std::string& owner);
// The same against the subnets behind router `rid`'s `interfaces` (its ports).
Status check_router_overlap(Reader& r, const std::string& skey, const std::string& sid, const Cidr& cidr,
                            const std::string& rid, const Json& interfaces);

// Fences: a change whose checks need the members of a multi index (a subnet's ports, before
// the subnet goes) must not miss members added while it lists them. It first writes a fence
// beside the object (schema::kFencePrefix + the escaped key, holding for kFenceUs); whoever adds a
// member reads the fence in its transaction and refuses while it holds (a member added before
// the fence was written is listed; one racing with it conflicts on the fence and retries into
// the refusal). Then the members are listed and the change runs, lifting the fence.
inline constexpr int64_t kFenceUs = 10'000'000;
std::string fence_key(const std::string& key);
// In a member's transaction: an error when the object is fenced (reads the fence key).
Status check_fence(Reader& r, const std::string& key, const char* what);
// Fences the batch's objects (by id: key_of), lists each one's members (the multi index
// members_of names), then runs `body` (keys: its first reads) with them, in the batch's order.
using FencedBody =
    std::function<Status(Reader&, const std::vector<std::vector<std::string>>& members, Json& out)>;
void run_fenced(db::ObjectDb& db, const Json& specs, std::string (*key_of)(const std::string&),
                std::string (*members_of)(const std::string&), std::vector<std::string> keys, FencedBody body,
                Done done);

// The multi indices of logical ports by network and by subnet (ports.cc).
std::string network_ports_index(const std::string& network_key);
std::string subnet_ports_index(const std::string& subnet_key);
// The unique index key of an address in a subnet (logical ports and router interfaces).
std::string address_index(const std::string& subnet_key, uint32_t ip);

// A subnet's pool: [start, end] without the gateway (ports.cc; the containers' IPAM reads the
// same rules).
struct Pool {
  uint32_t start, end;
  std::optional<uint32_t> gateway;
};
Result<Pool> pool_of(const Json& subnet);
// An explicit address for a port: an IPv4 address in the subnet's pool that is not its gateway
// (else kInvalidArgument naming it; `sid` is the subnet's id, for the message).
Result<uint32_t> pool_address(const Json& v, const Pool& pool, const std::string& sid);

// Logical ports created inside another transaction (create_logical_ports, and the container
// endpoints of model/containers.cc, whose port, info and consumed reservation are one commit).
// prepare_port checks and normalises a spec ({id?, logicalnetwork, subnet?, mac_address?,
// ip_address?, ...}) before the transaction and appends the keys it will read; create_port then
// checks (network, fences, MAC and address indices, the subnet's pool) and writes the port,
// leaving r.pending set (and `dumped` empty) while keys are read. An index entry held by an
// object in `freed` (one the same transaction deletes or replaces: a consumed reservation, a
// stale port) counts as free; ObjectDB's index rules remove such entries before adding.
struct PortBatch {
  std::map<std::string, std::set<uint32_t>> used_ips;  // by this batch, per subnet
  std::set<std::string> used_macs;
  std::set<std::string> freed;
};
Status prepare_port(Json& spec, std::vector<std::string>& keys);
Status create_port(Reader& r, AddressHints& hints, const Json& spec, std::vector<uint32_t>& cands,
                   uint64_t& tried, PortBatch& batch, Json& dumped);
// Where a node looks for free addresses first (ports.cc): one per ViperFlow, or per user of
// pick_address; loaded per subnet by listing its address index before the transaction.
std::shared_ptr<AddressHints> make_address_hints();
bool address_hints_need_load(const AddressHints& hints, const std::string& subnet_key);
std::optional<uint32_t> prefetch_address(AddressHints& hints, const std::string& subnet_key);
void load_address_hints(db::ObjectDb& db, std::shared_ptr<AddressHints> hints,
                        std::vector<std::string> subnets, std::function<void()> then);
// An address for a new holder of subnet `skey`: the first free one among its candidates (read
// from the address index; `used` are the batch's own). Leaves `ip` unset while candidates are
// being read; kConflict when the pool has none left.
Status pick_address(Reader& r, AddressHints& hints, const std::string& skey, const std::string& sid,
                    const Pool& pool, std::vector<uint32_t>& cands, uint64_t& tried,
                    const std::set<uint32_t>& used, std::optional<uint32_t>& ip);

// Runs a transaction whose body fills `out`; answers `out` on success. The body returns early
// (anything) when the Reader is pending: it runs again with the keys it asked for.
void run(db::ObjectDb& db, std::vector<std::string> keys, std::function<Status(Reader&, Json& out)> body,
         Done done);

}  // namespace vlcp::model::detail
