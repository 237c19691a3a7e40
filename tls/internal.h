// Internal to tls/: what the OpenSSL callbacks of the contexts need from a
// TlsSession, and helpers shared by the server and client contexts.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "routing/model.h"
#include "tls/session.h"

namespace gh::tls::internal {

struct SessionAccess {
  static TlsSession* From(const SSL* ssl) {
    return static_cast<TlsSession*>(SSL_get_app_data(ssl));
  }
  static const ServerContext* server_ctx(const TlsSession* s) { return s->server_ctx_.get(); }
  static const ClientContext* client_ctx(const TlsSession* s) { return s->client_ctx_.get(); }
  static void SetSni(TlsSession* s, std::string sni) { s->sni_ = std::move(sni); }
  static void SetServerIndex(TlsSession* s, uint32_t index) { s->server_index_ = index; }
  static std::optional<uint32_t> ServerIndex(const TlsSession* s) { return s->server_index_; }
  static void SetSniRejected(TlsSession* s) { s->sni_rejected_ = true; }
  static void RecordVerifyFailure(TlsSession* s, std::string detail) {
    s->RecordVerifyFailure(std::move(detail));
  }
  static const std::string& VerifyName(const TlsSession* s) { return s->verify_name_; }
  static ByteBuffer& In(TlsSession* s) { return s->in_; }
  static ByteBuffer& Out(TlsSession* s) { return s->out_; }
};

// Protocol versions with Istio's defaults (TLS_AUTO: min 1.2, max 1.3).
int MinVersion(routing::TlsVersion v);
int MaxVersion(routing::TlsVersion v);

struct CipherSettings {
  std::string cipher_list;   // TLS <= 1.2
  std::string ciphersuites;  // TLS 1.3
  std::string groups;
  int security_level = 1;  // 0 when TLS 1.0/1.1 are enabled (they need SHA-1)
};
// Resolves configured cipher suite and ECDH group names: unknown or duplicate
// names are skipped with a warning (Istio), and empty lists get the defaults.
Result<CipherSettings> ResolveCipherSettings(const std::vector<std::string>& cipher_suites,
                                             const std::vector<std::string>& ecdh_curves,
                                             int min_version, std::string_view where,
                                             std::vector<std::string>& warnings);
Status ApplyCipherSettings(SSL_CTX* ctx, const CipherSettings& settings, int min_version,
                           int max_version);

// ALPN protocol list in wire format; fails on an empty or > 255 byte name.
Result<std::string> AlpnWire(const std::vector<std::string>& protocols);

// True when one of the certificate's SANs equals one of `allowed`. DNS SANs
// are compared case-insensitively and a "*.example.com" SAN covers one label
// ("a.example.com"); URI, IP and email SANs compare exactly.
bool SanAllowed(const CertInfo& cert, const std::vector<std::string>& allowed);
std::string DescribeSans(const CertInfo& cert);

// The installed OpenSSL BIO for a session; both directions go through the
// session's own buffers.
BIO* NewSessionBio(TlsSession* session);

}  // namespace gh::tls::internal
