#include "apps/l3/resolver.h"

#include <algorithm>

namespace vlcp::apps {

Neighbours::Verdict Neighbours::miss(Key key, Kept packet, Clock::time_point now) {
  expire(now);
  auto it = pending_.find(key);
  if (it == pending_.end()) {
    if (pending_.size() >= limits_.addresses || per_network_[key.netid] >= limits_.per_network)
      return Verdict::kRefused;
    if (bytes_ + packet.data.size() > limits_.bytes) return Verdict::kDropped;
    packet.at = now;
    bytes_ += packet.data.size();
    Pending p;
    p.first = p.asked = now;
    p.packets.push_back(std::move(packet));
    pending_.emplace(key, std::move(p));
    ++per_network_[key.netid];
    return Verdict::kAsk;
  }
  Pending& p = it->second;
  if (p.given_up) return Verdict::kRefused;
  bool ask = now - p.asked >= limits_.retry;
  if (ask) p.asked = now;
  if (p.packets.size() >= limits_.per_address || bytes_ + packet.data.size() > limits_.bytes)
    return ask ? Verdict::kAsk : Verdict::kDropped;
  packet.at = now;
  bytes_ += packet.data.size();
  p.packets.push_back(std::move(packet));
  return ask ? Verdict::kAsk : Verdict::kWait;
}

std::optional<std::vector<Neighbours::Kept>> Neighbours::answer(Key key, Clock::time_point now) {
  expire(now);
  auto it = pending_.find(key);
  if (it == pending_.end() || it->second.given_up) return std::nullopt;
  std::vector<Kept> out = std::move(it->second.packets);
  for (const auto& k : out) bytes_ -= k.data.size();
  pending_.erase(it);
  if (--per_network_[key.netid] == 0) per_network_.erase(key.netid);
  return out;
}

void Neighbours::drop(Pending& p, size_t from) {
  for (size_t i = from; i < p.packets.size(); ++i) bytes_ -= p.packets[i].data.size();
  p.packets.resize(from);
}

void Neighbours::expire(Clock::time_point now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    Pending& p = it->second;
    // Kept in arrival order: the expired ones are a prefix.
    size_t old = 0;
    while (old < p.packets.size() && now - p.packets[old].at >= limits_.keep)
      bytes_ -= p.packets[old++].data.size();
    p.packets.erase(p.packets.begin(), p.packets.begin() + static_cast<std::ptrdiff_t>(old));
    if (now - p.first >= limits_.give_up) {  // unanswered: refused until give_up + negative
      p.given_up = true;
      drop(p, 0);
    }
    if (now - p.first >= limits_.give_up + limits_.negative) {
      if (--per_network_[it->first.netid] == 0) per_network_.erase(it->first.netid);
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t Neighbours::kept() const {
  size_t n = 0;
  for (const auto& [k, p] : pending_) n += p.packets.size();
  return n;
}

}  // namespace vlcp::apps
