#include "gateway/server.h"

#include <algorithm>
#include <csignal>
#include <thread>

#include "base/log.h"

namespace gh::gateway {
namespace {

uint32_t WorkerCount(const routing::ProxySettings& proxy) {
  if (proxy.workers > 0) return proxy.workers;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

}  // namespace

Server::Server(ConfigLoader loader) : loader_(std::move(loader)) {
  uv_loop_init(&loop_);
  dispatcher_ = std::make_unique<Dispatcher>(&loop_);
  start_ms_ = uv_now(&loop_);
}

Server::~Server() {
  for (auto& worker : workers_)
    worker->Join();
  workers_.clear();
  drain_timer_.reset();
  dns_.reset();
  // Start may have failed before Stop ever ran: close the loop's handles
  // before the dispatcher that their callbacks point to goes away.
  dispatcher_->Close();
  for (uv_signal_t* handle : signals_) {
    uv_close(reinterpret_cast<uv_handle_t*>(handle),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
  }
  signals_.clear();
  dispatcher_->CloseTimers();
  uv_run(&loop_, UV_RUN_NOWAIT);
  dispatcher_.reset();
  uv_run(&loop_, UV_RUN_NOWAIT);
  uv_loop_close(&loop_);
}

Status Server::Start() {
  Result<LoadedConfig> loaded = loader_();
  if (!loaded.ok()) return loaded.error();
  const uint32_t count = WorkerCount(loaded->config->proxy);
  std::string error;
  access_log_ = AccessLogSink::Open(loaded->config->proxy.access_log,
                                    loaded->config->proxy.access_log_format, &error);
  if (access_log_ == nullptr) return MakeError(error);
  for (uint32_t i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, count));
    workers_.back()->PostAccessLog(access_log_);
  }
  applied_.assign(count, 0);
  drain_active_.assign(count, SIZE_MAX);
  dns_ = std::make_unique<DnsRefresher>(*dispatcher_,
                                        [this](std::shared_ptr<const routing::DnsAnswers> answers) {
                                          for (auto& worker : workers_)
                                            worker->PostDns(answers);
                                        });
  Status published = Publish(std::move(*loaded));
  if (!published.ok()) return published;
  for (auto& worker : workers_)
    worker->Start();

  ::signal(SIGPIPE, SIG_IGN);
  for (int signum : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
    auto* handle = new uv_signal_t;
    uv_signal_init(&loop_, handle);
    handle->data = this;
    uv_signal_start(handle, &Server::OnSignal, signum);
    signals_.push_back(handle);
  }
  return Status::Ok();
}

Status Server::Publish(LoadedConfig loaded) {
  const routing::Config& config = *loaded.config;
  const uint32_t count = static_cast<uint32_t>(workers_.size());
  // Open sockets for new listeners first: a bind failure rejects the whole
  // snapshot and nothing changes.
  std::map<std::string, ListenSockets> opened;
  std::map<std::string, uint16_t> ports;
  for (const routing::Listener& listener : config.listeners) {
    auto existing = listener_ports_.find(listener.name);
    if (existing != listener_ports_.end()) {
      ports[listener.name] = existing->second;
      continue;
    }
    Result<ListenSockets> sockets = OpenListenSockets(listener.bind, listener.port, count);
    if (!sockets.ok()) {
      for (auto& [name, s] : opened)
        CloseAll(s);
      return MakeError("listener " + listener.name + ": " + sockets.error().message);
    }
    ports[listener.name] = sockets->port;
    opened[listener.name] = std::move(*sockets);
  }
  std::vector<std::string> removed;
  for (const auto& [name, port] : listener_ports_) {
    if (ports.find(name) == ports.end()) removed.push_back(name);
  }
  listener_ports_ = std::move(ports);
  for (const auto& [name, port] : listener_ports_) {
    if (opened.count(name) != 0) {
      GH_LOG(kMain, kInfo, "listening on " << name << " (port " << port << ")");
    }
  }

  auto snapshot = std::make_shared<Snapshot>();
  snapshot->version = ++version_;
  snapshot->hash = loaded.hash;
  snapshot->config = loaded.config;
  snapshot->tls = loaded.tls != nullptr ? loaded.tls : std::make_shared<const TlsState>();
  current_ = snapshot;
  publish_started_ns_[snapshot->version] = uv_hrtime();
  for (const std::string& warning : loaded.warnings)
    GH_LOG(kConfig, kWarn, warning);

  for (uint32_t i = 0; i < count; ++i) {
    std::vector<ListenerHandoff> add;
    for (auto& [name, sockets] : opened)
      add.push_back({name, sockets.fds[i]});
    workers_[i]->PostSnapshot(
        snapshot, std::move(add), removed, [this](uint32_t worker, uint64_t version) {
          dispatcher_->Post([this, worker, version] { OnApplied(worker, version); });
        });
  }
  // After the snapshot: each worker sees the clusters before their answers
  // (answers resolved synchronously, from the hosts file, go out right away).
  if (dns_ != nullptr) dns_->Update(config);
  return Status::Ok();
}

void Server::OnApplied(uint32_t worker, uint64_t version) {
  if (worker < applied_.size() && version > applied_[worker]) applied_[worker] = version;
  const uint64_t everywhere = *std::min_element(applied_.begin(), applied_.end());
  while (!publish_started_ns_.empty() && publish_started_ns_.begin()->first <= everywhere) {
    const double ms = static_cast<double>(uv_hrtime() - publish_started_ns_.begin()->second) / 1e6;
    publish_latency_ms_.Observe(ms);
    last_publish_latency_ms_ = ms;
    publish_started_ns_.erase(publish_started_ns_.begin());
  }
  if (!ready_fired_ && state_ == State::kInitializing) {
    for (uint64_t v : applied_) {
      if (v == 0) return;
    }
    ready_fired_ = true;
    state_ = State::kLive;
    GH_LOG(kMain, kInfo, "ready: " << workers_.size() << " workers on config version " << version_);
    for (auto& fn : ready_callbacks_)
      fn();
  }
}

bool Server::ready() const {
  return state_ == State::kLive;
}

double Server::uptime_seconds() const {
  return static_cast<double>(uv_now(const_cast<uv_loop_t*>(&loop_)) - start_ms_) / 1000.0;
}

Result<uint64_t> Server::Reload() {
  if (state_ == State::kDraining || state_ == State::kStopped) {
    return MakeError("server is draining");
  }
  ++reloads_;
  Result<LoadedConfig> loaded = loader_();
  if (!loaded.ok()) {
    ++reload_failures_;
    last_reload_error_ = loaded.error().message;
    GH_LOG(kConfig, kError,
           "reload rejected, keeping version " << version_ << ":\n"
                                               << last_reload_error_);
    return loaded.error();
  }
  // A new access log target opens first (it can fail), but replaces the old
  // one only once the snapshot is published: a rejected reload changes nothing.
  const routing::ProxySettings& proxy = loaded->config->proxy;
  std::shared_ptr<AccessLogSink> sink;
  if (proxy.access_log != access_log_->target() ||
      proxy.access_log_format != access_log_->format()) {
    std::string error;
    sink = AccessLogSink::Open(proxy.access_log, proxy.access_log_format, &error);
    if (sink == nullptr) {
      ++reload_failures_;
      last_reload_error_ = error;
      GH_LOG(kConfig, kError, "reload rejected: " << error);
      return MakeError(error);
    }
  }
  Status published = Publish(std::move(*loaded));
  if (!published.ok()) {
    ++reload_failures_;
    last_reload_error_ = published.error().message;
    GH_LOG(kConfig, kError, "reload rejected: " << last_reload_error_);
    return published.error();
  }
  if (sink != nullptr) {
    // Posted after the snapshot: each worker switches logs right after it
    // switches config.
    access_log_ = sink;
    for (auto& worker : workers_)
      worker->PostAccessLog(sink);
  }
  last_reload_error_.clear();
  GH_LOG(kConfig, kInfo, "published config version " << version_);
  return version_;
}

void Server::PublishTls(std::shared_ptr<const TlsState> tls) {
  if (current_ == nullptr || state_ == State::kStopped) return;
  LoadedConfig loaded;
  loaded.config = current_->config;
  loaded.hash = current_->hash;
  loaded.tls = std::move(tls);
  Status published = Publish(std::move(loaded));
  if (!published.ok()) GH_LOG(kTls, kError, published.error().message);
}

void Server::BeginDrain() {
  if (state_ == State::kDraining || state_ == State::kStopped) return;
  state_ = State::kDraining;
  GH_LOG(kMain, kInfo, "draining: no new connections, finishing in-flight requests");
  for (auto& fn : drain_callbacks_)
    fn();
  const auto timeout = current_ ? current_->config->proxy.drain_timeout : routing::Millis(30000);
  drain_timer_ = std::make_unique<Timer>(dispatcher_->timers(), [this] {
    GH_LOG(kMain, kWarn, "drain timeout reached; closing remaining connections");
    Stop(0);
  });
  drain_timer_->Arm(static_cast<uint64_t>(timeout.count()));
  for (auto& worker : workers_) {
    worker->PostDrain([this](uint32_t index, size_t active) {
      dispatcher_->Post([this, index, active] { OnDrainReport(index, active); });
    });
  }
}

void Server::OnDrainReport(uint32_t worker, size_t active) {
  if (state_ != State::kDraining) return;
  drain_active_[worker] = active;
  for (size_t a : drain_active_) {
    if (a != 0) return;
  }
  GH_LOG(kMain, kInfo, "drained: every connection finished");
  Stop(0);
}

void Server::Quit() {
  Stop(0);
}

void Server::Stop(int exit_code) {
  if (state_ == State::kStopped) return;
  state_ = State::kStopped;
  exit_code_ = exit_code;
  if (drain_timer_) drain_timer_->Cancel();
  dns_.reset();  // no more answers to post
  for (auto& worker : workers_)
    worker->PostStop();
  for (auto& worker : workers_)
    worker->Join();
  for (auto& fn : stop_callbacks_)
    fn();
  for (uv_signal_t* handle : signals_) {
    uv_close(reinterpret_cast<uv_handle_t*>(handle),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_signal_t*>(h); });
  }
  signals_.clear();
  dispatcher_->Close();
  uv_stop(&loop_);
}

void Server::CollectStats(std::function<void(WorkerStats)> done) {
  struct Pending {
    WorkerStats merged;
    size_t remaining;
    std::function<void(WorkerStats)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = workers_.size();
  pending->done = std::move(done);
  if (workers_.empty() || state_ == State::kStopped) {
    pending->done(WorkerStats{});
    return;
  }
  for (auto& worker : workers_) {
    worker->PostStatsRequest([this, pending](WorkerStats stats) {
      dispatcher_->Post([pending, stats = std::move(stats)]() mutable {
        pending->merged.Merge(stats);
        if (--pending->remaining == 0) pending->done(std::move(pending->merged));
      });
    });
  }
}

void Server::CollectWorkerStats(std::function<void(std::vector<WorkerStats>)> done) {
  struct Pending {
    std::vector<WorkerStats> shards;
    size_t remaining;
    std::function<void(std::vector<WorkerStats>)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->shards.resize(workers_.size());
  pending->remaining = workers_.size();
  pending->done = std::move(done);
  if (workers_.empty() || state_ == State::kStopped) {
    pending->done(std::move(pending->shards));
    return;
  }
  for (auto& worker : workers_) {
    const uint32_t index = worker->index();
    worker->PostStatsRequest([this, pending, index](WorkerStats stats) {
      dispatcher_->Post([pending, index, stats = std::move(stats)]() mutable {
        pending->shards[index] = std::move(stats);
        if (--pending->remaining == 0) pending->done(std::move(pending->shards));
      });
    });
  }
}

void Server::ReopenLogs() {
  std::string error;
  if (access_log_ != nullptr && !access_log_->Reopen(&error)) {
    GH_LOG(kMain, kError, error);
  } else {
    GH_LOG(kMain, kInfo, "access log reopened");
  }
}

void Server::OnSignal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<Server*>(handle->data);
  switch (signum) {
    case SIGTERM:
    case SIGINT:
      if (self->state_ == State::kDraining) {
        self->Stop(0);  // a second signal: stop now
      } else {
        self->BeginDrain();
      }
      break;
    case SIGHUP: {
      Result<uint64_t> result = self->Reload();
      (void)result;
      break;
    }
    case SIGUSR1:
      self->ReopenLogs();
      break;
    default:
      break;
  }
}

int Server::Run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  return exit_code_;
}

}  // namespace gh::gateway
