#include "gateway/loop_lag.h"

#include <uv.h>

namespace gh::gateway {

LoopLagProbe::LoopLagProbe(Dispatcher& dispatcher, LoopLag& sink, uint64_t interval_ms)
    : sink_(sink),
      interval_ns_(interval_ms * 1000000),
      timer_(dispatcher.timers(), [this] { OnFire(); }) {}

void LoopLagProbe::Start() {
  expected_ns_ = uv_hrtime() + interval_ns_;
  timer_.Arm(interval_ns_ / 1000000);
}

void LoopLagProbe::OnFire() {
  const uint64_t now = uv_hrtime();
  // The loop's cached clock can trail the real one by the length of the
  // iteration that armed the timer, so a timer may also fire "early" by up
  // to that much; only lateness counts.
  const double late_ms = now > expected_ns_ ? static_cast<double>(now - expected_ns_) / 1e6 : 0.0;
  sink_.Record(late_ms);
  Start();
}

}  // namespace gh::gateway
