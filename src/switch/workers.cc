// The worker lcores and packet-in dispatch: an I/O thread hands a PACKET_IN whose handler runs on
// the workers to one of them (round robin, by value through an SPSC ring); the worker runs the
// handler into its reused answer buffer and sends each answer back to the I/O thread that owns
// the connection. Nothing on this path allocates per packet.
#include <cstring>

#include "switch/internal.h"

namespace vlcp::sw {

std::shared_ptr<PacketInTable> make_packet_in_table(const OpenflowSettings& settings) {
  auto t = std::make_shared<PacketInTable>();
  if (settings.hub) (void)t->set_fallback(PacketInHandler{"hub", PacketInSide::kWorkers, hub_packet_in});
  return t;
}

void SwitchManager::IoThread::to_worker(const PacketJob& job) {
  // Round robin over the workers; a full ring tries the next, then waits in the overflow.
  for (size_t i = 0; i < workers.size(); ++i) {
    Worker* w = workers[next_worker++ % workers.size()];
    if (job_overflow.empty() && w->in[index]->push(job)) return;
  }
  if (job_overflow.size() >= kMaxOverflowJobs) {
    dropped();  // the switch sends the next packet up again
    return;
  }
  job_overflow.push_back(job);
  arm_retry();
}

unsigned SwitchManager::Worker::poll(const PacketInTable& table) {
  unsigned total = 0;
  PacketJob jobs[8];
  for (size_t t = 0; t < in.size(); ++t) {
    unsigned n = in[t]->pop(jobs);
    for (unsigned i = 0; i < n; ++i) {
      const PacketJob& job = jobs[i];
      answers.clear();
      if (!table.run(job.handler, job.dpid, ByteSpan(job.message, job.length), answers)) continue;
      for_each_message(answers.span(), [&](ByteSpan m) {
        if (m.size() > sizeof(PacketJob::message)) {
          table.count_failed(job.handler);  // too large to travel back by value
          return;
        }
        // The answer ring is as large as the job ring; a full one is counted by the ring and
        // the answer is dropped (the switch sends the next packet up again).
        PacketJob answer{job.conn, static_cast<uint16_t>(m.size()), 0, job.dpid, {}};
        std::memcpy(answer.message, m.data(), m.size());
        out[t]->push(answer);
      });
    }
    handled.fetch_add(n, std::memory_order_relaxed);
    total += n;
  }
  return total;
}

Status SwitchManager::create_workers(unsigned nworkers) {
  // One per worker lcore, rings to and from every I/O thread.
  for (unsigned w = 0; w < nworkers; ++w) {
    auto worker = std::make_unique<Worker>("worker" + std::to_string(w));
    for (auto& t : threads_) {
      VLCP_ASSIGN_OR_RETURN(auto in, sched::Ring<PacketJob>::create(
                                         "io" + std::to_string(t->index) + "-to-worker" + std::to_string(w),
                                         1023, &worker->loop.waker()));
      VLCP_ASSIGN_OR_RETURN(auto out, sched::Ring<PacketJob>::create(
                                          "worker" + std::to_string(w) + "-to-io" + std::to_string(t->index),
                                          1023, t->waker.get()));
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
