// Certificates, keys and trust bundles as ready, immutable OpenSSL objects,
// and the store that loads them through an injected file reader and reloads
// them when their files change (the data plane watches the files; tls/ opens
// nothing on its own).
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "routing/model.h"
#include "tls/cert_info.h"
#include "tls/ossl_util.h"

namespace gh::tls {

// Returns a file's whole contents. Injected so tls/ can be tested in memory
// and never opens files behind the caller's back.
using FileReader = std::function<Result<std::string>(const std::string& path)>;
// A FileReader over the real filesystem, for the composition root and tools.
FileReader DiskFileReader();

// A leaf certificate, its intermediates and the matching private key.
class CertifiedKey {
 public:
  // `chain_pem`: leaf first, then intermediates. Fails when the key does not
  // match the leaf or either PEM is malformed. `source` names where it came
  // from, for reports ("/etc/gatehouse/tls.crt").
  static Result<std::shared_ptr<const CertifiedKey>> FromPem(std::string_view chain_pem,
                                                             std::string_view key_pem,
                                                             std::string source = {});
  static Result<std::shared_ptr<const CertifiedKey>> FromObjects(X509Ptr leaf,
                                                                 std::vector<X509Ptr> chain,
                                                                 EvpPkeyPtr key,
                                                                 std::string source = {});
  ~CertifiedKey();
  CertifiedKey(const CertifiedKey&) = delete;
  CertifiedKey& operator=(const CertifiedKey&) = delete;

  X509* leaf() const { return leaf_.get(); }
  EVP_PKEY* key() const { return key_.get(); }
  STACK_OF(X509) * intermediates() const { return chain_.get(); }  // never null
  const CertInfo& info() const { return info_; }
  const std::string& source() const { return source_; }
  bool is_rsa() const;
  bool is_ecdsa() const;

  std::string ChainPem() const;  // leaf + intermediates
  std::string KeyPem() const;    // unencrypted PKCS#8

 private:
  CertifiedKey() = default;
  X509Ptr leaf_;
  X509StackPtr chain_;
  EvpPkeyPtr key_;
  CertInfo info_;
  std::string source_;
};

// CA certificates (and optional CRLs) to verify peers against.
class TrustBundle {
 public:
  // `crl_pem` may be empty. With CRLs, the peer's leaf certificate is checked
  // for revocation (X509_V_FLAG_CRL_CHECK; intermediates are not).
  static Result<std::shared_ptr<const TrustBundle>> FromPem(std::string_view ca_pem,
                                                            std::string_view crl_pem = {},
                                                            std::string source = {});
  // The operating system's roots (OpenSSL default paths), for upstream SIMPLE
  // without ca_certificates.
  static Result<std::shared_ptr<const TrustBundle>> SystemRoots();
  ~TrustBundle();
  TrustBundle(const TrustBundle&) = delete;
  TrustBundle& operator=(const TrustBundle&) = delete;

  // Shared by every SSL_CTX that uses the bundle (X509_STORE is thread-safe
  // for verification); callers take their own reference.
  X509_STORE* store() const { return store_.get(); }
  const std::vector<CertInfo>& certificates() const { return certs_; }
  bool has_crl() const { return has_crl_; }
  bool is_system() const { return system_; }
  // SHA-256 over the CA and CRL contents (hex), to tie sessions to a bundle.
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& source() const { return source_; }
  // The CA subjects for a CertificateRequest; the caller owns the stack.
  STACK_OF(X509_NAME) * NewClientCaNames() const;

 private:
  TrustBundle() = default;
  X509StorePtr store_;
  std::vector<X509Ptr> ca_objects_;
  std::vector<CertInfo> certs_;
  std::string fingerprint_, source_;
  bool has_crl_ = false, system_ = false;
};

// The gateway's own mesh identity (its X.509-SVID, used for ISTIO_MUTUAL on
// both sides) and the mesh trust bundle. Replace it (and rebuild the
// contexts) when the SVID is renewed or the bundle changes.
struct MeshIdentity {
  std::string trust_domain;
  std::shared_ptr<const CertifiedKey> svid;
  std::shared_ptr<const TrustBundle> trust_bundle;
};

// A named credential (Istio credentialName): the Gatehouse equivalent of a
// Kubernetes secret, declared in config and resolved here.
struct NamedCredential {
  std::vector<routing::CertificateFiles> certificates;  // one or two (RSA + ECDSA)
  std::string ca_certificates, ca_crl;
};

// Loads key pairs and trust bundles by path and keeps them for reuse and
// reload. Use from one thread (the config/main thread); the objects it hands
// out are immutable and may be shared with every worker.
class CertStore {
 public:
  explicit CertStore(FileReader reader);

  void SetNamedCredential(std::string name, NamedCredential credential);
  const NamedCredential* FindNamedCredential(std::string_view name) const;

  // Loaded on first use, then served from the store until Reload() changes it.
  Result<std::shared_ptr<const CertifiedKey>> KeyPair(const routing::CertificateFiles& files);
  // `crl_path` may be empty.
  Result<std::shared_ptr<const TrustBundle>> Trust(const std::string& ca_path,
                                                   const std::string& crl_path);

  struct ReloadReport {
    std::vector<std::string> changed;  // paths whose objects were replaced
    std::vector<std::string> errors;   // "path: reason"; the previous object stays
    bool any_changed() const { return !changed.empty(); }
  };
  // Re-reads every file in use. An entry whose new contents are broken (bad
  // PEM, key not matching the certificate, unreadable) keeps its previous
  // object and is reported. Contexts built before stay valid either way;
  // rebuild them (ServerContext::Rebuild, ClientContext::Rebuild) to pick up
  // the changes for new handshakes.
  ReloadReport Reload();

  struct Entry {
    std::string path;  // certificate chain or CA file
    CertInfo info;     // leaf (or first CA) certificate
  };
  // Every loaded certificate, for /certs and the seconds-to-expiry metric.
  std::vector<Entry> Inventory() const;

 private:
  struct PairEntry {
    std::string cert_bytes, key_bytes;
    std::shared_ptr<const CertifiedKey> object;
  };
  struct TrustEntry {
    std::string ca_bytes, crl_bytes;
    std::shared_ptr<const TrustBundle> object;
  };
  FileReader reader_;
  std::map<std::string, NamedCredential, std::less<>> named_;
  std::map<std::pair<std::string, std::string>, PairEntry> pairs_;
  std::map<std::pair<std::string, std::string>, TrustEntry> trusts_;
};

}  // namespace gh::tls
