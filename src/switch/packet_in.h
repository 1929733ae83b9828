// Packet-in handlers by app: the table SwitchManager dispatches PACKET_INs with. An app registers
// one handler under its app id (the cookie's bits 48..55, apps/l2/l2.h `cookie()`) and says where it
// runs: on the worker lcores (the I/O thread hands the message over a ring; pure functions of
// their configuration and the message, run by any worker at once) or on the control thread
// (handlers that read the model). With no worker lcore, worker handlers run on the I/O thread
// that read the packet-in (no hand-over at all); a packet-in too large for a slot
// (PacketSlot::kMaxPacketIn) runs on the control thread. A packet-in no app claims goes to the fallback
// handler (the hub, with module.openflowserver.packetin = 'hub'), else it is dropped and counted.
//
// A handler appends whole OpenFlow messages (xid 0: the session stamps its own) back to back to
// `answers`, which the caller supplies (the slot's answer area on the workers: no allocation
// per packet). A handler that throws, or writes something that is not a sequence of messages, is
// counted as failed and its answers dropped; the thread that ran it goes on.
//
// Standard and base types only: apps implement handlers without seeing Asio or switch/.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "base/buffer.h"
#include "base/result.h"

namespace vlcp::sw {

enum class PacketInSide { kWorkers, kControl };

using PacketInFn = std::function<void(uint64_t dpid, ByteSpan packet_in, Buffer& answers)>;

struct PacketInHandler {
  std::string app;  // names the handler in errors, logs and stats
  PacketInSide side = PacketInSide::kWorkers;
  PacketInFn fn;
};

// The app id a flow's cookie carries (apps/l2/l2.h: cookie = app << 48 | ...).
inline constexpr uint8_t packet_in_app_id(uint64_t cookie) {
  return static_cast<uint8_t>(cookie >> 48 & 0xff);
}

class PacketInTable {
 public:
  static constexpr int kNone = -1;

  PacketInTable() { by_app_.fill(kNone); }
  PacketInTable(const PacketInTable&) = delete;
  PacketInTable& operator=(const PacketInTable&) = delete;

  // Before the table is handed to the manager. A second handler for an app id is an error
  // naming both apps.
  Status add(uint8_t app_id, PacketInHandler handler);
  // Packet-ins no app claims go here; without one they are dropped and counted (unclaimed()).
  Status set_fallback(PacketInHandler handler);

  // Which handler takes a PACKET_IN with this cookie: the app's, else the fallback, else kNone.
  int route(uint64_t cookie) const {
    int i = by_app_[packet_in_app_id(cookie)];
    return i != kNone ? i : fallback_;
  }
  const PacketInHandler& handler(int index) const { return entries_[static_cast<size_t>(index)].handler; }
  size_t size() const { return entries_.size(); }

  // Runs handler `index` (any thread; worker handlers run on several workers at once). Appends
  // its answers to `answers` and returns true; false (answers left as they were, counted) when it
  // threw or wrote something that is not a sequence of whole OpenFlow messages.
  bool run(int index, uint64_t dpid, ByteSpan packet_in, Buffer& answers) const noexcept;

  // Counters (any thread).
  void count_unclaimed() const { unclaimed_.fetch_add(1, std::memory_order_relaxed); }
  void count_failed(int index) const {
    entries_[static_cast<size_t>(index)].failed.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t unclaimed() const { return unclaimed_.load(std::memory_order_relaxed); }
  struct Stats {
    std::string app;
    int app_id;  // -1: the fallback
    PacketInSide side;
    uint64_t handled, failed;
  };
  std::vector<Stats> stats() const;

 private:
  struct Entry {
    PacketInHandler handler;
    int app_id;
    mutable std::atomic<uint64_t> handled{0}, failed{0};
    Entry(PacketInHandler h, int id) : handler(std::move(h)), app_id(id) {}
  };
  std::deque<Entry> entries_;  // stable: handlers are found by index
  std::array<int, 256> by_app_;
  int fallback_ = kNone;
  mutable std::atomic<uint64_t> unclaimed_{0};
};

// Calls fn(message) for each whole OpenFlow message in `bytes`; false if `bytes` is not a
// sequence of messages (a header shorter than 8 bytes or a length past the end).
template <typename Fn>
bool for_each_message(ByteSpan bytes, Fn&& fn) {
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 8) return false;
    size_t len = load_be16(bytes.data() + at + 2);
    if (len < 8 || len > bytes.size() - at) return false;
    fn(bytes.subspan(at, len));
    at += len;
  }
  return true;
}

// The hub (ovs-testcontroller --hub): answers a PACKET_IN with a PACKET_OUT flooding it.
void hub_packet_in(uint64_t dpid, ByteSpan packet_in, Buffer& answers);

}  // namespace vlcp::sw
