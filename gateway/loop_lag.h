// Event-loop lag probe: a periodic timer on the loop it measures. Each time
// it fires it records how much later than its deadline it ran, which is how
// long the loop was busy (or blocked) past the moment it should have woken.
// Runs on the loop's own thread; the samples land in a plain LoopLag (no
// atomics), read when stats are copied out on the same thread.
#pragma once

#include <cstdint>

#include "gateway/dispatcher.h"
#include "gateway/stats.h"
#include "gateway/timer_queue.h"

namespace gh::gateway {

class LoopLagProbe {
 public:
  static constexpr uint64_t kDefaultIntervalMs = 100;

  // `sink` must outlive the probe.
  LoopLagProbe(Dispatcher& dispatcher, LoopLag& sink, uint64_t interval_ms = kDefaultIntervalMs);
  LoopLagProbe(const LoopLagProbe&) = delete;
  LoopLagProbe& operator=(const LoopLagProbe&) = delete;

  void Start();
  void Stop() { timer_.Cancel(); }

 private:
  void OnFire();

  LoopLag& sink_;
  uint64_t interval_ns_;
  uint64_t expected_ns_ = 0;  // uv_hrtime() at which the timer should fire
  Timer timer_;
};

}  // namespace gh::gateway
