// TLS origination to an upstream (DestinationRule traffic_policy.tls):
// SIMPLE, MUTUAL, ISTIO_MUTUAL, with or without insecure_skip_verify. Built
// once per (cluster TLS settings) on the main thread; immutable and shared
// by every worker. TlsSession::NewClient starts a connection on it.
//
// Verification of the upstream:
//  - SIMPLE / MUTUAL: the chain against ca_certificates (+ ca_crl) or the
//    system roots; then subject_alt_names if set (any SAN equal, a "*." DNS
//    SAN covering one label), else the hostname check of the SNI (or the
//    host when it is an IP address) with RFC 6125 wildcards.
//  - ISTIO_MUTUAL: the chain against the mesh trust bundle; the peer must
//    carry exactly one URI SAN, a SPIFFE ID in the mesh trust domain, and it
//    must be one of the expected identities (when any are given).
//  - insecure_skip_verify: all of the above is checked and reported through
//    TlsSession::peer_verified()/peer_verify_detail(), but never fails.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "routing/model.h"
#include "tls/cert_store.h"

namespace gh::tls {

class TlsSession;

struct ClientOptions {
  // ALPN offer in preference order ("h2", "http/1.1"); empty: no ALPN.
  std::vector<std::string> alpn = {"http/1.1"};
  // ISTIO_MUTUAL: the SPIFFE IDs the upstream may present (from the
  // destination's service accounts). Empty: any identity of the mesh trust
  // domain. UpstreamTls::subject_alt_names are added to this list.
  std::vector<std::string> expected_identities;
  routing::TlsVersion min_protocol_version = routing::TlsVersion::k1_2;
  routing::TlsVersion max_protocol_version = routing::TlsVersion::k1_3;
  std::vector<std::string> cipher_suites, ecdh_curves;
  // Resumable sessions kept per SNI for this context (upstream resumption).
  size_t session_cache_size = 64;
};

class ClientContext {
 public:
  // Fails for DISABLE (no TLS to set up), for MUTUAL without a client
  // certificate, for ISTIO_MUTUAL without a mesh identity, and on unreadable
  // or mismatched files.
  static Result<std::shared_ptr<const ClientContext>> Build(const routing::UpstreamTls& tls,
                                                            ClientOptions options, CertStore& store,
                                                            const MeshIdentity* mesh = nullptr);
  Result<std::shared_ptr<const ClientContext>> Rebuild(CertStore& store,
                                                       const MeshIdentity* mesh = nullptr) const;
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // A stable key for upstream pools: equal for equal settings (mode, SNI,
  // SANs, expected identities, ALPN, versions, ciphers, file names, trust
  // domain), independent of file contents, so a certificate reload or an
  // SVID rotation keeps pooled connections. Pools must add the effective
  // SNI when sni_from_host() is true, as it then varies per request.
  const std::string& profile_key() const { return profile_key_; }
  static std::string ProfileKey(const routing::UpstreamTls& tls, const ClientOptions& options,
                                const MeshIdentity* mesh);

  routing::UpstreamTlsMode mode() const { return tls_.mode; }
  bool sni_from_host() const { return tls_.sni.empty(); }
  // The SNI for a request to `host` ("" when it would be an IP address).
  std::string EffectiveSni(std::string_view host) const;

  struct Impl;
  const Impl* impl() const { return impl_.get(); }

 private:
  friend class TlsSession;
  ClientContext() = default;
  SSL* NewSsl(TlsSession* session, const std::string& sni) const;

  routing::UpstreamTls tls_;
  ClientOptions options_;
  std::string profile_key_;
  std::unique_ptr<Impl> impl_;
};

// Host without a port: "example.com:8443" -> "example.com", "[::1]:80" -> "::1".
std::string_view StripPort(std::string_view host);
bool IsIpLiteral(std::string_view host);

}  // namespace gh::tls
