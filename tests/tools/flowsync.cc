// flowsync MGMT: the installer's reconcile step against a real switch. Reads the switch's
// flows (flow stats, our codec) as the desired set, deletes every flow, installs the desired
// set through the FLOW_MODs the diff produces, reads the flows back and diffs again: OVS must
// report what we sent exactly (in canonical form), so a reconnect with nothing changed sends
// no FLOW_MOD. Prints {"flows", "installed", "after", "resend"} as JSON; exit 0 when "after"
// equals "flows" and "resend" is 0.
#include <cstdio>

#include "base/buffer.h"
#include "cli/switch_client.h"
#include "ofp/bodies.h"
#include "pipeline/flowset.h"

using namespace vlcp;

namespace {

Result<pipeline::FlowSet> read_flows(cli::SwitchClient& c) {
  InlineBuffer<256> request;
  ofp::encode_flow_stats_request(request, c.next_xid(), ofp::FlowStatsRequest{});
  std::vector<ofp::FlowStats> all;
  Status st = c.transact(request.span(), [&](const ofp::Frame& f) -> Status {
    auto mp = ofp::decode_multipart(f);
    if (!mp.ok()) return make_error(Errc::kMalformed, "a flow stats reply that does not decode");
    auto flows = ofp::decode_flow_stats_reply(mp->body);
    if (!flows.ok()) return make_error(Errc::kMalformed, "flow stats: " + ofp::error_name(flows.error()));
    all.insert(all.end(), flows->begin(), flows->end());
    return {};
  });
  if (!st.ok()) return st;
  return pipeline::from_stats(all);
}

// Sends the FLOW_MODs and a barrier (all with one xid: the barrier's reply ends the exchange,
// an error for any of them fails it).
Status send_mods(cli::SwitchClient& c, const std::vector<ofp::FlowMod>& mods) {
  Buffer out;
  uint32_t xid = c.next_xid();
  for (const auto& m : mods) ofp::encode_flow_mod(out, xid, m);
  ofp::encode_simple(out, ofp::MsgType::kBarrierRequest, xid);
  return c.transact(out.span(), [](const ofp::Frame&) { return Status{}; });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: flowsync unix:MGMT_SOCKET\n");
    return 2;
  }
  auto client = cli::SwitchClient::connect(argv[1], std::chrono::seconds(5));
  if (!client.ok()) return std::fprintf(stderr, "flowsync: %s\n", client.error().message().c_str()), 1;
  auto desired = read_flows(**client);
  if (!desired.ok()) return std::fprintf(stderr, "flowsync: %s\n", desired.error().message().c_str()), 1;
  ofp::FlowMod wipe;
  wipe.command = ofp::FlowModCommand::kDelete;
  wipe.table_id = 0xff;
  Status st = send_mods(**client, {wipe});
  pipeline::FlowDiff install = pipeline::diff(*desired, {});
  if (st.ok()) st = send_mods(**client, install.mods);
  if (!st.ok()) return std::fprintf(stderr, "flowsync: %s\n", st.message().c_str()), 1;
  auto after = read_flows(**client);
  if (!after.ok()) return std::fprintf(stderr, "flowsync: %s\n", after.error().message().c_str()), 1;
  pipeline::FlowDiff resend = pipeline::diff(*desired, *after);
  std::printf("{\"flows\": %zu, \"installed\": %zu, \"after\": %zu, \"resend\": %zu}\n", desired->size(),
              install.adds, after->size(), resend.mods.size());
  for (const auto& m : resend.mods)
    std::fprintf(stderr, "flowsync: would resend command %d to table %u priority %u\n",
                 static_cast<int>(m.command), m.table_id, m.priority);
  return after->size() == desired->size() && resend.empty() ? 0 : 1;
}
