// A fake switch for the flow owner's tests (and the L2 app's): applies FLOW_MODs and GROUP_MODs as OVS does
// and reports its tables through the real codec (flow stats, group descriptions). Answers are queued until
// deliver(), so tests decide what is in flight.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <vector>

#include "base/buffer.h"
#include "flows/owner.h"
#include "ofp/actions.h"
#include "ofp/bodies.h"

namespace vlcp::flows {

class FakeSwitch final : public SwitchLink {
 public:
  pipeline::FlowSet flows;
  pipeline::GroupSet groups;
  size_t flow_mods = 0, group_mods = 0, requests = 0, bundle_messages = 0;
  bool refuse_next = false;
  bool garble_reads = false;                 // answer flow stats and group desc with bytes that do not decode
  std::deque<std::function<void()>> queued;  // answers not delivered yet
  std::vector<std::function<void()>> timers;

  void send_batch(std::vector<std::vector<uint8_t>> messages, std::function<void(Outcome)> done) override {
    Outcome out;
    out.completed = true;
    for (const auto& whole : messages) {
      ByteSpan m(whole.data(), whole.size());
      if (m.size() >= 16 && m[1] == static_cast<uint8_t>(ofp::MsgType::kExperimenter)) {  // an ONF bundle
        if (load_be32(m.data() + 12) == ofp::kOnfBundleControl) {
          bundle_messages += load_be16(m.data() + 20) == 4;  // COMMIT
          continue;
        }
        m = m.subspan(24);  // ADD_MESSAGE: the message inside
      }
      auto frame = ofp::decode_frame(m);
      ASSERT_TRUE(frame.ok());
      if (frame->header.type == ofp::MsgType::kFlowMod) {
        ++flow_mods;
        auto f = ofp::decode_flow_mod(*frame);
        ASSERT_TRUE(f.ok());
        if (refuse_next) {
          out.errors.push_back("OFPBAC_BAD_OUT_PORT");
          continue;
        }
        pipeline::FlowKey key{f->table_id, f->priority, pipeline::canonical_match(f->match.oxms())};
        if (f->command == ofp::FlowModCommand::kDeleteStrict)
          flows.erase(key);
        else if (f->command == ofp::FlowModCommand::kModifyStrict)
          flows[key].instructions.assign(reinterpret_cast<const char*>(f->instructions.bytes().data()),
                                         f->instructions.bytes().size());
        else
          pipeline::put_flow(flows, *f);
      } else {
        ++group_mods;
        auto g = ofp::decode_group_mod(*frame);
        ASSERT_TRUE(g.ok());
        if (g->command == 2)
          groups.erase(g->group_id);
        else
          pipeline::put_group(groups, g->group_id, g->type, g->buckets);
      }
    }
    refuse_next = false;
    queued.push_back([done, out] { done(out); });
  }
  void request(std::vector<uint8_t> message,
               std::function<void(Result<std::vector<uint8_t>>)> done) override {
    ++requests;
    auto frame = ofp::decode_frame(ByteSpan(message.data(), message.size()));
    auto mp = ofp::decode_multipart(*frame);
    Buffer body;
    if (mp->type == ofp::MultipartType::kFlow) {
      for (const auto& [k, b] : flows) {
        ofp::FlowStats s;
        s.table_id = k.table;
        s.priority = k.priority;
        s.cookie = b.cookie;
        // Reported in another field order than sent: the owner must not care.
        std::string m = k.match;
        s.match = ofp::Match::from_oxms(ByteSpan(reinterpret_cast<const uint8_t*>(m.data()), m.size()));
        s.instructions = ofp::InstructionList(
            ByteSpan(reinterpret_cast<const uint8_t*>(b.instructions.data()), b.instructions.size()));
        ofp::encode_flow_stats_entry(body, s);
      }
    } else {
      for (const auto& [id, g] : groups)
        ofp::encode_group_desc_entry(body, ofp::GroupMod{0, g.type, id, g.buckets});
    }
    std::vector<uint8_t> bytes(body.data(), body.data() + body.size());
    if (garble_reads) bytes = {0, 9, 1, 2, 3, 4, 5};
    queued.push_back([done, bytes] { done(bytes); });
  }
  void after(std::chrono::milliseconds, std::function<void()> fn) override {
    timers.push_back(std::move(fn));
  }

  void deliver() {
    while (!queued.empty()) {
      auto fn = std::move(queued.front());
      queued.pop_front();
      fn();
    }
  }
};

}  // namespace vlcp::flows
