// Asynchronous name resolution with c-ares on one uv loop (the main thread's):
// c-ares sockets are watched with uv_poll, its retransmit deadlines with a
// Timer, so nothing ever blocks. /etc/hosts is consulted first, then DNS
// (c-ares reads resolv.conf and nsswitch.conf like the system resolver).
#pragma once

#include <ares.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "gateway/timer_queue.h"
#include "routing/model.h"

namespace gh::gateway {

class Dispatcher;

struct DnsAnswer {
  bool ok = false;
  std::vector<std::string> addresses;  // IP literals, in c-ares' (RFC 6724) order
  uint32_t ttl_seconds = 0;            // smallest record TTL; 0: none given (hosts file)
  std::string error;                   // when !ok
};

class DnsResolver {
 public:
  using Callback = std::function<void(DnsAnswer)>;

  explicit DnsResolver(Dispatcher& dispatcher);
  // Outstanding queries end without calling their callbacks.
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  Status Init();
  // Resolves `name`; `done` runs on the loop, possibly before Resolve returns
  // (hosts-file answers and numeric names complete synchronously).
  void Resolve(const std::string& name, routing::DnsLookupFamily family, Callback done);

 private:
  struct Query;
  static void OnSocketState(void* data, ares_socket_t fd, int readable, int writable);
  static void OnAddrInfo(void* arg, int status, int timeouts, ares_addrinfo* result);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  void WatchSocket(ares_socket_t fd, bool readable, bool writable);
  void ArmTimeout();

  Dispatcher& dispatcher_;
  ares_channel channel_ = nullptr;
  std::map<ares_socket_t, uv_poll_t*> polls_;
  Timer timeout_;
  bool closing_ = false;
};

}  // namespace gh::gateway
