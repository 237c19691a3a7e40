// systemd integration (Type=notify): READY=1 once every worker runs the
// first config, STOPPING=1 when the drain starts, and watchdog keep-alives
// (WATCHDOG=1) from the main loop at half of WATCHDOG_USEC, sent only while
// every worker answers: each ping follows a round trip through all worker
// loops, so a stuck worker stops the pings and systemd restarts the service.
// Without NOTIFY_SOCKET every call is a no-op.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "gateway/server.h"
#include "gateway/timer_queue.h"

namespace gh::admin {

class SystemdNotifier {
 public:
  explicit SystemdNotifier(gateway::Server& server);
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // Hooks readiness and drain, starts the watchdog when systemd asks for it.
  void Start();
  void Close();
  uint64_t watchdog_interval_ms() const { return interval_ms_; }

 private:
  void Tick();

  gateway::Server& server_;
  gateway::Timer timer_;
  uint64_t interval_ms_ = 0;
  bool round_pending_ = false;
  uint64_t withheld_ = 0;
  std::shared_ptr<bool> alive_;
};

// Sends one notification ("READY=1\nSTATUS=..."); false when there is no
// NOTIFY_SOCKET or sending failed.
bool Notify(const std::string& state);

}  // namespace gh::admin
