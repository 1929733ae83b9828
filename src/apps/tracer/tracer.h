// The tracer (docs/TRACE_DESIGN.md §9): `vlcpctl trace --live`'s observation points, an ordinary
// flow app (module `tracer`, cookie app id 8). For each live session in ObjectDB
// (viperflow.tracelive.<requester>.<slot>, apps/trace_live.h) it states, on every switch, one
// flow in `ingress` and one in `egress` (partition `live/<requester>.<slot>`):
//
//   table=T, priority=65535, cookie=8<<48|T, ip,ip_dscp=1,nw_src=S,nw_dst=D,nw_proto=P
//            [,tp_src,tp_dst], reg2=0/(1<<b), hard_timeout=30
//     actions=load:1->reg2[b], controller(max_len=256), resubmit(,T)
//
// (b: 0 in ingress, 1 in egress). The first pass sets the bit, sends a copy to vlcpd and resubmits
// the same table, where the flow no longer matches: the app's own flows then decide, as for any
// packet. The packet-in handler checks the nonce in the copy's payload and records an
// observation (where: the cookie's table; REG4-6, tun_dst from the packet-in's match), written
// to viperflow.traceseen.<requester>.<slot>.<this node> at most every 50 ms, with `armed` once the
// session's flows are confirmed on every switch (AppHost::when_confirmed). Limits (§9.4): the 8
// sessions with the latest `expires`, 64 observations per session; copies without the session's
// nonce are counted as foreign. Registered as app "tracer" in tracer.cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "apps/app.h"
#include "apps/trace_live.h"
#include "db/objectdb.h"
#include "pipeline/tables.h"

namespace vlcp::apps {

class AppHost;

inline constexpr flows::AppId kTracerAppId = 8;  // cookies: 8 << 48 | table (TRACE_DESIGN §2)

class TracerApp final : public FlowApp {
 public:
  static constexpr const char* kAppName = "tracer";
  static constexpr size_t kMaxSessions = 8;       // per switch (the newest by expires)
  static constexpr size_t kMaxObservations = 64;  // per session on this node
  static constexpr uint16_t kHardTimeout = 30;    // seconds: gone even if vlcpd dies first
  static constexpr uint16_t kCopyBytes = 256;     // controller(max_len)
  static constexpr std::chrono::milliseconds kWriteEvery{50};
  static constexpr const char* kPartitionPrefix = "live/";

  using After = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
  // `host`: the platform, once there (null: no rounds asked, nothing armed).
  TracerApp(db::ObjectDb& db, const pipeline::TableMap& tables, After after, std::function<AppHost*()> host,
            std::function<double()> wall_clock = {});
  ~TracerApp() override;

  std::string name() const override { return kAppName; }
  std::set<flows::AppId> cookie_ids() const override { return {kTracerAppId}; }
  std::set<schema::Kind> reads() const override { return {}; }  // (its sessions: an ObjectDB watch)
  std::map<std::string, flows::Desired> compute(const ModelView& model,
                                                const SwitchContext& sw) const override;
  std::map<std::string, flows::Desired> compute(const ModelView& model, const SwitchContext& sw,
                                                const std::set<std::string>& partitions) const override;
  Dirty on_model(const ModelView&, const ModelChange&) const override { return Dirty::nothing(); }
  Dirty on_switch(const ModelView&, const SwitchContext&) const override { return Dirty::nothing(); }
  void after_round(const std::vector<SwitchContext>& switches) override;
  void packet_in(flows::AppId, const SwitchContext& sw, ByteSpan message, Buffer& answers) override;
  nlohmann::json status(const ModelView& model) const override;
  std::vector<AppMetric> metrics() const override;

  // The flows of one session (the partition's whole content on any switch).
  flows::Desired session_flows(const live::Session& s) const;
  // The sessions in force (the kMaxSessions with the latest expires), by partition.
  const std::map<std::string, live::Session>& sessions() const { return active_; }

  struct Counters {
    uint64_t observed = 0, foreign = 0, ignored = 0, refused_sessions = 0, bad_sessions = 0, writes = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  struct State {  // this node's side of one session
    live::Session session;
    live::Seen seen;
    std::set<uint64_t> arming, armed;  // switches asked / confirmed
    bool dirty = false;                // seen changed since the last write
  };
  void on_update(const db::KeyUpdate& u);
  void choose();  // active_ from sessions_, dirtying what changed
  void expire(const std::string& partition);
  void armed(const std::string& partition, const std::string& id, uint64_t dpid);
  void write(const std::string& partition);
  void schedule_write(const std::string& partition);

  db::ObjectDb& db_;
  const pipeline::TableMap& tables_;
  After after_;
  std::function<AppHost*()> host_;
  std::function<double()> wall_;
  db::WatchId watch_ = 0;
  std::map<std::string, live::Session> sessions_;  // every valid session read, by partition
  std::map<std::string, live::Session> active_;    // the ones with flows
  std::map<std::string, State> state_;             // by partition (the active ones)
  std::set<std::string> refused_;                  // over the limit (counted once)
  std::set<uint64_t> known_switches_;
  std::string system_id_;
  Counters counters_;
  std::set<std::string> write_pending_;  // partitions whose write waits for kWriteEvery
  std::chrono::steady_clock::time_point last_write_{};
  bool write_scheduled_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::apps
