// libFuzzer target for what vlcpd reads from a switch beyond the message decoders: a flow stats
// reply body and a GROUP_DESC reply body (the installer's view of the switch) and a PACKET_IN
// answered by controller learning on a worker (the L2 app's packet-in handler, apps/l2_learning). The first
// byte picks the reader, the rest is its input. Nothing may crash or read out of bounds; a group table that
// decodes must encode back to one that decodes the same. Also replayed by switch_input_fuzz_replay inside
// `make test`.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "apps/l2/l2_learning.h"
#include "base/buffer.h"
#include "ofp/message.h"
#include "pipeline/flowset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vlcp;
  if (size < 1 || size > 0xffff) return 0;
  ByteSpan in(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto flows = ofp::decode_flow_stats_reply(in);
      if (flows.ok()) (void)pipeline::diff(pipeline::from_stats(*flows), {});
      break;
    }
    case 1: {
      auto groups = pipeline::groups_from_desc(in);
      if (!groups.ok()) break;
      Buffer again;
      for (const auto& [id, g] : *groups)
        ofp::encode_group_desc_entry(again, ofp::GroupMod{0, g.type, id, g.buckets});
      auto back = pipeline::groups_from_desc(again.span());
      if (!back.ok() || !(*back == *groups)) std::abort();
      break;
    }
    default: {
      // A PACKET_IN whose header is made well formed, so the fuzzer reaches the body.
      std::vector<uint8_t> msg(in.begin(), in.end());
      if (msg.size() < 8) break;
      msg[0] = ofp::kOfp13;
      msg[1] = static_cast<uint8_t>(ofp::MsgType::kPacketIn);
      msg[2] = static_cast<uint8_t>(msg.size() >> 8);
      msg[3] = static_cast<uint8_t>(msg.size());
      apps::L2LearningConfig config{1, 2, 5, 300, 1};
      InlineBuffer<512> answers;
      if (apps::l2_learn(config, ByteSpan(msg.data(), msg.size()), answers)) {
        // What we send back must be two well-formed FLOW_MODs, back to back.
        ByteSpan rest = answers.span();
        for (int i = 0; i < 2; ++i) {
          if (rest.size() < 8 || load_be16(rest.data() + 2) > rest.size()) std::abort();
          ByteSpan m = rest.first(load_be16(rest.data() + 2));
          if (m[1] != static_cast<uint8_t>(ofp::MsgType::kFlowMod) || ofp::validate_message(m)) std::abort();
          rest = rest.subspan(m.size());
        }
        if (!rest.empty()) std::abort();
      } else if (!answers.empty()) {
        std::abort();  // nothing is written for a message that is not learnable
      }
      break;
    }
  }
  return 0;
}
