// The worker lcores and packet-in dispatch: an I/O thread copies a PACKET_IN whose handler runs on
// the workers into a slot of its pool and hands the slot's pointer to one of them (round robin by
// burst, through an SPSC ring); the worker runs the handler into the same slot and returns it to
// the I/O thread that owns the connection. Nothing on this path allocates per packet.
#include <cstring>

#include "switch/internal.h"

namespace vlcp::sw {

std::shared_ptr<PacketInTable> make_packet_in_table(const OpenflowSettings& settings) {
  auto t = std::make_shared<PacketInTable>();
  if (settings.hub) (void)t->set_fallback(PacketInHandler{"hub", PacketInSide::kWorkers, hub_packet_in});
  return t;
}

void run_in_slot(const PacketInTable& table, PacketSlot& slot) {
  SlotAnswers answers(slot);
  slot.answers_len = 0;
  if (!table.run(slot.handler, slot.dpid, slot.packet_in(), answers)) return;
  if (answers.on_heap()) {
    table.count_failed(slot.handler);  // more answers than the slot holds: dropped
    return;
  }
  slot.answers_len = static_cast<uint32_t>(answers.size());
}

void SwitchManager::IoThread::to_workers() {
  // Round robin by burst over the workers; a full ring tries the next, the rest waits in the
  // overflow (bounded by the pool: every waiting slot is one of ours).
  if (!job_overflow.empty()) {
    job_overflow.insert(job_overflow.end(), staged.begin(), staged.end());
    staged.clear();
    arm_retry();
    return;
  }
  size_t at = 0;
  for (size_t i = 0; i < workers.size() && at < staged.size(); ++i) {
    Worker* w = workers[next_worker++ % workers.size()];
    at += w->in[index]->push(std::span<PacketSlot* const>(staged.data() + at, staged.size() - at));
  }
  if (at < staged.size()) {
    job_overflow.insert(job_overflow.end(), staged.begin() + static_cast<ptrdiff_t>(at), staged.end());
    arm_retry();
  }
  staged.clear();
}

unsigned SwitchManager::Worker::poll(const PacketInTable& table) {
  unsigned total = 0;
  PacketSlot* slots[32];
  for (size_t t = 0; t < in.size(); ++t) {
    unsigned n = in[t]->pop(slots);
    if (!n) continue;
    for (unsigned i = 0; i < n; ++i) run_in_slot(table, *slots[i]);
    // Always room: the out ring holds every slot of the I/O thread's pool (create_workers).
    out[t]->push(std::span<PacketSlot* const>(slots, n));
    handled.fetch_add(n, std::memory_order_relaxed);
    total += n;
  }
  return total;
}

Status SwitchManager::create_workers(unsigned nworkers) {
  // One per worker lcore, rings to and from every I/O thread; an out ring holds a whole pool.
  if (nworkers)
    for (auto& t : threads_) t->pool = std::make_unique<sched::SlotPool<PacketSlot>>(IoThread::kPoolSlots);
  for (unsigned w = 0; w < nworkers; ++w) {
    auto worker = std::make_unique<Worker>("worker" + std::to_string(w));
    worker->loop.set_poll(poll_);
    for (auto& t : threads_) {
      VLCP_ASSIGN_OR_RETURN(auto in, sched::Ring<PacketSlot*>::create(
                                         "io" + std::to_string(t->index) + "-to-worker" + std::to_string(w),
                                         1023, &worker->loop.waker()));
      VLCP_ASSIGN_OR_RETURN(auto out, sched::Ring<PacketSlot*>::create(
                                          "worker" + std::to_string(w) + "-to-io" + std::to_string(t->index),
                                          static_cast<uint32_t>(IoThread::kPoolSlots), t->waker.get()));
      if (out->capacity() < t->pool->size())
        return make_error(Errc::kInternal, "ring " + out->name() + " is smaller than its I/O thread's pool");
      worker->in.push_back(std::move(in));
      worker->out.push_back(std::move(out));
      t->workers.push_back(worker.get());
    }
    Worker* wp = worker.get();
    const PacketInTable* table = packet_ins_.get();
    wp->loop.add_source({[wp, table] { return wp->poll(*table); },
                         [wp] {
                           for (auto& r : wp->in)
                             if (!r->empty()) return true;
                           return false;
                         }});
    workers_.push_back(std::move(worker));
  }
  return {};
}

void SwitchManager::repin_workers(const std::vector<int>& cpus) {
  for (size_t w = 0; w < workers_.size() && w < cpus.size(); ++w)
    if (workers_[w]->loop.cpu() != cpus[w]) workers_[w]->loop.repin(cpus[w]);
}

uint64_t SwitchManager::packet_ins_to_workers() const {
  uint64_t n = 0;
  for (auto& w : workers_) n += w->handled.load(std::memory_order_relaxed);
  return n;
}

}  // namespace vlcp::sw
