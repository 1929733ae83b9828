// A pool of fixed-size slots owned by one thread: the packet-in path's buffers (docs/
// PACKET_IN_DESIGN.md §2.1). One allocation of N cache-line-aligned slots and a stack of the free
// ones; take() and give() run on the owner thread only, so there are no atomics here.
//
// Ownership rule (the only way a slot crosses threads): the owner *loans* a slot to another
// thread by pushing its pointer through an SPSC ring, and the borrower always returns it through
// another SPSC ring to the owner, which alone gives it back. The rings' release/acquire is the
// hand-over; the ring adapter (sched/ring.h) stays the only lock-free code (STYLE rule 6).
// `loaned()` (slots not home) is what the owner checks at shutdown and in tests.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

namespace vlcp::sched {

template <typename Slot>
class SlotPool {
  static_assert(std::is_trivially_destructible_v<Slot>, "slots are raw storage");

 public:
  static constexpr size_t kAlign = 64;

  explicit SlotPool(size_t count) : count_(count) {
    size_t bytes = (sizeof(Slot) * count + kAlign - 1) / kAlign * kAlign;
    mem_ = static_cast<Slot*>(std::aligned_alloc(kAlign, bytes ? bytes : kAlign));
    if (!mem_) throw std::bad_alloc();
    free_.reserve(count);
    for (size_t i = count; i-- > 0;) free_.push_back(::new (static_cast<void*>(mem_ + i)) Slot);
  }
  ~SlotPool() { std::free(mem_); }
  SlotPool(const SlotPool&) = delete;
  SlotPool& operator=(const SlotPool&) = delete;

  // Owner thread. nullptr when every slot is out (the caller sheds, counted).
  Slot* take() {
    if (free_.empty()) return nullptr;
    Slot* s = free_.back();
    free_.pop_back();
    return s;
  }
  // Owner thread: a slot of this pool, home again.
  void give(Slot* s) { free_.push_back(s); }

  bool owns(const Slot* s) const { return s >= mem_ && s < mem_ + count_; }
  size_t size() const { return count_; }
  size_t available() const { return free_.size(); }
  size_t loaned() const { return count_ - free_.size(); }

 private:
  size_t count_;
  Slot* mem_ = nullptr;
  std::vector<Slot*> free_;
};

}  // namespace vlcp::sched
