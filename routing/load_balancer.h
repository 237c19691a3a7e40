// Load balancing over a Cluster's endpoints. Tables for consistent hashing
// (ring hash, maglev) are built once per cluster at compile time and shared
// immutable; pickers are per worker and stateful (round-robin position). The
// data plane owns the live inputs (active requests, health) and passes them
// in as spans indexed like Cluster::endpoints. Pure: randomness comes in.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/random.h"
#include "routing/model.h"

namespace gh::routing {

// Immutable consistent-hash table: a sorted ring or a maglev lookup table.
class LbTable {
 public:
  enum class Kind : uint8_t { kRing, kMaglev };
  static std::shared_ptr<const LbTable> BuildRing(const std::vector<Endpoint>& endpoints,
                                                  uint64_t minimum_ring_size);
  static std::shared_ptr<const LbTable> BuildMaglev(const std::vector<Endpoint>& endpoints,
                                                    uint64_t table_size);

  Kind kind() const { return kind_; }
  size_t size() const { return kind_ == Kind::kRing ? ring_.size() : table_.size(); }
  // The endpoint for `hash`, moving on along the ring / table past entries
  // `usable` rejects. nullopt when no entry is usable.
  template <class Usable>
  std::optional<uint32_t> Lookup(uint64_t hash, Usable&& usable) const;
  // Share of the table owned by each endpoint (tests and diagnostics).
  std::vector<double> Shares(size_t endpoints) const;

 private:
  struct RingEntry {
    uint64_t hash;
    uint32_t endpoint;
  };
  Kind kind_ = Kind::kRing;
  std::vector<RingEntry> ring_;  // sorted by hash
  std::vector<uint32_t> table_;  // maglev: slot -> endpoint
  size_t StartIndex(uint64_t hash) const;
  uint32_t EntryAt(size_t i) const { return kind_ == Kind::kRing ? ring_[i].endpoint : table_[i]; }
};

template <class Usable>
std::optional<uint32_t> LbTable::Lookup(uint64_t hash, Usable&& usable) const {
  const size_t n = size();
  if (n == 0) return std::nullopt;
  const size_t start = StartIndex(hash);
  for (size_t k = 0; k < n; ++k) {
    const uint32_t e = EntryAt((start + k) % n);
    if (usable(e)) return e;
  }
  return std::nullopt;
}

// Builds the table for RING_HASH / MAGLEV clusters; null for other policies.
std::shared_ptr<const LbTable> BuildLbTable(const Cluster& cluster);

struct PickContext {
  std::span<const uint32_t> active_requests;  // per endpoint; empty: all zero
  std::span<const uint8_t> healthy;           // per endpoint, non-zero healthy; empty: all
  // Per endpoint, zero for an endpoint DNS no longer returns (kept in place
  // while requests finish): never picked, not even in panic mode. Empty: all.
  std::span<const uint8_t> present;
  std::optional<uint32_t> avoid;  // retries: prefer another endpoint
  std::optional<uint64_t> hash;   // consistent hash key (HashKey below)
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  // An endpoint index, or nullopt when none is usable (503, flag UH).
  virtual std::optional<uint32_t> Pick(const PickContext& context, Random& random) = 0;
};

// One picker per worker per cluster.
std::unique_ptr<LoadBalancer> CreateLoadBalancer(const Cluster& cluster);

// The consistent-hash key of a request, or nullopt when its source is absent
// (no such header / cookie / parameter): the picker then picks at random.
std::optional<uint64_t> HashKey(const ConsistentHash& hash, const RequestView& request);

// 64-bit hash used for keys and ring points (FNV-1a + murmur finaliser).
uint64_t HashBytes(std::string_view data);

}  // namespace gh::routing
