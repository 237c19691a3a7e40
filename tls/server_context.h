// TLS termination for one listener: every Gateway server on the listener
// that terminates TLS (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL), each
// with its own certificates (RSA and/or ECDSA), protocol versions, ciphers,
// groups and client-certificate policy, selected per handshake by SNI.
//
// How selection works: every TlsSession starts on a listener-level SSL_CTX
// whose ClientHello callback reads the SNI, asks the SniSelector for the
// server, switches the connection to that server's SSL_CTX
// (SSL_set_SSL_CTX) and applies its versions, ciphers, groups and verify
// mode -- all before version negotiation and session resumption, so a
// session or ticket from one server never resumes on another (each server
// has its own session id context). The data plane then reads
// TlsSession::server_index() to pick that server's route table, and
// sni_selector().Owner(host) to answer 421 for a Host owned by another
// server on the listener (404 for a Host owned by none).
//
// Built once per config snapshot on the main thread; immutable and shared by
// every worker afterwards. Session tickets use a TicketKeySet the owner keeps
// across rebuilds and rotates; the server-side session cache (OpenSSL's,
// bounded by session_cache_size) lives in the context. Sessions of
// connections that failed are dropped from it; TlsSession keeps the others
// resumable even when the peer closed without close_notify (like nginx).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "routing/model.h"
#include "tls/cert_store.h"
#include "tls/sni_selector.h"
#include "tls/ticket_keys.h"

namespace gh::tls {

class TlsSession;

// One Gateway server that terminates TLS on the listener.
struct ServerSpec {
  std::string name;                // routing::Server::name, for reasons and reports
  std::vector<std::string> hosts;  // SNI names: exact, "*.suffix" or "*"
  routing::ServerTls tls;
};

struct ListenerTlsOptions {
  // ALPN protocols in server preference order ("h2", "http/1.1").
  std::vector<std::string> alpn = {"http/1.1"};
  // No overlap with the client's ALPN list: false continues without ALPN
  // (Envoy), true fails the handshake with no_application_protocol (RFC 7301).
  bool alpn_required = false;
  // The server for a missing or unknown SNI (index into the specs); nullopt
  // rejects such handshakes with an unrecognized_name alert.
  std::optional<uint32_t> default_server = 0;
  // Stateless session tickets; null disables tickets (TLS 1.3 then resumes
  // through the session cache).
  std::shared_ptr<TicketKeySet> ticket_keys;
  size_t session_cache_size = 4096;  // sessions; 0 disables the cache
  std::chrono::seconds session_timeout{3600};
};

class ServerContext {
 public:
  // Fails on anything that would make a server unusable: missing or
  // mismatched certificates, a missing CA for MUTUAL, unknown versions,
  // conflicting or malformed host names, ISTIO_MUTUAL without a mesh
  // identity... Soft problems (unknown cipher names, which Istio skips) are
  // returned in warnings().
  static Result<std::shared_ptr<const ServerContext>> Build(std::vector<ServerSpec> servers,
                                                            ListenerTlsOptions options,
                                                            CertStore& store,
                                                            const MeshIdentity* mesh = nullptr);
  // The same servers and options with the store's current certificates and
  // trust bundles (after CertStore::Reload) or a new mesh identity. The old
  // context stays valid for the sessions already using it. Ticket keys are
  // shared, so tickets keep resuming across the rebuild; the session cache
  // starts empty.
  Result<std::shared_ptr<const ServerContext>> Rebuild(CertStore& store,
                                                       const MeshIdentity* mesh = nullptr) const;

  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  size_t server_count() const;
  const ServerSpec& server(size_t index) const;
  // The certificates server `index` serves (for /certs and expiry metrics).
  std::vector<CertInfo> ServerCertificates(size_t index) const;
  const std::vector<std::string>& warnings() const { return warnings_; }
  const SniSelector& sni_selector() const { return selector_; }
  const std::shared_ptr<TicketKeySet>& ticket_keys() const { return options_.ticket_keys; }

  struct SessionCacheStats {
    size_t entries = 0;
    uint64_t hits = 0, misses = 0;
  };
  SessionCacheStats session_cache_stats() const;

  struct Impl;  // internal, shared with the OpenSSL callbacks
  const Impl* impl() const { return impl_.get(); }

 private:
  friend class TlsSession;
  ServerContext() = default;
  SSL* NewSsl(TlsSession* session) const;

  std::vector<ServerSpec> specs_;
  ListenerTlsOptions options_;
  SniSelector selector_;
  std::vector<std::string> warnings_;
  std::unique_ptr<Impl> impl_;
};

// ------------------------------------------------------ x-forwarded-client-cert

struct XfccOptions {
  bool subject = true, uri = true, dns = true;  // Istio defaults
  bool cert = false, chain = false;             // URL-encoded PEM
};

// The x-forwarded-client-cert element for this connection, Envoy format:
//   By=<our URI SAN>;Hash=<hex sha256>;Subject="<RFC 2253>";URI=<uri>;DNS=<dns>
// ("By" once per URI SAN of our certificate, "DNS" once per DNS SAN; values
// with , ; = or " are quoted). Empty when the peer sent no certificate.
std::string BuildXfcc(const TlsSession& session, const XfccOptions& options = {});

}  // namespace gh::tls
