#include "tls/client_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>

#include "base/strings.h"
#include "tls/internal.h"
#include "tls/spiffe.h"

namespace gh::tls {

using internal::SessionAccess;
using routing::UpstreamTlsMode;

namespace {

// Resumable upstream sessions keyed by SNI (and verify name). A session is
// taken out when used: TLS 1.3 tickets are single-use, and the resumed
// connection brings fresh ones.
class ClientSessionCache {
 public:
  explicit ClientSessionCache(size_t capacity) : capacity_(capacity) {}
  ~ClientSessionCache() {
    for (auto& [key, session] : map_)
      SSL_SESSION_free(session);
  }
  void Put(const std::string& key, SSL_SESSION* session) {  // takes the reference
    std::lock_guard lock(mu_);
    if (auto it = map_.find(key); it != map_.end()) {
      SSL_SESSION_free(it->second);
      it->second = session;
      return;
    }
    map_.emplace(key, session);
    order_.push_back(key);
    while (map_.size() > capacity_ && !order_.empty()) {
      if (auto it = map_.find(order_.front()); it != map_.end()) {
        SSL_SESSION_free(it->second);
        map_.erase(it);
      }
      order_.pop_front();
    }
  }
  SSL_SESSION* Take(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    SSL_SESSION* session = it->second;
    map_.erase(it);
    order_.erase(std::find(order_.begin(), order_.end(), key));
    return session;
  }

 private:
  std::mutex mu_;
  size_t capacity_;
  std::map<std::string, SSL_SESSION*> map_;
  std::deque<std::string> order_;
};

std::string_view ModeName(UpstreamTlsMode mode) {
  switch (mode) {
    case UpstreamTlsMode::kDisable:
      return "DISABLE";
    case UpstreamTlsMode::kSimple:
      return "SIMPLE";
    case UpstreamTlsMode::kMutual:
      return "MUTUAL";
    case UpstreamTlsMode::kIstioMutual:
      return "ISTIO_MUTUAL";
  }
  return "?";
}

}  // namespace

struct ClientContext::Impl {
  SslCtxPtr ctx;
  UpstreamTlsMode mode = UpstreamTlsMode::kSimple;
  std::shared_ptr<const CertifiedKey> client_cert;
  std::shared_ptr<const TrustBundle> trust;
  std::vector<std::string> subject_alt_names;    // SIMPLE/MUTUAL
  std::vector<std::string> expected_identities;  // ISTIO_MUTUAL
  std::string mesh_trust_domain;
  bool skip_verify = false;
  std::unique_ptr<ClientSessionCache> cache;
};

namespace {

using Impl = ClientContext::Impl;

std::string SessionKey(const TlsSession* s) {
  return std::string(s->sni()) + '\n' + SessionAccess::VerifyName(s);
}

int OnNewClientSession(SSL* ssl, SSL_SESSION* session) {
  const TlsSession* s = SessionAccess::From(ssl);
  const ClientContext* ctx = s ? SessionAccess::client_ctx(s) : nullptr;
  if (ctx == nullptr || !ctx->impl()->cache || !SSL_SESSION_is_resumable(session)) return 0;
  ctx->impl()->cache->Put(SessionKey(s), session);
  return 1;
}

std::string CheckServerPolicy(const Impl& impl, X509* leaf, const std::string& verify_name,
                              int* x509_error) {
  const CertInfo info = CertInfoFromX509(leaf);
  *x509_error = X509_V_ERR_CERT_REJECTED;
  if (impl.mode == UpstreamTlsMode::kIstioMutual) {
    if (info.uri_sans.size() != 1)
      return "upstream certificate must carry exactly one URI SAN, has " +
             std::to_string(info.uri_sans.size());
    const std::string& uri = info.uri_sans[0];
    auto id = ParseSpiffeUri(uri);
    if (!id.ok()) return "upstream URI SAN is not a SPIFFE ID: " + id.error().message;
    if (id->trust_domain != impl.mesh_trust_domain)
      return "upstream SPIFFE ID " + uri + " is outside trust domain " + impl.mesh_trust_domain;
    if (!impl.expected_identities.empty() &&
        std::find(impl.expected_identities.begin(), impl.expected_identities.end(), uri) ==
            impl.expected_identities.end())
      return "upstream SPIFFE ID " + uri + " is not an expected identity";
    return {};
  }
  if (!impl.subject_alt_names.empty()) {
    if (internal::SanAllowed(info, impl.subject_alt_names)) return {};
    return "upstream certificate SAN not in subject_alt_names (has " +
           internal::DescribeSans(info) + ")";
  }
  *x509_error = X509_V_ERR_HOSTNAME_MISMATCH;
  if (verify_name.empty()) return "no host name to verify the upstream certificate against";
  const int match = IsIpLiteral(verify_name)
                        ? X509_check_ip_asc(leaf, verify_name.c_str(), 0)
                        : X509_check_host(leaf, verify_name.data(), verify_name.size(),
                                          X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr);
  if (match == 1) return {};
  return "upstream certificate does not match \"" + verify_name + "\" (has " +
         internal::DescribeSans(info) + ")";
}

int OnVerifyServer(X509_STORE_CTX* store_ctx, void* arg) {
  const auto* impl = static_cast<const Impl*>(arg);
  SSL* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  TlsSession* session = ssl ? SessionAccess::From(ssl) : nullptr;
  std::string detail;
  if (X509_verify_cert(store_ctx) != 1) {
    detail = std::string("upstream certificate: ") +
             X509_verify_cert_error_string(X509_STORE_CTX_get_error(store_ctx));
  } else if (X509* leaf = X509_STORE_CTX_get0_cert(store_ctx)) {
    int error = X509_V_OK;
    detail =
        CheckServerPolicy(*impl, leaf, session ? SessionAccess::VerifyName(session) : "", &error);
    if (!detail.empty()) X509_STORE_CTX_set_error(store_ctx, error);
  }
  if (detail.empty()) return 1;
  if (session) SessionAccess::RecordVerifyFailure(session, detail);
  return impl->skip_verify ? 1 : 0;
}

}  // namespace

std::string_view StripPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  const size_t colon = host.find(':');
  if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos)
    return host.substr(0, colon);
  return host;  // no port, or a bare IPv6 literal
}

bool IsIpLiteral(std::string_view host) {
  std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

ClientContext::~ClientContext() = default;

std::string ClientContext::ProfileKey(const routing::UpstreamTls& tls, const ClientOptions& options,
                                      const MeshIdentity* mesh) {
  if (tls.mode == UpstreamTlsMode::kDisable) return "plaintext";
  std::string d = "mode=" + std::string(ModeName(tls.mode));
  auto list = [&](std::string_view name, const std::vector<std::string>& v) {
    d += '|';
    d.append(name).push_back('=');
    for (const auto& x : v)
      d += x + ',';
  };
  d += "|sni=" + tls.sni + "|cert=" + tls.client_certificate + "|key=" + tls.private_key +
       "|ca=" + tls.ca_certificates + "|crl=" + tls.ca_crl + "|cred=" + tls.credential_name +
       "|skip=" + (tls.insecure_skip_verify ? "1" : "0") +
       "|v=" + std::to_string(static_cast<int>(options.min_protocol_version)) + "-" +
       std::to_string(static_cast<int>(options.max_protocol_version));
  list("san", tls.subject_alt_names);
  list("ids", options.expected_identities);
  list("alpn", options.alpn);
  list("ciphers", options.cipher_suites);
  list("groups", options.ecdh_curves);
  if (tls.mode == UpstreamTlsMode::kIstioMutual && mesh) d += "|td=" + mesh->trust_domain;
  const auto digest = Sha256({reinterpret_cast<const uint8_t*>(d.data()), d.size()});
  return "tls:" + HexLower(std::span<const uint8_t>(digest).first(16));
}

std::string ClientContext::EffectiveSni(std::string_view host) const {
  if (!tls_.sni.empty()) return tls_.sni;
  std::string h = AsciiLowered(StripPort(host));
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (h.empty() || IsIpLiteral(h)) return {};  // RFC 6066: no IP literals in SNI
  return h;
}

Result<std::shared_ptr<const ClientContext>> ClientContext::Build(const routing::UpstreamTls& tls,
                                                                  ClientOptions options,
                                                                  CertStore& store,
                                                                  const MeshIdentity* mesh) {
  const std::string mode_name(ModeName(tls.mode));
  if (tls.mode == UpstreamTlsMode::kDisable)
    return MakeError("upstream TLS mode DISABLE needs no TLS context");
  std::shared_ptr<ClientContext> out(new ClientContext());
  out->impl_ = std::make_unique<Impl>();
  Impl& impl = *out->impl_;
  impl.mode = tls.mode;
  impl.skip_verify = tls.insecure_skip_verify;

  routing::CertificateFiles cert_files{tls.client_certificate, tls.private_key};
  std::string ca_file = tls.ca_certificates, crl_file = tls.ca_crl;
  if (tls.mode == UpstreamTlsMode::kIstioMutual) {
    if (!tls.client_certificate.empty() || !tls.private_key.empty() ||
        !tls.ca_certificates.empty() || !tls.ca_crl.empty() || !tls.credential_name.empty())
      return MakeError("ISTIO_MUTUAL uses the mesh certificates; other TLS fields are errors");
    if (mesh == nullptr || !mesh->svid || !mesh->trust_bundle)
      return MakeError("ISTIO_MUTUAL needs the gateway's mesh identity ([mesh] and its CA)");
    impl.client_cert = mesh->svid;
    impl.trust = mesh->trust_bundle;
    impl.mesh_trust_domain = mesh->trust_domain;
    impl.expected_identities = options.expected_identities;
    for (const auto& san : tls.subject_alt_names)
      impl.expected_identities.push_back(san);
    for (const auto& id : impl.expected_identities) {
      auto parsed = ParseSpiffeUri(id);
      if (!parsed.ok())
        return MakeError("expected identity \"" + id + "\": " + parsed.error().message);
    }
  } else {
    if (!tls.credential_name.empty()) {
      if (!tls.client_certificate.empty() || !tls.private_key.empty())
        return MakeError("credential_name and client_certificate/private_key are exclusive");
      const NamedCredential* cred = store.FindNamedCredential(tls.credential_name);
      if (cred == nullptr)
        return MakeError("unknown credential_name \"" + tls.credential_name + "\"");
      if (!cred->certificates.empty()) cert_files = cred->certificates.front();
      if (ca_file.empty()) ca_file = cred->ca_certificates;
      if (crl_file.empty()) crl_file = cred->ca_crl;
    }
    if (tls.mode == UpstreamTlsMode::kMutual) {
      if (cert_files.certificate_chain.empty() || cert_files.private_key.empty())
        return MakeError("MUTUAL needs client_certificate and private_key");
    }
    if (!cert_files.certificate_chain.empty() || !cert_files.private_key.empty()) {
      auto pair = store.KeyPair(cert_files);
      if (!pair.ok()) return pair.error();
      impl.client_cert = *pair;
    }
    if (!ca_file.empty()) {
      auto trust = store.Trust(ca_file, crl_file);
      if (!trust.ok()) return trust.error();
      impl.trust = *trust;
    } else {
      if (!crl_file.empty()) return MakeError("ca_crl needs ca_certificates");
      auto roots = TrustBundle::SystemRoots();
      if (!roots.ok()) return roots.error();
      impl.trust = *roots;
    }
    impl.subject_alt_names = tls.subject_alt_names;
  }

  std::vector<std::string> warnings;  // unknown ciphers: skipped like on the server side
  const int min_version = internal::MinVersion(options.min_protocol_version);
  const int max_version = internal::MaxVersion(options.max_protocol_version);
  if (min_version > max_version) return MakeError("min_protocol_version is above the maximum");
  auto ciphers = internal::ResolveCipherSettings(options.cipher_suites, options.ecdh_curves,
                                                 min_version, "upstream", warnings);
  if (!ciphers.ok()) return ciphers.error();
  auto alpn = internal::AlpnWire(options.alpn);
  if (!alpn.ok()) return alpn.error();

  ERR_clear_error();
  impl.ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (!impl.ctx) return OpenSslError("SSL_CTX_new");
  SSL_CTX* ctx = impl.ctx.get();
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (auto s = internal::ApplyCipherSettings(ctx, *ciphers, min_version, max_version); !s.ok())
    return s.error();
  if (!alpn->empty() &&
      SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(alpn->data()),
                              static_cast<unsigned int>(alpn->size())) != 0)
    return OpenSslError("ALPN");
  if (impl.client_cert &&
      SSL_CTX_use_cert_and_key(ctx, impl.client_cert->leaf(), impl.client_cert->key(),
                               impl.client_cert->intermediates(), 1) != 1)
    return OpenSslError("client certificate");
  if (SSL_CTX_set1_verify_cert_store(ctx, impl.trust->store()) != 1)
    return OpenSslError("CA store");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, OnVerifyServer, &impl);
  if (options.session_cache_size > 0) {
    impl.cache = std::make_unique<ClientSessionCache>(options.session_cache_size);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, OnNewClientSession);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  out->profile_key_ = ProfileKey(tls, options, mesh);
  out->tls_ = tls;
  out->options_ = std::move(options);
  return std::shared_ptr<const ClientContext>(std::move(out));
}

Result<std::shared_ptr<const ClientContext>> ClientContext::Rebuild(
    CertStore& store, const MeshIdentity* mesh) const {
  return Build(tls_, options_, store, mesh);
}

SSL* ClientContext::NewSsl(TlsSession* session, const std::string& sni) const {
  SSL* ssl = SSL_new(impl_->ctx.get());
  if (ssl == nullptr) return nullptr;
  SSL_set_app_data(ssl, session);
  SSL_set_connect_state(ssl);
  if (!sni.empty() && SSL_set_tlsext_host_name(ssl, sni.c_str()) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  if (impl_->cache) {
    if (SSL_SESSION* cached = impl_->cache->Take(SessionKey(session))) {
      SSL_set_session(ssl, cached);
      SSL_SESSION_free(cached);
    }
  }
  return ssl;
}

}  // namespace gh::tls
