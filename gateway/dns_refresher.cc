#include "gateway/dns_refresher.h"

#include <set>
#include <utility>

#include "base/log.h"
#include "gateway/dispatcher.h"

namespace gh::gateway {

DnsRefresher::DnsRefresher(Dispatcher& dispatcher, Publish publish)
    : dispatcher_(dispatcher), publish_(std::move(publish)) {}

DnsRefresher::~DnsRefresher() {
  // Queries in flight reference this object: end them first.
  resolver_.reset();
  names_.clear();
}

void DnsRefresher::Update(const routing::Config& config) {
  std::set<std::string> wanted;
  for (const routing::Cluster& cluster : config.clusters) {
    for (std::string& name : routing::DnsNames(cluster))
      wanted.insert(std::move(name));
  }
  const bool family_changed = config.proxy.dns_lookup_family != family_;
  family_ = config.proxy.dns_lookup_family;
  refresh_rate_ = config.proxy.dns_refresh_rate;
  if (!wanted.empty() && resolver_ == nullptr) {
    resolver_ = std::make_unique<DnsResolver>(dispatcher_);
    if (Status started = resolver_->Init(); !started.ok()) {
      GH_LOG(kMain, kError, "dns: " << started.error().message);
      resolver_.reset();
    }
  }
  bool forgot = false;
  for (auto it = names_.begin(); it != names_.end();) {
    if (wanted.count(it->first) != 0) {
      ++it;
      continue;
    }
    forgot = answers_.erase(it->first) != 0 || forgot;
    it = names_.erase(it);
  }
  if (family_changed) {
    forgot = forgot || !answers_.empty();
    answers_.clear();
  }
  if (forgot) publish_(std::make_shared<const routing::DnsAnswers>(answers_));
  for (const std::string& name : wanted) {
    auto [it, added] = names_.try_emplace(name);
    if (added)
      it->second.timer =
          std::make_unique<Timer>(dispatcher_.timers(), [this, name] { Resolve(name); });
    if (added || family_changed) Resolve(name);
  }
}

void DnsRefresher::Resolve(const std::string& name) {
  auto it = names_.find(name);
  if (it == names_.end()) return;
  Name& entry = it->second;
  entry.timer->Cancel();
  entry.id = next_id_++;
  if (resolver_ == nullptr) {
    OnAnswer(name, entry.id, DnsAnswer{.error = "no resolver"});
    return;
  }
  resolver_->Resolve(name, family_, [this, name, id = entry.id](DnsAnswer answer) {
    OnAnswer(name, id, std::move(answer));
  });
}

void DnsRefresher::OnAnswer(const std::string& name, uint64_t id, DnsAnswer answer) {
  auto it = names_.find(name);
  if (it == names_.end() || it->second.id != id) return;  // forgotten or superseded
  const routing::Millis delay = routing::DnsRefreshDelay(refresh_rate_, answer.ttl_seconds);
  it->second.timer->Arm(static_cast<uint64_t>(delay.count()));
  if (!answer.ok) {
    ++failures_;
    const bool kept = answers_.count(name) != 0;
    GH_LOG(kMain, kWarn,
           "dns: resolving " << name << " failed: " << answer.error
                             << (kept ? "; keeping the last good addresses" : "; no addresses yet")
                             << " (next try in " << delay.count() << " ms)");
    return;
  }
  ++successes_;
  auto existing = answers_.find(name);
  if (existing != answers_.end() && existing->second == answer.addresses) return;
  GH_LOG(kMain, kInfo,
         "dns: " << name << " resolved to " << answer.addresses.size() << " address(es), first "
                 << answer.addresses.front());
  answers_[name] = std::move(answer.addresses);
  publish_(std::make_shared<const routing::DnsAnswers>(answers_));
}

}  // namespace gh::gateway
