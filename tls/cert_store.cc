#include "tls/cert_store.h"

#include <openssl/err.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace gh::tls {

FileReader DiskFileReader() {
  return [](const std::string& path) -> Result<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return MakeError(path + ": " + std::strerror(errno));
    std::ostringstream os;
    os << in.rdbuf();
    if (in.bad()) return MakeError(path + ": read error");
    return os.str();
  };
}

// ------------------------------------------------------------ CertifiedKey ---

CertifiedKey::~CertifiedKey() = default;

Result<std::shared_ptr<const CertifiedKey>> CertifiedKey::FromPem(std::string_view chain_pem,
                                                                  std::string_view key_pem,
                                                                  std::string source) {
  auto certs = ParsePemCertificates(chain_pem);
  if (!certs.ok()) return MakeError("certificate chain: " + certs.error().message);
  auto key = ParsePemPrivateKey(key_pem);
  if (!key.ok()) return MakeError("private key: " + key.error().message);
  X509Ptr leaf = std::move(certs->front());
  std::vector<X509Ptr> rest;
  for (size_t i = 1; i < certs->size(); ++i)
    rest.push_back(std::move((*certs)[i]));
  return FromObjects(std::move(leaf), std::move(rest), std::move(*key), std::move(source));
}

Result<std::shared_ptr<const CertifiedKey>> CertifiedKey::FromObjects(X509Ptr leaf,
                                                                      std::vector<X509Ptr> chain,
                                                                      EvpPkeyPtr key,
                                                                      std::string source) {
  if (!leaf || !key) return MakeError("missing certificate or key");
  ERR_clear_error();
  if (X509_check_private_key(leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    return MakeError("private key does not match the certificate");
  }
  std::shared_ptr<CertifiedKey> out(new CertifiedKey());
  out->chain_.reset(sk_X509_new_null());
  if (!out->chain_) return MakeError("out of memory");
  for (auto& c : chain) {
    if (sk_X509_push(out->chain_.get(), c.get()) == 0) return MakeError("out of memory");
    c.release();
  }
  out->info_ = CertInfoFromX509(leaf.get());
  out->leaf_ = std::move(leaf);
  out->key_ = std::move(key);
  out->source_ = std::move(source);
  return std::shared_ptr<const CertifiedKey>(std::move(out));
}

bool CertifiedKey::is_rsa() const {
  return EVP_PKEY_get_base_id(key_.get()) == EVP_PKEY_RSA;
}

bool CertifiedKey::is_ecdsa() const {
  return EVP_PKEY_get_base_id(key_.get()) == EVP_PKEY_EC;
}

std::string CertifiedKey::ChainPem() const {
  std::string out = X509ToPem(leaf_.get());
  for (int i = 0; i < sk_X509_num(chain_.get()); ++i)
    out += X509ToPem(sk_X509_value(chain_.get(), i));
  return out;
}

std::string CertifiedKey::KeyPem() const {
  return PrivateKeyToPem(key_.get());
}

// ------------------------------------------------------------- TrustBundle ---

TrustBundle::~TrustBundle() = default;

Result<std::shared_ptr<const TrustBundle>> TrustBundle::FromPem(std::string_view ca_pem,
                                                                std::string_view crl_pem,
                                                                std::string source) {
  auto certs = ParsePemCertificates(ca_pem);
  if (!certs.ok()) return MakeError("CA certificates: " + certs.error().message);
  std::shared_ptr<TrustBundle> out(new TrustBundle());
  out->store_.reset(X509_STORE_new());
  if (!out->store_) return MakeError("out of memory");
  for (auto& c : *certs) {
    if (X509_STORE_add_cert(out->store_.get(), c.get()) != 1) {
      // A duplicate CA in the bundle is harmless; anything else is not.
      const unsigned long err = ERR_peek_last_error();
      if (ERR_GET_REASON(err) != X509_R_CERT_ALREADY_IN_HASH_TABLE)
        return OpenSslError("adding a CA certificate");
      ERR_clear_error();
    }
    out->certs_.push_back(CertInfoFromX509(c.get()));
    out->ca_objects_.push_back(std::move(c));
  }
  if (!crl_pem.empty()) {
    auto crls = ParsePemCrls(crl_pem);
    if (!crls.ok()) return MakeError("CRL: " + crls.error().message);
    for (auto& crl : *crls) {
      if (X509_STORE_add_crl(out->store_.get(), crl.get()) != 1)
        return OpenSslError("adding a CRL");
    }
    X509_STORE_set_flags(out->store_.get(), X509_V_FLAG_CRL_CHECK);
    out->has_crl_ = true;
  }
  std::string all(ca_pem);
  all.append(crl_pem);
  out->fingerprint_ = HexLower(Sha256({reinterpret_cast<const uint8_t*>(all.data()), all.size()}));
  out->source_ = std::move(source);
  return std::shared_ptr<const TrustBundle>(std::move(out));
}

Result<std::shared_ptr<const TrustBundle>> TrustBundle::SystemRoots() {
  std::shared_ptr<TrustBundle> out(new TrustBundle());
  out->store_.reset(X509_STORE_new());
  if (!out->store_) return MakeError("out of memory");
  if (X509_STORE_set_default_paths(out->store_.get()) != 1)
    return OpenSslError("loading the system CA paths");
  out->system_ = true;
  out->fingerprint_ = "system";
  out->source_ = "system";
  return std::shared_ptr<const TrustBundle>(std::move(out));
}

STACK_OF(X509_NAME) * TrustBundle::NewClientCaNames() const {
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  if (names == nullptr) return nullptr;
  for (const auto& c : ca_objects_) {
    X509_NAME* name = X509_NAME_dup(X509_get_subject_name(c.get()));
    if (name == nullptr || sk_X509_NAME_push(names, name) == 0) {
      X509_NAME_free(name);
      sk_X509_NAME_pop_free(names, X509_NAME_free);
      return nullptr;
    }
  }
  return names;
}

// --------------------------------------------------------------- CertStore ---

CertStore::CertStore(FileReader reader) : reader_(std::move(reader)) {}

void CertStore::SetNamedCredential(std::string name, NamedCredential credential) {
  named_[std::move(name)] = std::move(credential);
}

const NamedCredential* CertStore::FindNamedCredential(std::string_view name) const {
  auto it = named_.find(name);
  return it == named_.end() ? nullptr : &it->second;
}

Result<std::shared_ptr<const CertifiedKey>> CertStore::KeyPair(
    const routing::CertificateFiles& files) {
  auto key = std::make_pair(files.certificate_chain, files.private_key);
  if (auto it = pairs_.find(key); it != pairs_.end()) return it->second.object;
  if (files.certificate_chain.empty() || files.private_key.empty())
    return MakeError("a certificate needs both a certificate chain file and a private key file");
  auto cert = reader_(files.certificate_chain);
  if (!cert.ok()) return cert.error();
  auto pkey = reader_(files.private_key);
  if (!pkey.ok()) return pkey.error();
  auto object = CertifiedKey::FromPem(*cert, *pkey, files.certificate_chain);
  if (!object.ok())
    return MakeError(files.certificate_chain + " + " + files.private_key + ": " +
                     object.error().message);
  pairs_[key] = PairEntry{std::move(*cert), std::move(*pkey), *object};
  return *object;
}

Result<std::shared_ptr<const TrustBundle>> CertStore::Trust(const std::string& ca_path,
                                                            const std::string& crl_path) {
  auto key = std::make_pair(ca_path, crl_path);
  if (auto it = trusts_.find(key); it != trusts_.end()) return it->second.object;
  if (ca_path.empty()) return MakeError("a CA certificate file is required");
  auto ca = reader_(ca_path);
  if (!ca.ok()) return ca.error();
  std::string crl;
  if (!crl_path.empty()) {
    auto c = reader_(crl_path);
    if (!c.ok()) return c.error();
    crl = std::move(*c);
  }
  auto object = TrustBundle::FromPem(*ca, crl, ca_path);
  if (!object.ok()) return MakeError(ca_path + ": " + object.error().message);
  trusts_[key] = TrustEntry{std::move(*ca), std::move(crl), *object};
  return *object;
}

CertStore::ReloadReport CertStore::Reload() {
  ReloadReport report;
  for (auto& [paths, entry] : pairs_) {
    const auto& [cert_path, key_path] = paths;
    auto cert = reader_(cert_path);
    auto key = cert.ok() ? reader_(key_path) : Result<std::string>(cert.error());
    if (!cert.ok() || !key.ok()) {
      report.errors.push_back(cert_path + ": " + (!cert.ok() ? cert : key).error().message);
      continue;
    }
    if (*cert == entry.cert_bytes && *key == entry.key_bytes) continue;
    auto object = CertifiedKey::FromPem(*cert, *key, cert_path);
    if (!object.ok()) {
      report.errors.push_back(cert_path + " + " + key_path + ": " + object.error().message +
                              " (keeping the previous certificate)");
      continue;
    }
    entry = PairEntry{std::move(*cert), std::move(*key), std::move(*object)};
    report.changed.push_back(cert_path);
  }
  for (auto& [paths, entry] : trusts_) {
    const auto& [ca_path, crl_path] = paths;
    auto ca = reader_(ca_path);
    if (!ca.ok()) {
      report.errors.push_back(ca.error().message);
      continue;
    }
    std::string crl;
    if (!crl_path.empty()) {
      auto c = reader_(crl_path);
      if (!c.ok()) {
        report.errors.push_back(c.error().message);
        continue;
      }
      crl = std::move(*c);
    }
    if (*ca == entry.ca_bytes && crl == entry.crl_bytes) continue;
    auto object = TrustBundle::FromPem(*ca, crl, ca_path);
    if (!object.ok()) {
      report.errors.push_back(ca_path + ": " + object.error().message +
                              " (keeping the previous trust bundle)");
      continue;
    }
    entry = TrustEntry{std::move(*ca), std::move(crl), std::move(*object)};
    report.changed.push_back(ca_path);
  }
  return report;
}

std::vector<CertStore::Entry> CertStore::Inventory() const {
  std::vector<Entry> out;
  for (const auto& [paths, entry] : pairs_)
    out.push_back(Entry{paths.first, entry.object->info()});
  for (const auto& [paths, entry] : trusts_)
    for (const auto& info : entry.object->certificates())
      out.push_back(Entry{paths.first, info});
  return out;
}

}  // namespace gh::tls
