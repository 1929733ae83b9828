// Single-producer/single-consumer rings between threads (I/O threads, the control thread, worker
// lcores). DPDK's rte_ring does the work; this header keeps DPDK out of every other file (only
// ring_dpdk.cc includes rte_ring.h, see src/LAYERS).
//
// Events travel by value: a ring of T holds T's bytes, so T must be trivially copyable and a
// multiple of 4 bytes (rte_ring's element rule). A full ring is back-pressure: push returns how
// many went in, counts the rest in stats().full, and the producer decides (pause reading, retry,
// or drop *counted*). Nothing is lost silently and nothing blocks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>

#include "base/result.h"
#include "sched/waker.h"

namespace vlcp::sched {

// Counters of one ring. Each is written by one side only (enqueued/full by the producer,
// dequeued by the consumer) and read by anyone (metrics) with relaxed loads.
struct RingStats {
  std::atomic<uint64_t> enqueued{0};
  std::atomic<uint64_t> dequeued{0};
  std::atomic<uint64_t> full{0};  // elements refused because the ring was full
  std::atomic<uint32_t> high_water{0};
};

// The untyped ring: fixed-size elements of elem_size bytes, capacity a power of two minus one
// (DPDK's rule; create() rounds up). Memory is the ring's own; no EAL needed.
class RawRing {
 public:
  static Result<std::unique_ptr<RawRing>> create(std::string name, uint32_t min_capacity, uint32_t elem_size);
  ~RawRing();
  RawRing(const RawRing&) = delete;
  RawRing& operator=(const RawRing&) = delete;

  // Producer side only. Returns how many of the n elements were enqueued (0..n).
  unsigned enqueue_burst(const void* elems, unsigned n);
  // Consumer side only. Returns how many elements were written to out (0..max).
  unsigned dequeue_burst(void* out, unsigned max);

  unsigned count() const;  // approximate from the other side, exact from either side alone
  unsigned capacity() const { return capacity_; }
  uint32_t elem_size() const { return elem_size_; }
  const std::string& name() const { return name_; }

 private:
  RawRing() = default;
  void* ring_ = nullptr;  // struct rte_ring*, in memory we allocated
  std::string name_;
  uint32_t elem_size_ = 0;
  unsigned capacity_ = 0;
};

// A typed SPSC ring with a waker for its consumer and counters.
template <typename T>
class Ring {
  static_assert(std::is_trivially_copyable_v<T>, "ring events travel by value");
  static_assert(sizeof(T) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

 public:
  static Result<std::unique_ptr<Ring>> create(std::string name, uint32_t min_capacity,
                                              Waker* consumer = nullptr) {
    VLCP_ASSIGN_OR_RETURN(auto raw, RawRing::create(std::move(name), min_capacity, sizeof(T)));
    return std::unique_ptr<Ring>(new Ring(std::move(raw), consumer));
  }

  // Producer: enqueues what fits, wakes the consumer if it sleeps, counts the rest as full.
  unsigned push(std::span<const T> events) {
    unsigned n = raw_->enqueue_burst(events.data(), static_cast<unsigned>(events.size()));
    if (n) {
      stats_.enqueued.fetch_add(n, std::memory_order_relaxed);
      unsigned used = raw_->count();
      if (used > stats_.high_water.load(std::memory_order_relaxed))
        stats_.high_water.store(used, std::memory_order_relaxed);
      if (consumer_) consumer_->notify();
    }
    if (n < events.size()) stats_.full.fetch_add(events.size() - n, std::memory_order_relaxed);
    return n;
  }
  bool push(const T& event) { return push(std::span<const T>(&event, 1)) == 1; }

  // Consumer: dequeues up to out.size() events.
  unsigned pop(std::span<T> out) {
    unsigned n = raw_->dequeue_burst(out.data(), static_cast<unsigned>(out.size()));
    if (n) stats_.dequeued.fetch_add(n, std::memory_order_relaxed);
    return n;
  }

  bool empty() const { return raw_->count() == 0; }
  unsigned size() const { return raw_->count(); }
  unsigned capacity() const { return raw_->capacity(); }
  const std::string& name() const { return raw_->name(); }
  const RingStats& stats() const { return stats_; }
  Waker* consumer() const { return consumer_; }

 private:
  Ring(std::unique_ptr<RawRing> raw, Waker* consumer) : raw_(std::move(raw)), consumer_(consumer) {}
  std::unique_ptr<RawRing> raw_;
  Waker* consumer_;
  RingStats stats_;
};

}  // namespace vlcp::sched
