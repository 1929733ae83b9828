#include "apps/l3/resolver.h"

namespace vlcp::apps {

Neighbours::Verdict Neighbours::miss(Key key, Kept packet, Clock::time_point now) {
  expire(now);
  auto it = pending_.find(key);
  if (it == pending_.end()) {
    if (pending_.size() >= limits_.addresses) return Verdict::kDropped;
    packet.at = now;
    Pending p;
    p.first = p.asked = now;
    p.packets.push_back(std::move(packet));
    pending_.emplace(key, std::move(p));
    return Verdict::kAsk;
  }
  Pending& p = it->second;
  if (p.given_up) return Verdict::kRefused;
  bool ask = now - p.asked >= limits_.retry;
  if (ask) p.asked = now;
  if (p.packets.size() >= limits_.per_address) return ask ? Verdict::kAsk : Verdict::kDropped;
  packet.at = now;
  p.packets.push_back(std::move(packet));
  return ask ? Verdict::kAsk : Verdict::kWait;
}

std::optional<std::vector<Neighbours::Kept>> Neighbours::answer(Key key, Clock::time_point now) {
  expire(now);
  auto it = pending_.find(key);
  if (it == pending_.end()) return std::nullopt;
  std::vector<Kept> out = std::move(it->second.packets);
  pending_.erase(it);
  return out;
}

void Neighbours::expire(Clock::time_point now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    Pending& p = it->second;
    std::erase_if(p.packets, [&](const Kept& k) { return now - k.at >= limits_.keep; });
    if (now - p.first >= limits_.give_up) {  // unanswered: refused until give_up + negative
      p.given_up = true;
      p.packets.clear();
    }
    it = now - p.first >= limits_.give_up + limits_.negative ? pending_.erase(it) : std::next(it);
  }
}

size_t Neighbours::kept() const {
  size_t n = 0;
  for (const auto& [k, p] : pending_) n += p.packets.size();
  return n;
}

}  // namespace vlcp::apps
