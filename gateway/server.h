// The process runtime on the main thread: loads and publishes config
// snapshots to the workers, owns the listen sockets, handles signals
// (TERM/INT drain, HUP reload, USR1 reopen logs) and tracks which config
// version each worker runs. Config parsing lives above (control/): the
// Server gets a loader function from the composition root.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "gateway/access_log.h"
#include "gateway/dispatcher.h"
#include "gateway/dns_refresher.h"
#include "gateway/listen_socket.h"
#include "gateway/snapshot.h"
#include "gateway/stats.h"
#include "gateway/worker.h"

namespace gh::gateway {

struct LoadedConfig {
  std::shared_ptr<const routing::Config> config;
  std::shared_ptr<const TlsState> tls;  // null: no TLS anywhere
  std::string hash;
  std::vector<std::string> warnings;
};

// Returns the freshly compiled config, or every error in one message.
using ConfigLoader = std::function<Result<LoadedConfig>()>;

class Server {
 public:
  enum class State : uint8_t { kInitializing, kLive, kDraining, kStopped };

  explicit Server(ConfigLoader loader);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the first config, opens listeners, starts the workers.
  Status Start();
  // Runs the main loop until the process should exit; returns the exit code.
  int Run();

  // ---- main thread API (admin, control) ----
  Dispatcher& dispatcher() { return *dispatcher_; }
  uv_loop_t* loop() { return &loop_; }
  // Compiles and publishes a new snapshot; on error nothing changes.
  Result<uint64_t> Reload();
  // Publishes the current routing config with new TLS contexts (rotated
  // certificates): new handshakes use them, live connections keep theirs.
  void PublishTls(std::shared_ptr<const TlsState> tls);
  void BeginDrain();
  void Quit();
  State state() const { return state_; }
  // Every worker applied the first snapshot and we are not draining.
  bool ready() const;
  uint64_t desired_version() const { return version_; }
  const std::vector<uint64_t>& applied_versions() const { return applied_; }
  SnapshotPtr current() const { return current_; }
  const std::string& last_reload_error() const { return last_reload_error_; }
  uint64_t reloads() const { return reloads_; }
  uint64_t reload_failures() const { return reload_failures_; }
  // DNS resolutions of ServiceEntry names (resolution DNS / DNS_ROUND_ROBIN).
  uint64_t dns_successes() const { return dns_ != nullptr ? dns_->successes() : 0; }
  uint64_t dns_failures() const { return dns_ != nullptr ? dns_->failures() : 0; }
  uint32_t worker_count() const { return static_cast<uint32_t>(workers_.size()); }
  double uptime_seconds() const;
  // Listener name -> bound port.
  const std::map<std::string, uint16_t>& listener_ports() const { return listener_ports_; }
  // Asks every worker for its stats shard and merges them.
  void CollectStats(std::function<void(WorkerStats)> done);
  // The same, unmerged: one shard per worker, indexed by worker.
  void CollectWorkerStats(std::function<void(std::vector<WorkerStats>)> done);
  // Time from posting a snapshot to the last worker's acknowledgement.
  const Histogram& publish_latency_ms() const { return publish_latency_ms_; }
  double last_publish_latency_ms() const { return last_publish_latency_ms_; }
  // Runs `fn` once every worker has applied the first snapshot.
  void OnReady(std::function<void()> fn) { ready_callbacks_.push_back(std::move(fn)); }
  // Runs `fn` when the server starts draining.
  void OnDrain(std::function<void()> fn) { drain_callbacks_.push_back(std::move(fn)); }
  // Runs `fn` on the main thread when the server stops (workers joined,
  // before the main loop ends): close main-loop handles here.
  void OnStop(std::function<void()> fn) { stop_callbacks_.push_back(std::move(fn)); }

 private:
  Status Publish(LoadedConfig loaded);
  void OnApplied(uint32_t worker, uint64_t version);
  void OnDrainReport(uint32_t worker, size_t active);
  void Stop(int exit_code);
  void ReopenLogs();
  static void OnSignal(uv_signal_t* handle, int signum);

  ConfigLoader loader_;
  uv_loop_t loop_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<uint64_t> applied_;
  std::vector<size_t> drain_active_;
  std::map<std::string, uint16_t> listener_ports_;
  std::shared_ptr<AccessLogSink> access_log_;
  SnapshotPtr current_;
  uint64_t version_ = 0;
  std::string last_reload_error_;
  uint64_t reloads_ = 0;
  uint64_t reload_failures_ = 0;
  State state_ = State::kInitializing;
  bool ready_fired_ = false;
  int exit_code_ = 0;
  uint64_t start_ms_ = 0;
  std::vector<uv_signal_t*> signals_;
  std::unique_ptr<Timer> drain_timer_;
  std::unique_ptr<DnsRefresher> dns_;
  std::vector<std::function<void()>> ready_callbacks_;
  std::vector<std::function<void()>> drain_callbacks_;
  std::vector<std::function<void()>> stop_callbacks_;
  std::map<uint64_t, uint64_t> publish_started_ns_;  // version -> uv_hrtime at post
  Histogram publish_latency_ms_;
  double last_publish_latency_ms_ = 0;
};

}  // namespace gh::gateway
