// SNI -> server index (pure). One TLS listener carries several Gateway
// servers; the ClientHello's server_name picks which one answers.
//
//   exact name  >  longest "*.suffix" wildcard  >  "*" catch-all  >  default
//
// Names are case-insensitive and a trailing dot is ignored. "*.example.com"
// matches "a.example.com" and "a.b.example.com" but not "example.com". A
// missing SNI goes to the catch-all, else the default. Without a default, an
// unmatched name is rejected (the handshake fails with unrecognized_name).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"

namespace gh::tls {

class SniSelector {
 public:
  // Adds a server name: "host.example.com", "*.example.com" or "*". Fails on a
  // malformed name or when the name is already mapped (to any index): Istio
  // silently skips duplicate TLS hosts, Gatehouse reports them.
  Status Add(std::string_view name, uint32_t index);
  // Index for no/unknown SNI; nullopt rejects those handshakes.
  void SetDefault(std::optional<uint32_t> index) { default_ = index; }
  std::optional<uint32_t> default_index() const { return default_; }

  // The server for `sni` ("" when the client sent none); nullopt: reject.
  std::optional<uint32_t> Select(std::string_view sni) const;
  // The server whose names cover `host` (exact, wildcard or catch-all),
  // ignoring the default: for the 421 decision, a request whose Host is
  // owned by another server than the connection's gets 421 Misdirected
  // Request, a Host owned by none gets 404. Strip the port first.
  std::optional<uint32_t> Owner(std::string_view host) const;

  size_t size() const { return exact_.size() + wildcard_.size() + (catch_all_ ? 1 : 0); }

  // Lowercases and strips one trailing dot; nullopt for something that is not
  // a plausible DNS name (empty labels, bytes outside [A-Za-z0-9-_], > 253).
  static std::optional<std::string> Normalize(std::string_view name);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>>;
  Map exact_;
  Map wildcard_;  // keyed by ".suffix"
  std::optional<uint32_t> catch_all_;
  std::optional<uint32_t> default_;
};

}  // namespace gh::tls
