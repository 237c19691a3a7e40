#include "admin/systemd.h"

#include <systemd/sd-daemon.h>

#include "base/log.h"

namespace gh::admin {

bool Notify(const std::string& state) {
  return sd_notify(0, state.c_str()) > 0;
}

SystemdNotifier::SystemdNotifier(gateway::Server& server)
    : server_(server),
      timer_(server.dispatcher().timers(), [this] { Tick(); }),
      alive_(std::make_shared<bool>(true)) {}

SystemdNotifier::~SystemdNotifier() {
  *alive_ = false;
}

void SystemdNotifier::Start() {
  std::weak_ptr<bool> alive = alive_;
  server_.OnReady([this, alive] {
    if (alive.expired()) return;
    Notify("READY=1\nSTATUS=serving config version " + std::to_string(server_.desired_version()) +
           " on " + std::to_string(server_.worker_count()) + " workers");
  });
  server_.OnDrain([this, alive] {
    if (alive.expired()) return;
    Notify("STOPPING=1\nSTATUS=draining");
  });
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    interval_ms_ = std::max<uint64_t>(1, usec / 2000);  // half the timeout, in ms
    GH_LOG(kMain, kInfo, "systemd watchdog: pinging every " << interval_ms_ << " ms");
    Tick();
  }
}

void SystemdNotifier::Close() {
  timer_.Cancel();
  interval_ms_ = 0;
}

void SystemdNotifier::Tick() {
  if (interval_ms_ == 0) return;
  if (round_pending_) {
    // Some worker has not answered since the last tick: no ping.
    if (withheld_++ % 10 == 0) {
      GH_LOG(kMain, kWarn, "a worker is not responding; withholding the systemd watchdog ping");
    }
  } else {
    Notify("WATCHDOG=1");
    round_pending_ = true;
    std::weak_ptr<bool> alive = alive_;
    server_.CollectStats([this, alive](gateway::WorkerStats) {
      if (alive.expired()) return;
      round_pending_ = false;
    });
  }
  timer_.Arm(interval_ms_);
}

}  // namespace gh::admin
