#include "tls/server_context.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>

#include "base/strings.h"
#include "tls/internal.h"
#include "tls/spiffe.h"

namespace gh::tls {

using internal::SessionAccess;
using routing::ServerTlsMode;

namespace {

constexpr std::string_view kDispatchSidCtx = "gatehouse-listener";

// One Gateway server: its SSL_CTX and everything the callbacks check.
struct ServerEntry {
  std::string name;
  SslCtxPtr ctx;
  ServerTlsMode mode = ServerTlsMode::kSimple;
  int min_version = TLS1_2_VERSION, max_version = TLS1_3_VERSION;
  internal::CipherSettings ciphers;
  int verify_mode = SSL_VERIFY_NONE;
  std::vector<std::string> subject_alt_names;
  std::vector<std::vector<uint8_t>> spki_pins, hash_pins;
  bool insecure_skip_verify = false;
  std::string mesh_trust_domain;  // ISTIO_MUTUAL
  std::array<uint8_t, 32> sid_ctx{};
  std::vector<std::shared_ptr<const CertifiedKey>> certs;
  std::shared_ptr<const TrustBundle> trust;
  bool differs_from_dispatch = false;  // versions/ciphers/groups to apply per handshake
};

}  // namespace

struct ServerContext::Impl {
  SslCtxPtr dispatch;
  std::vector<std::unique_ptr<ServerEntry>> entries;
  const SniSelector* selector = nullptr;
  std::string alpn_wire;
  bool alpn_required = false;
  std::shared_ptr<TicketKeySet> ticket_keys;
};

namespace {

using Impl = ServerContext::Impl;

const ServerEntry* SelectedEntry(const SSL* ssl) {
  const TlsSession* s = SessionAccess::From(ssl);
  if (s == nullptr) return nullptr;
  const ServerContext* ctx = SessionAccess::server_ctx(s);
  auto index = SessionAccess::ServerIndex(s);
  if (ctx == nullptr || !index) return nullptr;
  return ctx->impl()->entries[*index].get();
}

// The host_name entry of a raw server_name extension; "" if absent/malformed.
std::string_view ParseSniExtension(const unsigned char* p, size_t len) {
  if (len < 2) return {};
  const size_t list_len = (size_t{p[0]} << 8) | p[1];
  if (list_len + 2 != len || list_len < 3) return {};
  p += 2;
  if (p[0] != TLSEXT_NAMETYPE_host_name) return {};
  const size_t name_len = (size_t{p[1]} << 8) | p[2];
  if (name_len + 3 > list_len) return {};
  return {reinterpret_cast<const char*>(p + 3), name_len};
}

int OnClientHello(SSL* ssl, int* alert, void* arg) {
  auto* impl = static_cast<Impl*>(arg);
  TlsSession* session = SessionAccess::From(ssl);
  if (session == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  const unsigned char* ext = nullptr;
  size_t ext_len = 0;
  std::string sni;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &ext_len) == 1) {
    if (auto normalized = SniSelector::Normalize(ParseSniExtension(ext, ext_len)))
      sni = std::move(*normalized);
  }
  auto index = impl->selector->Select(sni);
  SessionAccess::SetSni(session, std::move(sni));
  if (!index) {
    SessionAccess::SetSniRejected(session);
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  const ServerEntry& entry = *impl->entries[*index];
  if (SSL_get_SSL_CTX(ssl) != entry.ctx.get() && SSL_set_SSL_CTX(ssl, entry.ctx.get()) == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  // SSL_set_SSL_CTX swaps certificates, verify store and session id context;
  // the rest was copied from the listener context at SSL_new.
  SSL_set_verify(ssl, entry.verify_mode, nullptr);
  if (entry.differs_from_dispatch) {
    const auto& c = entry.ciphers;
    if (SSL_set_min_proto_version(ssl, entry.min_version) != 1 ||
        SSL_set_max_proto_version(ssl, entry.max_version) != 1 ||
        SSL_set_cipher_list(ssl, c.cipher_list.c_str()) != 1 ||
        SSL_set_ciphersuites(ssl, c.ciphersuites.c_str()) != 1 ||
        SSL_set1_groups_list(ssl, c.groups.c_str()) != 1) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_CLIENT_HELLO_ERROR;
    }
    SSL_set_security_level(ssl, c.security_level);
  }
  SessionAccess::SetServerIndex(session, *index);
  return SSL_CLIENT_HELLO_SUCCESS;
}

// Acknowledges the SNI so it is recorded in the session.
int OnServerName(SSL* ssl, int*, void*) {
  return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) != nullptr ? SSL_TLSEXT_ERR_OK
                                                                       : SSL_TLSEXT_ERR_NOACK;
}

int OnAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
           unsigned int inlen, void*) {
  const TlsSession* s = SessionAccess::From(ssl);
  const ServerContext* ctx = s ? SessionAccess::server_ctx(s) : nullptr;
  if (ctx == nullptr) return SSL_TLSEXT_ERR_NOACK;
  const Impl& impl = *ctx->impl();
  if (impl.alpn_wire.empty() || inlen == 0) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(
          &selected, outlen, reinterpret_cast<const unsigned char*>(impl.alpn_wire.data()),
          static_cast<unsigned int>(impl.alpn_wire.size()), in, inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return impl.alpn_required ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

int OnTicketKey(SSL* ssl, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cctx,
                EVP_MAC_CTX* hctx, int enc) {
  const TlsSession* s = SessionAccess::From(ssl);
  const ServerContext* ctx = s ? SessionAccess::server_ctx(s) : nullptr;
  if (ctx == nullptr || !ctx->impl()->ticket_keys) return -1;
  const TicketKeySet& keys = *ctx->impl()->ticket_keys;
  TicketKey key;
  int result = 1;
  if (enc) {
    key = keys.Current();
    std::memcpy(key_name, key.name.data(), key.name.size());
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
  } else {
    auto found = keys.Find(std::span<const uint8_t, 16>(key_name, 16));
    if (!found) return 0;  // unknown key: full handshake, new ticket
    key = found->first;
    result = found->second ? 1 : 2;  // 2: decrypted with a retired key, renew
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac_key.data(),
                                        key.hmac_key.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  const bool ok =
      EVP_MAC_CTX_set_params(hctx, params) == 1 &&
      (enc ? EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key.aes_key.data(), iv)
           : EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key.aes_key.data(), iv)) == 1;
  OPENSSL_cleanse(&key, sizeof key);
  return ok ? result : -1;
}

// Runs after a ticket was decrypted (TLS 1.2 and 1.3): a ticket issued by
// another server of the listener is not resumed here. OpenSSL compares the
// session id context itself as well (tests pass without this check); this
// keeps the rule explicit and independent of the library version.
SSL_TICKET_RETURN OnDecryptTicket(SSL* ssl, SSL_SESSION* session, const unsigned char*, size_t,
                                  SSL_TICKET_STATUS status, void*) {
  switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW: {
      const ServerEntry* entry = SelectedEntry(ssl);
      unsigned int len = 0;
      const unsigned char* sid = SSL_SESSION_get0_id_context(session, &len);
      if (entry == nullptr || len != entry->sid_ctx.size() ||
          std::memcmp(sid, entry->sid_ctx.data(), len) != 0)
        return SSL_TICKET_RETURN_IGNORE_RENEW;
      // TLS 1.3 tickets are single-use for clients (RFC 8446 C.4): without
      // a fresh one, their next reconnect is a full handshake.
      if (status == SSL_TICKET_SUCCESS_RENEW || SSL_version(ssl) >= TLS1_3_VERSION)
        return SSL_TICKET_RETURN_USE_RENEW;
      return SSL_TICKET_RETURN_USE;
    }
    default:
      return SSL_TICKET_RETURN_IGNORE_RENEW;
  }
}

// Client-certificate verification: the chain (CA bundle, CRL), then the
// server's SAN allow-list, pins and, for ISTIO_MUTUAL, the SPIFFE identity.
std::string CheckClientPolicy(const ServerEntry& entry, X509* leaf) {
  const CertInfo info = CertInfoFromX509(leaf);
  if (entry.mode == ServerTlsMode::kIstioMutual) {
    if (info.uri_sans.size() != 1)
      return "client certificate must carry exactly one URI SAN, has " +
             std::to_string(info.uri_sans.size());
    auto id = ParseSpiffeUri(info.uri_sans[0]);
    if (!id.ok()) return "client certificate URI SAN is not a SPIFFE ID: " + id.error().message;
    if (id->trust_domain != entry.mesh_trust_domain)
      return "client SPIFFE ID " + info.uri_sans[0] + " is outside trust domain " +
             entry.mesh_trust_domain;
  }
  if (!entry.subject_alt_names.empty() && !internal::SanAllowed(info, entry.subject_alt_names))
    return "client certificate SAN not in subject_alt_names (has " + internal::DescribeSans(info) +
           ")";
  if (!entry.spki_pins.empty() || !entry.hash_pins.empty()) {
    const auto spki = SpkiSha256(leaf);
    const auto hash = CertSha256(leaf);
    const bool pinned =
        std::find(entry.spki_pins.begin(), entry.spki_pins.end(), spki) != entry.spki_pins.end() ||
        std::find(entry.hash_pins.begin(), entry.hash_pins.end(), hash) != entry.hash_pins.end();
    if (!pinned)
      return "client certificate matches no verify_certificate_spki/verify_certificate_hash pin "
             "(sha256 " +
             info.sha256_hex + ")";
  }
  return {};
}

int OnVerifyClient(X509_STORE_CTX* store_ctx, void* arg) {
  const auto* entry = static_cast<const ServerEntry*>(arg);
  SSL* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  TlsSession* session = ssl ? SessionAccess::From(ssl) : nullptr;
  std::string detail;
  if (X509_verify_cert(store_ctx) != 1) {
    const int err = X509_STORE_CTX_get_error(store_ctx);
    detail = std::string("client certificate: ") + X509_verify_cert_error_string(err);
  } else if (X509* leaf = X509_STORE_CTX_get0_cert(store_ctx)) {
    detail = CheckClientPolicy(*entry, leaf);
    if (!detail.empty()) X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_CERT_REJECTED);
  }
  if (detail.empty()) return 1;
  if (session) SessionAccess::RecordVerifyFailure(session, detail);
  // insecure_skip_verify: the failure stays recorded (verify result, detail)
  // but the connection proceeds, so the certificate can still go into XFCC.
  return entry->insecure_skip_verify ? 1 : 0;
}

Result<std::vector<uint8_t>> DecodeSpkiPin(const std::string& pin) {
  std::vector<uint8_t> out(pin.size());
  const int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(pin.data()),
                                  static_cast<int>(pin.size()));
  // EVP_DecodeBlock counts '=' padding as zero bytes; a SHA-256 is 32 bytes,
  // i.e. 44 base64 characters with one '='.
  if (len != 33 || pin.size() != 44 || pin.back() != '=')
    return MakeError("verify_certificate_spki \"" + pin +
                     "\" is not a base64 SHA-256 (44 characters)");
  out.resize(32);
  return out;
}

Result<std::vector<uint8_t>> DecodeHashPin(const std::string& pin) {
  std::string hex;
  for (char c : pin)
    if (c != ':') hex.push_back(AsciiLower(c));
  auto bad = [&] {
    return MakeError("verify_certificate_hash \"" + pin +
                     "\" is not a hex SHA-256 (64 digits, colons optional)");
  };
  if (hex.size() != 64) return bad();
  std::vector<uint8_t> out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return bad();
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::string_view ModeName(ServerTlsMode mode) {
  switch (mode) {
    case ServerTlsMode::kPassthrough:
      return "PASSTHROUGH";
    case ServerTlsMode::kSimple:
      return "SIMPLE";
    case ServerTlsMode::kMutual:
      return "MUTUAL";
    case ServerTlsMode::kOptionalMutual:
      return "OPTIONAL_MUTUAL";
    case ServerTlsMode::kIstioMutual:
      return "ISTIO_MUTUAL";
    case ServerTlsMode::kAutoPassthrough:
      return "AUTO_PASSTHROUGH";
  }
  return "?";
}

Result<std::unique_ptr<ServerEntry>> BuildEntry(const ServerSpec& spec, CertStore& store,
                                                const MeshIdentity* mesh,
                                                std::vector<std::string>& warnings) {
  const routing::ServerTls& tls = spec.tls;
  const std::string where = "server \"" + spec.name + "\"";
  auto fail = [&](const std::string& why) { return MakeError(where + ": " + why); };
  auto entry = std::make_unique<ServerEntry>();
  entry->name = spec.name;
  entry->mode = tls.mode;

  // --- mode and credential sources
  std::vector<routing::CertificateFiles> cert_files = tls.certificates;
  std::string ca_file = tls.ca_certificates, crl_file = tls.ca_crl;
  switch (tls.mode) {
    case ServerTlsMode::kPassthrough:
    case ServerTlsMode::kAutoPassthrough:
      return fail(std::string(ModeName(tls.mode)) + " does not terminate TLS");
    case ServerTlsMode::kIstioMutual:
      if (!tls.certificates.empty() || !tls.credential_name.empty() ||
          !tls.ca_certificates.empty() || !tls.ca_crl.empty() || !tls.subject_alt_names.empty() ||
          !tls.verify_certificate_spki.empty() || !tls.verify_certificate_hash.empty())
        return fail(
            "ISTIO_MUTUAL takes its certificates from the mesh; other TLS fields are errors");
      if (mesh == nullptr || !mesh->svid || !mesh->trust_bundle)
        return fail("ISTIO_MUTUAL needs the gateway's mesh identity ([mesh] and its CA)");
      entry->certs.push_back(mesh->svid);
      entry->trust = mesh->trust_bundle;
      entry->mesh_trust_domain = mesh->trust_domain;
      break;
    default:
      if (!tls.credential_name.empty()) {
        if (!tls.certificates.empty())
          return fail("credential_name and server_certificate/private_key are exclusive");
        const NamedCredential* cred = store.FindNamedCredential(tls.credential_name);
        if (cred == nullptr) return fail("unknown credential_name \"" + tls.credential_name + "\"");
        cert_files = cred->certificates;
        if (ca_file.empty()) ca_file = cred->ca_certificates;
        if (crl_file.empty()) crl_file = cred->ca_crl;
      }
      if (cert_files.empty()) return fail("needs a server certificate and private key");
      if (cert_files.size() > 2) return fail("at most two certificates (one RSA, one ECDSA)");
      for (const auto& files : cert_files) {
        auto pair = store.KeyPair(files);
        if (!pair.ok()) return fail(pair.error().message);
        entry->certs.push_back(*pair);
      }
      if (tls.mode == ServerTlsMode::kSimple) {
        if (!crl_file.empty()) return fail("ca_crl is not allowed with SIMPLE");
        if (!ca_file.empty())
          warnings.push_back(where + ": ca_certificates is ignored with SIMPLE");
      } else {
        if (ca_file.empty())
          return fail(std::string(ModeName(tls.mode)) + " needs ca_certificates");
        auto trust = store.Trust(ca_file, crl_file);
        if (!trust.ok()) return fail(trust.error().message);
        entry->trust = *trust;
      }
      break;
  }
  if (entry->certs.size() == 2 && entry->certs[0]->is_rsa() == entry->certs[1]->is_rsa())
    return fail("two certificates must be one RSA and one ECDSA");

  // --- client certificate policy
  entry->subject_alt_names = tls.subject_alt_names;
  for (const auto& pin : tls.verify_certificate_spki) {
    auto d = DecodeSpkiPin(pin);
    if (!d.ok()) return fail(d.error().message);
    entry->spki_pins.push_back(std::move(*d));
  }
  for (const auto& pin : tls.verify_certificate_hash) {
    auto d = DecodeHashPin(pin);
    if (!d.ok()) return fail(d.error().message);
    entry->hash_pins.push_back(std::move(*d));
  }
  entry->insecure_skip_verify = tls.insecure_skip_verify;
  if (tls.mode == ServerTlsMode::kSimple &&
      (!entry->subject_alt_names.empty() || !entry->spki_pins.empty() || !entry->hash_pins.empty()))
    warnings.push_back(where +
                       ": subject_alt_names and pins only apply to client certificates "
                       "(MUTUAL, OPTIONAL_MUTUAL)");
  switch (tls.mode) {
    case ServerTlsMode::kMutual:
    case ServerTlsMode::kIstioMutual:
      entry->verify_mode =
          SSL_VERIFY_PEER | (tls.insecure_skip_verify ? 0 : SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
      break;
    case ServerTlsMode::kOptionalMutual:
      entry->verify_mode = SSL_VERIFY_PEER;
      break;
    default:
      entry->verify_mode = SSL_VERIFY_NONE;
  }

  // --- versions and ciphers
  entry->min_version = internal::MinVersion(tls.min_protocol_version);
  entry->max_version = internal::MaxVersion(tls.max_protocol_version);
  if (entry->min_version > entry->max_version)
    return fail("min_protocol_version is above max_protocol_version");
  if (entry->min_version < TLS1_2_VERSION)
    warnings.push_back(where + ": TLS 1.0/1.1 enabled; clients can negotiate obsolete protocols");
  auto ciphers = internal::ResolveCipherSettings(tls.cipher_suites, tls.ecdh_curves,
                                                 entry->min_version, where, warnings);
  if (!ciphers.ok()) return fail(ciphers.error().message);
  entry->ciphers = std::move(*ciphers);

  // --- the SSL_CTX
  ERR_clear_error();
  entry->ctx.reset(SSL_CTX_new(TLS_server_method()));
  if (!entry->ctx) return fail(OpenSslError("SSL_CTX_new").message);
  SSL_CTX* ctx = entry->ctx.get();
  if (auto s = internal::ApplyCipherSettings(ctx, entry->ciphers, entry->min_version,
                                             entry->max_version);
      !s.ok())
    return fail(s.error().message);
  for (const auto& cert : entry->certs) {
    if (SSL_CTX_use_cert_and_key(ctx, cert->leaf(), cert->key(), cert->intermediates(), 1) != 1)
      return fail(OpenSslError("loading certificate " + cert->source()).message);
  }
  if (entry->trust) {
    if (SSL_CTX_set1_verify_cert_store(ctx, entry->trust->store()) != 1)
      return fail(OpenSslError("CA store").message);
    SSL_CTX_set_client_CA_list(ctx, entry->trust->NewClientCaNames());
  }
  SSL_CTX_set_verify(ctx, entry->verify_mode, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, OnVerifyClient, entry.get());
  SSL_CTX_set_alpn_select_cb(ctx, OnAlpn, nullptr);
  SSL_CTX_set_tlsext_servername_callback(ctx, OnServerName);

  // Session id context: binds sessions and tickets to this server and its
  // exact verification policy, so a reloaded CA or changed pins never resume
  // a session verified under the old rules.
  std::string sid_input = spec.name + '\n' + std::string(ModeName(tls.mode)) + '\n';
  for (const auto& c : entry->certs)
    sid_input += c->info().sha256_hex + '\n';
  sid_input += (entry->trust ? entry->trust->fingerprint() : "-") + '\n';
  for (const auto& san : entry->subject_alt_names)
    sid_input += "san:" + san + '\n';
  for (const auto& p : entry->spki_pins)
    sid_input += "spki:" + HexLower(p) + '\n';
  for (const auto& p : entry->hash_pins)
    sid_input += "hash:" + HexLower(p) + '\n';
  sid_input += entry->insecure_skip_verify ? "skip" : "verify";
  const auto sid = Sha256({reinterpret_cast<const uint8_t*>(sid_input.data()), sid_input.size()});
  std::copy(sid.begin(), sid.end(), entry->sid_ctx.begin());
  if (SSL_CTX_set_session_id_context(ctx, entry->sid_ctx.data(), entry->sid_ctx.size()) != 1)
    return fail(OpenSslError("session id context").message);
  return entry;
}

}  // namespace

// ---------------------------------------------------------- ServerContext ---

ServerContext::~ServerContext() = default;

Result<std::shared_ptr<const ServerContext>> ServerContext::Build(std::vector<ServerSpec> servers,
                                                                  ListenerTlsOptions options,
                                                                  CertStore& store,
                                                                  const MeshIdentity* mesh) {
  if (servers.empty()) return MakeError("a TLS listener needs at least one server");
  if (options.default_server && *options.default_server >= servers.size())
    return MakeError("default_server index out of range");
  std::shared_ptr<ServerContext> out(new ServerContext());
  out->impl_ = std::make_unique<Impl>();
  Impl& impl = *out->impl_;

  auto alpn = internal::AlpnWire(options.alpn);
  if (!alpn.ok()) return alpn.error();
  impl.alpn_wire = std::move(*alpn);
  impl.alpn_required = options.alpn_required;
  impl.ticket_keys = options.ticket_keys;

  for (size_t i = 0; i < servers.size(); ++i) {
    auto entry = BuildEntry(servers[i], store, mesh, out->warnings_);
    if (!entry.ok()) return entry.error();
    for (const auto& host : servers[i].hosts) {
      if (auto s = out->selector_.Add(host, static_cast<uint32_t>(i)); !s.ok())
        return MakeError("server \"" + servers[i].name + "\": " + s.error().message);
    }
    impl.entries.push_back(std::move(*entry));
  }
  out->selector_.SetDefault(options.default_server);
  impl.selector = &out->selector_;

  // The listener context every connection starts on; it holds what must be
  // shared by all servers (ticket keys, session cache, options) and is
  // switched to the selected server's context in OnClientHello.
  ERR_clear_error();
  impl.dispatch.reset(SSL_CTX_new(TLS_server_method()));
  if (!impl.dispatch) return OpenSslError("SSL_CTX_new");
  SSL_CTX* d = impl.dispatch.get();
  uint64_t ssl_options = SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                         SSL_OP_PRIORITIZE_CHACHA | SSL_OP_NO_COMPRESSION;
  if (!options.ticket_keys) ssl_options |= SSL_OP_NO_TICKET;
  SSL_CTX_set_options(d, ssl_options);
  SSL_CTX_set_mode(d, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_num_tickets(d, 1);
  const ServerEntry& first = *impl.entries[0];
  if (auto s =
          internal::ApplyCipherSettings(d, first.ciphers, first.min_version, first.max_version);
      !s.ok())
    return s.error();
  for (auto& e : impl.entries) {
    e->differs_from_dispatch = e->min_version != first.min_version ||
                               e->max_version != first.max_version ||
                               e->ciphers.cipher_list != first.ciphers.cipher_list ||
                               e->ciphers.ciphersuites != first.ciphers.ciphersuites ||
                               e->ciphers.groups != first.ciphers.groups ||
                               e->ciphers.security_level != first.ciphers.security_level;
  }
  SSL_CTX_set_client_hello_cb(d, OnClientHello, &impl);
  SSL_CTX_set_tlsext_servername_callback(d, OnServerName);
  SSL_CTX_set_session_id_context(d, reinterpret_cast<const unsigned char*>(kDispatchSidCtx.data()),
                                 kDispatchSidCtx.size());
  SSL_CTX_set_timeout(d, static_cast<long>(options.session_timeout.count()));
  if (options.ticket_keys) {
    SSL_CTX_set_tlsext_ticket_key_evp_cb(d, OnTicketKey);
    SSL_CTX_set_session_ticket_cb(d, nullptr, OnDecryptTicket, nullptr);
  }
  if (options.session_cache_size > 0) {
    // OpenSSL's cache on the listener context: every server shares it, and
    // the per-server session id context keeps their sessions apart.
    SSL_CTX_set_session_cache_mode(d, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(d, static_cast<long>(options.session_cache_size));
  } else {
    SSL_CTX_set_session_cache_mode(d, SSL_SESS_CACHE_OFF);
  }
  out->specs_ = std::move(servers);
  out->options_ = std::move(options);
  return std::shared_ptr<const ServerContext>(std::move(out));
}

Result<std::shared_ptr<const ServerContext>> ServerContext::Rebuild(
    CertStore& store, const MeshIdentity* mesh) const {
  return Build(specs_, options_, store, mesh);
}

size_t ServerContext::server_count() const {
  return specs_.size();
}

const ServerSpec& ServerContext::server(size_t index) const {
  assert(index < specs_.size());
  return specs_[index];
}

std::vector<CertInfo> ServerContext::ServerCertificates(size_t index) const {
  std::vector<CertInfo> out;
  assert(index < impl_->entries.size());
  for (const auto& c : impl_->entries[index]->certs)
    out.push_back(c->info());
  return out;
}

ServerContext::SessionCacheStats ServerContext::session_cache_stats() const {
  SSL_CTX* d = impl_->dispatch.get();
  return {static_cast<size_t>(SSL_CTX_sess_number(d)), static_cast<uint64_t>(SSL_CTX_sess_hits(d)),
          static_cast<uint64_t>(SSL_CTX_sess_misses(d))};
}

SSL* ServerContext::NewSsl(TlsSession* session) const {
  SSL* ssl = SSL_new(impl_->dispatch.get());
  if (ssl == nullptr) return nullptr;
  SSL_set_app_data(ssl, session);
  SSL_set_accept_state(ssl);
  return ssl;
}

// ------------------------------------------------------------------ XFCC ---

namespace {

bool NeedsQuotes(std::string_view v) {
  return v.find_first_of(",;=\"") != std::string_view::npos;
}

// Control bytes and non-ASCII in SAN values are percent-encoded: a client
// certificate must never be able to inject into the header.
std::string SafeValue(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (c < 0x20 || c >= 0x7f || c == '%') {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string Quoted(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string UrlEncode(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace

std::string BuildXfcc(const TlsSession& session, const XfccOptions& options) {
  const CertInfo* peer = session.peer_certificate();
  if (peer == nullptr) return {};
  std::string out;
  auto add = [&](std::string_view key, const std::string& value, bool always_quote) {
    if (!out.empty()) out.push_back(';');
    out.append(key).push_back('=');
    out += (always_quote || NeedsQuotes(value)) ? Quoted(value) : value;
  };
  for (const auto& uri : session.LocalUriSans())
    add("By", SafeValue(uri), false);
  add("Hash", peer->sha256_hex, false);
  if (options.cert) add("Cert", UrlEncode(session.PeerCertificatePem()), true);
  if (options.chain) add("Chain", UrlEncode(session.PeerChainPem()), true);
  if (options.subject) add("Subject", SafeValue(peer->subject), true);
  if (options.uri) {
    if (peer->uri_sans.empty()) add("URI", "", false);
    for (const auto& uri : peer->uri_sans)
      add("URI", SafeValue(uri), false);
  }
  if (options.dns) {
    for (const auto& dns : peer->dns_sans)
      add("DNS", SafeValue(dns), false);
  }
  return out;
}

}  // namespace gh::tls
