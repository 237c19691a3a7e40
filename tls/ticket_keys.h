// Session ticket keys with rotation. The owner (main thread) rotates on a
// timer; handshakes on every worker encrypt new tickets with the current key
// and still accept tickets sealed with the previous key(s), re-issuing them
// under the current one.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "base/result.h"

namespace gh::tls {

// 80 bytes, the layout Envoy and nginx use for ticket key files:
// name (16) | HMAC-SHA256 key (32) | AES-256-CBC key (32).
struct TicketKey {
  std::array<uint8_t, 16> name{};
  std::array<uint8_t, 32> hmac_key{};
  std::array<uint8_t, 32> aes_key{};

  static constexpr size_t kSize = 80;
  // From OpenSSL's CSPRNG.
  static Result<TicketKey> Generate();
  static Result<TicketKey> FromBytes(std::span<const uint8_t> bytes);
};

class TicketKeySet {
 public:
  // Starts with one freshly generated key. `keep_previous`: how many retired
  // keys still decrypt (1: tickets from the previous rotation are accepted).
  static Result<std::shared_ptr<TicketKeySet>> Create(size_t keep_previous = 1);
  explicit TicketKeySet(TicketKey initial, size_t keep_previous = 1);

  // The current key becomes previous; `fresh` encrypts from now on.
  void Rotate(const TicketKey& fresh);
  Status RotateRandom();

  // For the ticket callback (any thread).
  TicketKey Current() const;
  // The key named `name`, and whether it is the current one.
  std::optional<std::pair<TicketKey, bool>> Find(std::span<const uint8_t, 16> name) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::deque<TicketKey> keys_;  // front: current
  size_t keep_previous_;
};

}  // namespace gh::tls
