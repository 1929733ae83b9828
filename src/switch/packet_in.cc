#include "switch/packet_in.h"

#include "base/log.h"
#include "ofp/actions.h"
#include "ofp/message.h"

namespace vlcp::sw {

Status PacketInTable::add(uint8_t app_id, PacketInHandler handler) {
  if (!handler.fn)
    return make_error(Errc::kInvalidArgument, "packet-in handler of " + handler.app + ": no function");
  if (int i = by_app_[app_id]; i != kNone)
    return make_error(Errc::kAlreadyExists, "packet-in handlers of " +
                                                entries_[static_cast<size_t>(i)].handler.app + " and " +
                                                handler.app + " both claim app id " + std::to_string(app_id));
  entries_.emplace_back(std::move(handler), app_id);
  by_app_[app_id] = static_cast<int>(entries_.size() - 1);
  return {};
}

Status PacketInTable::set_fallback(PacketInHandler handler) {
  if (!handler.fn)
    return make_error(Errc::kInvalidArgument, "packet-in handler of " + handler.app + ": no function");
  if (fallback_ != kNone)
    return make_error(Errc::kAlreadyExists, "packet-in fallbacks " +
                                                entries_[static_cast<size_t>(fallback_)].handler.app +
                                                " and " + handler.app + ": only one");
  entries_.emplace_back(std::move(handler), -1);
  fallback_ = static_cast<int>(entries_.size() - 1);
  return {};
}

bool PacketInTable::run(int index, uint64_t dpid, ByteSpan packet_in, Buffer& answers) const noexcept {
  const Entry& e = entries_[static_cast<size_t>(index)];
  size_t before = answers.size();
  const char* why = nullptr;
  std::string what;
  try {
    e.handler.fn(dpid, packet_in, answers);
    if (!for_each_message(answers.span().subspan(before), [](ByteSpan) {}))
      why = "wrote an answer that is not a sequence of OpenFlow messages";
  } catch (const std::exception& ex) {
    why = "threw: ";
    what = ex.what();
  } catch (...) {
    why = "threw";
  }
  if (why) {
    answers.resize(std::min(before, answers.size()));
    e.failed.fetch_add(1, std::memory_order_relaxed);
    VLCP_LOG_RL(kWarn, "switch", 6, 1)
        << "packet-in handler " << e.handler.app << " " << why << what << " (datapath " << std::hex << dpid
        << std::dec << "); answers dropped";
    return false;
  }
  e.handled.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::vector<PacketInTable::Stats> PacketInTable::stats() const {
  std::vector<Stats> out;
  for (const Entry& e : entries_)
    out.push_back(Stats{e.handler.app, e.app_id, e.handler.side, e.handled.load(std::memory_order_relaxed),
                        e.failed.load(std::memory_order_relaxed)});
  return out;
}

void hub_packet_in(uint64_t, ByteSpan bytes, Buffer& answers) {
  auto frame = ofp::decode_frame(bytes);
  if (!frame.ok() || frame->header.type != ofp::MsgType::kPacketIn) return;
  auto p = ofp::decode_packet_in(*frame);
  if (!p.ok()) return;
  uint32_t in_port = ofp::kPortController;
  p->match.for_each([&](const ofp::OxmEntry& e) {
    if (e.info && e.info->field == ofp::Field::kInPort) in_port = static_cast<uint32_t>(e.value_u64());
  });
  ofp::PacketOut po;
  po.buffer_id = p->buffer_id;
  po.in_port = in_port;
  po.actions.output(ofp::kPortFlood);
  if (p->buffer_id == ofp::kNoBuffer) po.data = p->data;
  ofp::encode_packet_out(answers, 0, po);
}

}  // namespace vlcp::sw
