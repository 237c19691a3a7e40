// The mesh CA library: a self-signed root, X.509-SVIDs for SPIFFE
// identities, CRLs, the renewal policy, and the `gatehouse ca` commands.
//
// Time is always passed in (`now`); serial numbers and keys come from
// OpenSSL's CSPRNG (never from gh::Random, which is not for secrets).
#pragma once

#include <chrono>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/random.h"
#include "base/result.h"
#include "tls/cert_info.h"
#include "tls/cert_store.h"
#include "tls/ossl_util.h"
#include "tls/spiffe.h"

namespace gh::tls {

inline constexpr std::chrono::seconds kRootValidity = std::chrono::days(3650);  // 10 years
inline constexpr std::chrono::seconds kDefaultSvidTtl = std::chrono::hours(24);
inline constexpr std::chrono::seconds kMaxSvidTtl = std::chrono::days(90);
// Issued certificates start this much before `now`, so peers whose clocks
// run slightly behind accept a freshly rotated certificate.
inline constexpr std::chrono::seconds kBackdate = std::chrono::seconds(60);

enum class KeyType { kEcdsaP256, kEcdsaP384, kRsa2048, kRsa3072 };
Result<EvpPkeyPtr> GenerateKey(KeyType type);

// ------------------------------------------------------------------ root ---

struct RootOptions {
  std::string trust_domain = "cluster.local";
  std::chrono::seconds validity = kRootValidity;
  std::string organization = "gatehouse";
};

// ECDSA P-256 self-signed root: subject O=<organization>, CN=<trust domain>;
// basicConstraints critical CA:TRUE; keyUsage critical keyCertSign, cRLSign;
// SKI/AKI; URI SAN spiffe://<trust domain>; random 128-bit serial.
Result<std::shared_ptr<const CertifiedKey>> CreateRootCa(const RootOptions& options,
                                                         UnixSeconds now);

// The trust domain a CA certificate speaks for: its spiffe://<td> URI SAN.
std::optional<std::string> CaTrustDomain(const CertifiedKey& ca);

// ------------------------------------------------------------------ SVIDs ---

struct SvidRequest {
  // PEM PKCS#10 request. Only its public key is used (after checking the
  // request's signature): the subject and any SANs it asks for are ignored,
  // the identity always comes from the caller. Empty: a fresh P-256 key is
  // generated and returned.
  std::string csr_pem;
  // <= 0: kDefaultSvidTtl. Above kMaxSvidTtl: an error. Never beyond the
  // CA's own notAfter (clamped).
  std::chrono::seconds ttl{0};
};

struct IssuedSvid {
  std::string cert_chain_pem;  // leaf, then intermediates (the root is separate)
  std::string key_pem;         // only when the key was generated here
  std::string root_cert_pem;
  CertInfo info;
};

// An X.509-SVID for `id` (authenticated by the caller, never taken from a
// CSR): exactly one URI SAN (the SPIFFE ID); basicConstraints critical
// CA:FALSE; keyUsage critical digitalSignature (+keyEncipherment for RSA
// keys); EKU serverAuth + clientAuth; SKI/AKI; random 128-bit serial.
// `id.trust_domain` must be the CA's trust domain.
Result<IssuedSvid> IssueSvid(const CertifiedKey& ca, const SpiffeId& id, const SvidRequest& request,
                             UnixSeconds now);

// The gateway's own identity from the embedded CA: a fresh SVID for `id`
// (key generated here) and the CA's root as the trust bundle. Renew at
// NextRenewalTime(svid->info().not_before, ...not_after, rng) and rebuild
// the contexts with the new identity; connections keep the old one.
Result<MeshIdentity> IssueMeshIdentity(const CertifiedKey& ca, const SpiffeId& id,
                                       std::chrono::seconds ttl, UnixSeconds now);

// ------------------------------------------------- general issuance (dev) ---

// For test fixtures, intermediates and development certificates. Mesh
// identities must go through IssueSvid.
struct CertificateSpec {
  std::string common_name, organization;
  std::vector<std::string> dns_names, uris, ips;
  std::chrono::seconds ttl = kDefaultSvidTtl;
  std::optional<UnixSeconds> not_before;  // default: now - kBackdate
  bool is_ca = false;                     // an intermediate CA (pathlen 0)
  bool server_auth = true, client_auth = true;
};

// Signs `subject_key`'s public key with `issuer` (or self-signs when
// `issuer` is null, with `subject_key` as the signer).
Result<X509Ptr> SignCertificate(const CertifiedKey* issuer, EVP_PKEY* subject_key,
                                const CertificateSpec& spec, UnixSeconds now);
// SignCertificate with a fresh key of `key_type`, returned as a ready pair
// whose chain carries the issuer (unless the issuer is a self-signed root)
// and the issuer's intermediates.
Result<std::shared_ptr<const CertifiedKey>> IssueWithNewKey(const CertifiedKey& issuer,
                                                            const CertificateSpec& spec,
                                                            KeyType key_type, UnixSeconds now);

// A PKCS#10 request for `key` (signed with it). `uri_san` optional.
Result<std::string> CreateCsrPem(EVP_PKEY* key, std::string_view common_name,
                                 std::string_view uri_san = {});

// A CRL signed by `ca` revoking the given serials (lowercase or uppercase
// hex, as in CertInfo::serial_hex).
Result<std::string> CreateCrlPem(const CertifiedKey& ca, std::span<const std::string> serial_hex,
                                 UnixSeconds now,
                                 std::chrono::seconds next_update = std::chrono::hours(24));

// --------------------------------------------------------------- rotation ---

// When to renew a certificate valid over [not_before, not_after]: at 50 % of
// its lifetime, moved by a uniform jitter of up to +-jitter_fraction of the
// lifetime (Istio: SECRET_GRACE_PERIOD_RATIO 0.5 with 1 % jitter).
UnixSeconds NextRenewalTime(UnixSeconds not_before, UnixSeconds not_after, Random& rng,
                            double jitter_fraction = 0.01);

// ---------------------------------------------------------------- command ---

// `gatehouse ca init --trust-domain D --out DIR`
// `gatehouse ca issue --ca-dir DIR --spiffe spiffe://D/ns/N/sa/S [--csr FILE]
//                     [--ttl 24h] --out DIR`
// argv holds the words after the program name; a leading "ca" is skipped.
// Returns the process exit code: 0 done, 1 failed, 2 usage error.
int RunCaCommand(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace gh::tls
