// The admin HTTP/1.1 server on the main loop: its own listening socket (no
// SO_REUSEPORT: a second process must not share the admin port), accepted
// connections on gateway::Connection, requests parsed by
// gateway::Http1Parser, answered by admin::Api. One request at a time per
// connection (pipelined requests wait), keep-alive, bounded: header size and
// count as the data plane's defaults, 1 MiB bodies, 64 connections, a
// header timeout and an idle timeout. It runs on the main thread, so it keeps
// answering while the workers are saturated.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "admin/api.h"
#include "base/result.h"
#include "gateway/dispatcher.h"
#include "gateway/timer_queue.h"

namespace gh::admin {

class AdminConnection;

class AdminServer {
 public:
  struct Limits {
    uint32_t max_connections = 64;
    uint64_t max_body_bytes = 1 << 20;
    uint64_t header_timeout_ms = 10000;
    uint64_t idle_timeout_ms = 60000;
    uint64_t request_timeout_ms = 10000;  // an answer that never comes (stats)
  };

  AdminServer(gateway::Dispatcher& dispatcher, Api& api, Limits limits);
  AdminServer(gateway::Dispatcher& dispatcher, Api& api) : AdminServer(dispatcher, api, Limits()) {}
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds "host:port" ("[v6]:port"; port 0 picks one) and starts accepting.
  Status Listen(const std::string& address);
  // The bound address, real port included.
  const std::string& address() const { return bound_; }
  uint16_t port() const { return port_; }
  // Stops accepting and closes every connection (before the loop ends).
  void Close();

  // Called by connections.
  gateway::Dispatcher& dispatcher() { return dispatcher_; }
  Api& api() { return api_; }
  const Limits& limits() const { return limits_; }
  void OnConnectionClosed(AdminConnection* connection);
  // Runs `fn` shortly after the current loop iteration has flushed the
  // responses written so far (drain, quit: answer first, act after).
  void RunSoon(std::function<void()> fn);

 private:
  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Accept();

  gateway::Dispatcher& dispatcher_;
  Api& api_;
  Limits limits_;
  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  std::string bound_;
  uint16_t port_ = 0;
  std::unordered_set<AdminConnection*> connections_;
  static constexpr uint64_t kRunSoonMs = 50;
  gateway::Timer soon_timer_;
  std::vector<std::function<void()>> soon_;
};

}  // namespace gh::admin
