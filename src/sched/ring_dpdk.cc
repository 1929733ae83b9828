// The ring adapter: the only file that includes DPDK's ring header (src/LAYERS).
//
// Rings live in memory we allocate (rte_ring_get_memsize_elem + rte_ring_init), so they work
// before, without and after the EAL. We build DPDK's C11 memory-model variant of the inline ring
// code (acquire/release atomics instead of x86 compiler barriers): the same instructions on x86,
// and ThreadSanitizer can see the synchronisation.
#define RTE_USE_C11_MEM_MODEL 1
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <cstdlib>
#include <new>

#include "sched/ring.h"

namespace vlcp::sched {

Result<std::unique_ptr<RawRing>> RawRing::create(std::string name, uint32_t min_capacity,
                                                 uint32_t elem_size) {
  if (elem_size == 0 || elem_size % 4 != 0)
    return make_error(Errc::kInvalidArgument, "ring " + name + ": element size must be a multiple of 4");
  if (min_capacity == 0 || min_capacity > (1u << 28))
    return make_error(Errc::kInvalidArgument, "ring " + name + ": capacity must be 1..2^28");
  uint32_t count = 1;
  while (count < min_capacity + 1) count <<= 1;  // usable = count - 1
  ssize_t bytes = rte_ring_get_memsize_elem(elem_size, count);
  if (bytes < 0) return make_error(Errc::kInvalidArgument, "ring " + name + ": invalid size");
  size_t rounded = (static_cast<size_t>(bytes) + RTE_CACHE_LINE_SIZE - 1) & ~size_t(RTE_CACHE_LINE_SIZE - 1);
  void* mem = std::aligned_alloc(RTE_CACHE_LINE_SIZE, rounded);
  if (!mem) return make_error(Errc::kResourceExhausted, "ring " + name + ": out of memory");
  auto* r = static_cast<rte_ring*>(mem);
  // rte_ring names are at most RTE_RING_NAMESIZE-1 characters; ours keeps the full name.
  std::string short_name = name.substr(0, RTE_RING_NAMESIZE - 1);
  if (rte_ring_init(r, short_name.c_str(), count, RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
    std::free(mem);
    return make_error(Errc::kInvalidArgument, "ring " + name + ": rte_ring_init failed");
  }
  std::unique_ptr<RawRing> ring(new RawRing());
  ring->ring_ = r;
  ring->name_ = std::move(name);
  ring->elem_size_ = elem_size;
  ring->capacity_ = rte_ring_get_capacity(r);
  return ring;
}

RawRing::~RawRing() {
  std::free(ring_);
}

unsigned RawRing::enqueue_burst(const void* elems, unsigned n) {
  return rte_ring_sp_enqueue_burst_elem(static_cast<rte_ring*>(ring_), elems, elem_size_, n, nullptr);
}

unsigned RawRing::dequeue_burst(void* out, unsigned max) {
  return rte_ring_sc_dequeue_burst_elem(static_cast<rte_ring*>(ring_), out, elem_size_, max, nullptr);
}

// rte_ring_count() reads the other side's tail with a plain load (a benign race DPDK accepts);
// the same computation with atomic loads keeps ThreadSanitizer's verdict meaningful.
unsigned RawRing::count() const {
  const auto* r = static_cast<const rte_ring*>(ring_);
  uint32_t prod = __atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE);
  uint32_t cons = __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE);
  uint32_t n = (prod - cons) & r->mask;
  return n > r->capacity ? r->capacity : n;
}

}  // namespace vlcp::sched
