// Keeps the DNS answers of every name the running config's DNS /
// DNS_ROUND_ROBIN clusters need fresh, on the main thread, off the request
// path (Envoy STRICT_DNS). Each name is resolved when a config first needs
// it and again after the refresh delay; a failure keeps the last good
// answer. Whenever an answer changes, the whole table is published as a new
// immutable DnsAnswers for the workers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "gateway/dns_resolver.h"
#include "gateway/timer_queue.h"
#include "routing/dns_endpoints.h"
#include "routing/model.h"

namespace gh::gateway {

class Dispatcher;

class DnsRefresher {
 public:
  using Publish = std::function<void(std::shared_ptr<const routing::DnsAnswers>)>;

  DnsRefresher(Dispatcher& dispatcher, Publish publish);
  ~DnsRefresher();
  DnsRefresher(const DnsRefresher&) = delete;
  DnsRefresher& operator=(const DnsRefresher&) = delete;

  // The running config changed: names it no longer needs are forgotten,
  // new ones are resolved now (all of them when the address family changed).
  void Update(const routing::Config& config);
  uint64_t successes() const { return successes_; }
  uint64_t failures() const { return failures_; }

 private:
  struct Name {
    uint64_t id = 0;  // tells a current query's answer from a forgotten one's
    std::unique_ptr<Timer> timer;
  };
  void Resolve(const std::string& name);
  void OnAnswer(const std::string& name, uint64_t id, DnsAnswer answer);

  Dispatcher& dispatcher_;
  Publish publish_;
  std::unique_ptr<DnsResolver> resolver_;  // null when c-ares failed to start
  std::map<std::string, Name> names_;
  routing::DnsAnswers answers_;
  routing::Millis refresh_rate_{60'000};
  routing::DnsLookupFamily family_ = routing::DnsLookupFamily::kAll;
  uint64_t next_id_ = 1;
  uint64_t successes_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace gh::gateway
