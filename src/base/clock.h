// Time as an interface: production code reads a Clock it was given, never std::chrono
// directly, so tests drive time with ManualClock instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>

namespace vlcp {

class Clock {
 public:
  using Monotonic = std::chrono::steady_clock::time_point;
  using Wall = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  // For intervals, timeouts and rate limits; never goes backwards.
  virtual Monotonic now() const = 0;
  // For timestamps shown to people and stored in the database.
  virtual Wall wall() const = 0;
};

class RealClock final : public Clock {
 public:
  Monotonic now() const override { return std::chrono::steady_clock::now(); }
  Wall wall() const override { return std::chrono::system_clock::now(); }

  // The process-wide instance, for code at the composition root and for logging.
  static const RealClock& instance();
};

// Starts at a fixed point and moves only when told. Readable from any thread; advanced
// from one test thread (the atomics pair reads with the single writer, nothing else).
class ManualClock final : public Clock {
 public:
  ManualClock();

  Monotonic now() const override;
  Wall wall() const override;

  void advance(std::chrono::nanoseconds by);
  void set_wall(Wall wall);

 private:
  std::atomic<std::chrono::nanoseconds::rep> mono_ns_;
  std::atomic<std::chrono::nanoseconds::rep> wall_ns_;
};

}  // namespace vlcp
