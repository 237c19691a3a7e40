#include "tls/ticket_keys.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "tls/ossl_util.h"

namespace gh::tls {

Result<TicketKey> TicketKey::Generate() {
  TicketKey key;
  if (RAND_bytes(key.name.data(), key.name.size()) != 1 ||
      RAND_bytes(key.hmac_key.data(), key.hmac_key.size()) != 1 ||
      RAND_bytes(key.aes_key.data(), key.aes_key.size()) != 1)
    return OpenSslError("generating a session ticket key");
  return key;
}

Result<TicketKey> TicketKey::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != kSize)
    return MakeError("a session ticket key is exactly 80 bytes, got " +
                     std::to_string(bytes.size()));
  TicketKey key;
  std::memcpy(key.name.data(), bytes.data(), 16);
  std::memcpy(key.hmac_key.data(), bytes.data() + 16, 32);
  std::memcpy(key.aes_key.data(), bytes.data() + 48, 32);
  return key;
}

Result<std::shared_ptr<TicketKeySet>> TicketKeySet::Create(size_t keep_previous) {
  auto key = TicketKey::Generate();
  if (!key.ok()) return key.error();
  return std::make_shared<TicketKeySet>(*key, keep_previous);
}

TicketKeySet::TicketKeySet(TicketKey initial, size_t keep_previous)
    : keep_previous_(keep_previous) {
  keys_.push_front(initial);
}

void TicketKeySet::Rotate(const TicketKey& fresh) {
  std::lock_guard lock(mu_);
  keys_.push_front(fresh);
  while (keys_.size() > keep_previous_ + 1)
    keys_.pop_back();
}

Status TicketKeySet::RotateRandom() {
  auto key = TicketKey::Generate();
  if (!key.ok()) return key.error();
  Rotate(*key);
  return Status::Ok();
}

TicketKey TicketKeySet::Current() const {
  std::lock_guard lock(mu_);
  return keys_.front();
}

std::optional<std::pair<TicketKey, bool>> TicketKeySet::Find(
    std::span<const uint8_t, 16> name) const {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (std::equal(name.begin(), name.end(), keys_[i].name.begin()))
      return std::make_pair(keys_[i], i == 0);
  }
  return std::nullopt;
}

size_t TicketKeySet::size() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

}  // namespace gh::tls
