#include "tls/ca.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>

namespace gh::tls {
namespace {

Result<Asn1IntegerPtr> RandomSerial() {
  uint8_t bytes[16];
  do {
    if (RAND_bytes(bytes, sizeof bytes) != 1) return OpenSslError("RAND_bytes");
  } while (std::all_of(std::begin(bytes), std::end(bytes), [](uint8_t b) { return b == 0; }));
  BignumPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn) return OpenSslError("serial number");
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial) return OpenSslError("serial number");
  return serial;
}

bool AddNameEntry(X509_NAME* name, const char* field, const std::string& value) {
  if (value.empty()) return true;
  return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0) == 1;
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return OpenSslError("adding extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
  return Status::Ok();
}

// Built by hand rather than through the config parser, so a name can never
// smuggle extra entries through a comma.
Result<GeneralNamesPtr> BuildSans(const std::vector<std::string>& dns,
                                  const std::vector<std::string>& uris,
                                  const std::vector<std::string>& ips) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return MakeError("out of memory");
  auto push_string = [&](int type, const std::string& value) -> Status {
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    GENERAL_NAME* gen = GENERAL_NAME_new();
    if (s == nullptr || gen == nullptr ||
        ASN1_STRING_set(s, value.data(), static_cast<int>(value.size())) != 1) {
      ASN1_IA5STRING_free(s);
      GENERAL_NAME_free(gen);
      return MakeError("out of memory");
    }
    GENERAL_NAME_set0_value(gen, type, s);
    if (sk_GENERAL_NAME_push(names.get(), gen) == 0) {
      GENERAL_NAME_free(gen);
      return MakeError("out of memory");
    }
    return Status::Ok();
  };
  for (const auto& d : dns)
    if (auto s = push_string(GEN_DNS, d); !s.ok()) return s.error();
  for (const auto& u : uris)
    if (auto s = push_string(GEN_URI, u); !s.ok()) return s.error();
  for (const auto& ip : ips) {
    ASN1_OCTET_STRING* addr = a2i_IPADDRESS(ip.c_str());
    if (addr == nullptr) {
      ERR_clear_error();
      return MakeError("invalid IP address SAN \"" + ip + "\"");
    }
    GENERAL_NAME* gen = GENERAL_NAME_new();
    if (gen == nullptr) {
      ASN1_OCTET_STRING_free(addr);
      return MakeError("out of memory");
    }
    GENERAL_NAME_set0_value(gen, GEN_IPADD, addr);
    if (sk_GENERAL_NAME_push(names.get(), gen) == 0) {
      GENERAL_NAME_free(gen);
      return MakeError("out of memory");
    }
  }
  return names;
}

bool IsSelfSigned(X509* cert) {
  return (X509_get_extension_flags(cert) & EXFLAG_SS) != 0;
}

// The issuer's chain as a leaf issued by it should carry it: the issuer
// itself unless it is a self-signed root, then its intermediates.
std::vector<X509*> ChainAbove(const CertifiedKey& issuer) {
  std::vector<X509*> out;
  if (!IsSelfSigned(issuer.leaf())) out.push_back(issuer.leaf());
  STACK_OF(X509)* inter = issuer.intermediates();
  for (int i = 0; i < sk_X509_num(inter); ++i) {
    X509* c = sk_X509_value(inter, i);
    if (!IsSelfSigned(c)) out.push_back(c);
  }
  return out;
}

X509* RootOf(const CertifiedKey& ca) {
  if (IsSelfSigned(ca.leaf())) return ca.leaf();
  STACK_OF(X509)* inter = ca.intermediates();
  const int n = sk_X509_num(inter);
  return n > 0 ? sk_X509_value(inter, n - 1) : ca.leaf();
}

Result<EvpPkeyPtr> PublicKeyFromCsr(std::string_view csr_pem) {
  BioPtr bio(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
  if (!bio) return MakeError("out of memory");
  X509ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) return OpenSslError("malformed PEM certificate signing request");
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (pub == nullptr) return OpenSslError("CSR without a public key");
  if (X509_REQ_verify(req.get(), pub) != 1)
    return OpenSslError("CSR signature does not verify (proof of possession failed)");
  const int bits = EVP_PKEY_get_bits(pub);
  switch (EVP_PKEY_get_base_id(pub)) {
    case EVP_PKEY_RSA:
      if (bits < 2048) return MakeError("CSR RSA key shorter than 2048 bits");
      break;
    case EVP_PKEY_EC:
      if (bits != 256 && bits != 384) return MakeError("CSR EC key must be P-256 or P-384");
      break;
    default:
      return MakeError("CSR key must be RSA (>= 2048 bits) or ECDSA P-256/P-384");
  }
  EVP_PKEY_up_ref(pub);
  return EvpPkeyPtr(pub);
}

}  // namespace

Result<EvpPkeyPtr> GenerateKey(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::kEcdsaP256:
      key = EVP_EC_gen("P-256");
      break;
    case KeyType::kEcdsaP384:
      key = EVP_EC_gen("P-384");
      break;
    case KeyType::kRsa2048:
      key = EVP_RSA_gen(2048);
      break;
    case KeyType::kRsa3072:
      key = EVP_RSA_gen(3072);
      break;
  }
  if (key == nullptr) return OpenSslError("key generation");
  return EvpPkeyPtr(key);
}

Result<X509Ptr> SignCertificate(const CertifiedKey* issuer, EVP_PKEY* subject_key,
                                const CertificateSpec& spec, UnixSeconds now) {
  if (subject_key == nullptr) return MakeError("no subject key");
  if (spec.ttl.count() <= 0) return MakeError("certificate lifetime must be positive");
  ERR_clear_error();
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return OpenSslError("X509_new");
  auto serial = RandomSerial();
  if (!serial.ok()) return serial.error();
  X509_set_serialNumber(cert.get(), serial->get());

  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!AddNameEntry(subject, "O", spec.organization) ||
      !AddNameEntry(subject, "CN", spec.common_name))
    return OpenSslError("subject name");
  if (X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer->leaf()) : subject) !=
      1)
    return OpenSslError("issuer name");

  const UnixSeconds not_before = spec.not_before ? *spec.not_before : now - kBackdate;
  UnixSeconds not_after = (spec.not_before ? *spec.not_before : now) + spec.ttl;
  if (issuer) not_after = std::min(not_after, issuer->info().not_after);
  if (not_after <= not_before) return MakeError("the issuer expires before the certificate starts");
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before.time_since_epoch().count()) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after.time_since_epoch().count()))
    return OpenSslError("validity");
  if (X509_set_pubkey(cert.get(), subject_key) != 1) return OpenSslError("public key");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer->leaf() : cert.get(), cert.get(), nullptr, nullptr, 0);
  const bool rsa = EVP_PKEY_get_base_id(subject_key) == EVP_PKEY_RSA;
  std::vector<std::pair<int, std::string>> exts;
  if (spec.is_ca) {
    exts.emplace_back(NID_basic_constraints,
                      issuer ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE");
    exts.emplace_back(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    exts.emplace_back(NID_basic_constraints, "critical,CA:FALSE");
    exts.emplace_back(NID_key_usage, rsa ? "critical,digitalSignature,keyEncipherment"
                                         : "critical,digitalSignature");
    std::string eku;
    if (spec.server_auth) eku = "serverAuth";
    if (spec.client_auth) eku += eku.empty() ? "clientAuth" : ",clientAuth";
    if (!eku.empty()) exts.emplace_back(NID_ext_key_usage, eku);
  }
  exts.emplace_back(NID_subject_key_identifier, "hash");
  exts.emplace_back(NID_authority_key_identifier, "keyid:always");
  for (const auto& [nid, value] : exts)
    if (auto s = AddExtension(cert.get(), &ctx, nid, value); !s.ok()) return s.error();
  if (!spec.dns_names.empty() || !spec.uris.empty() || !spec.ips.empty()) {
    auto sans = BuildSans(spec.dns_names, spec.uris, spec.ips);
    if (!sans.ok()) return sans.error();
    if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, sans->get(), 0, X509V3_ADD_DEFAULT) !=
        1)
      return OpenSslError("subjectAltName");
  }
  EVP_PKEY* signer = issuer ? issuer->key() : subject_key;
  if (X509_sign(cert.get(), signer, EVP_sha256()) <= 0) return OpenSslError("signing");
  return cert;
}

Result<std::shared_ptr<const CertifiedKey>> IssueWithNewKey(const CertifiedKey& issuer,
                                                            const CertificateSpec& spec,
                                                            KeyType key_type, UnixSeconds now) {
  auto key = GenerateKey(key_type);
  if (!key.ok()) return key.error();
  auto cert = SignCertificate(&issuer, key->get(), spec, now);
  if (!cert.ok()) return cert.error();
  std::vector<X509Ptr> chain;
  for (X509* c : ChainAbove(issuer)) {
    X509_up_ref(c);
    chain.emplace_back(c);
  }
  return CertifiedKey::FromObjects(std::move(*cert), std::move(chain), std::move(*key));
}

Result<std::shared_ptr<const CertifiedKey>> CreateRootCa(const RootOptions& options,
                                                         UnixSeconds now) {
  if (!IsValidTrustDomain(options.trust_domain))
    return MakeError("invalid trust domain \"" + options.trust_domain + "\"");
  auto key = GenerateKey(KeyType::kEcdsaP256);
  if (!key.ok()) return key.error();
  CertificateSpec spec;
  spec.organization = options.organization;
  spec.common_name = options.trust_domain;
  spec.uris = {"spiffe://" + options.trust_domain};
  spec.ttl = options.validity;
  spec.is_ca = true;
  auto cert = SignCertificate(nullptr, key->get(), spec, now);
  if (!cert.ok()) return cert.error();
  return CertifiedKey::FromObjects(std::move(*cert), {}, std::move(*key));
}

std::optional<std::string> CaTrustDomain(const CertifiedKey& ca) {
  for (const auto& uri : ca.info().uri_sans) {
    auto parsed = ParseSpiffeUri(uri);
    if (parsed.ok() && parsed->path.empty()) return parsed->trust_domain;
  }
  return std::nullopt;
}

Result<IssuedSvid> IssueSvid(const CertifiedKey& ca, const SpiffeId& id, const SvidRequest& request,
                             UnixSeconds now) {
  auto checked = MakeSpiffeId(id.trust_domain, id.ns, id.service_account);
  if (!checked.ok()) return checked.error();
  if (!ca.info().is_ca) return MakeError("the signing certificate is not a CA");
  if (auto td = CaTrustDomain(ca); td && *td != id.trust_domain)
    return MakeError("SPIFFE ID trust domain \"" + id.trust_domain +
                     "\" does not match the CA's trust domain \"" + *td + "\"");
  std::chrono::seconds ttl = request.ttl.count() <= 0 ? kDefaultSvidTtl : request.ttl;
  if (ttl > kMaxSvidTtl) return MakeError("requested TTL is longer than the 90 day maximum");

  EvpPkeyPtr key;
  IssuedSvid out;
  if (request.csr_pem.empty()) {
    auto generated = GenerateKey(KeyType::kEcdsaP256);
    if (!generated.ok()) return generated.error();
    key = std::move(*generated);
    out.key_pem = PrivateKeyToPem(key.get());
  } else {
    auto pub = PublicKeyFromCsr(request.csr_pem);
    if (!pub.ok()) return pub.error();
    key = std::move(*pub);
  }
  CertificateSpec spec;
  spec.organization = "gatehouse";
  spec.uris = {checked->ToString()};
  spec.ttl = ttl;
  auto cert = SignCertificate(&ca, key.get(), spec, now);
  if (!cert.ok()) return cert.error();
  out.cert_chain_pem = X509ToPem(cert->get());
  for (X509* c : ChainAbove(ca))
    out.cert_chain_pem += X509ToPem(c);
  out.root_cert_pem = X509ToPem(RootOf(ca));
  out.info = CertInfoFromX509(cert->get());
  return out;
}

Result<MeshIdentity> IssueMeshIdentity(const CertifiedKey& ca, const SpiffeId& id,
                                       std::chrono::seconds ttl, UnixSeconds now) {
  auto svid = IssueSvid(ca, id, SvidRequest{{}, ttl}, now);
  if (!svid.ok()) return svid.error();
  auto pair =
      CertifiedKey::FromPem(svid->cert_chain_pem, svid->key_pem, "mesh SVID " + id.ToString());
  if (!pair.ok()) return pair.error();
  auto bundle = TrustBundle::FromPem(svid->root_cert_pem, {}, "mesh root");
  if (!bundle.ok()) return bundle.error();
  return MeshIdentity{id.trust_domain, std::move(*pair), std::move(*bundle)};
}

Result<std::string> CreateCsrPem(EVP_PKEY* key, std::string_view common_name,
                                 std::string_view uri_san) {
  ERR_clear_error();
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1)
    return OpenSslError("X509_REQ_new");
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  if (!AddNameEntry(name, "CN", std::string(common_name))) return OpenSslError("CSR subject");
  if (X509_REQ_set_pubkey(req.get(), key) != 1) return OpenSslError("CSR public key");
  if (!uri_san.empty()) {
    auto sans = BuildSans({}, {std::string(uri_san)}, {});
    if (!sans.ok()) return sans.error();
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, sans->get());
    const bool ok = exts != nullptr && ext != nullptr && sk_X509_EXTENSION_push(exts, ext) != 0;
    if (!ok) X509_EXTENSION_free(ext);
    const bool added = ok && X509_REQ_add_extensions(req.get(), exts) == 1;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (!added) return OpenSslError("CSR extensions");
  }
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) return OpenSslError("CSR signature");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) return OpenSslError("CSR PEM");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<std::string> CreateCrlPem(const CertifiedKey& ca, std::span<const std::string> serial_hex,
                                 UnixSeconds now, std::chrono::seconds next_update) {
  ERR_clear_error();
  using CrlPtr = X509CrlPtr;
  CrlPtr crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1)
    return OpenSslError("X509_CRL_new");
  if (X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.leaf())) != 1)
    return OpenSslError("CRL issuer");
  using TimePtr = std::unique_ptr<ASN1_TIME, OsslDeleter<ASN1_TIME, ASN1_TIME_free>>;
  TimePtr last(ASN1_TIME_set(nullptr, now.time_since_epoch().count()));
  TimePtr next(ASN1_TIME_set(nullptr, (now + next_update).time_since_epoch().count()));
  if (!last || !next || X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1)
    return OpenSslError("CRL times");
  for (const auto& hex : serial_hex) {
    BIGNUM* raw = nullptr;
    if (BN_hex2bn(&raw, hex.c_str()) == 0) return MakeError("invalid serial \"" + hex + "\"");
    BignumPtr bn(raw);
    Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    X509_REVOKED* revoked = X509_REVOKED_new();
    if (!serial || revoked == nullptr ||
        X509_REVOKED_set_serialNumber(revoked, serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(revoked, last.get()) != 1 ||
        X509_CRL_add0_revoked(crl.get(), revoked) != 1) {
      X509_REVOKED_free(revoked);
      return OpenSslError("CRL entry");
    }
  }
  X509_CRL_sort(crl.get());
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.leaf(), nullptr, nullptr, crl.get(), 0);
  X509ExtPtr aki(X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1) return OpenSslError("CRL AKI");
  if (X509_CRL_sign(crl.get(), ca.key(), EVP_sha256()) <= 0) return OpenSslError("CRL signature");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1) return OpenSslError("CRL PEM");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

UnixSeconds NextRenewalTime(UnixSeconds not_before, UnixSeconds not_after, Random& rng,
                            double jitter_fraction) {
  const int64_t lifetime = (not_after - not_before).count();
  if (lifetime <= 0) return not_before;
  const int64_t jitter =
      static_cast<int64_t>(static_cast<double>(lifetime) * std::clamp(jitter_fraction, 0.0, 0.5));
  int64_t offset = 0;
  if (jitter > 0) {
    offset = static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(2 * jitter + 1))) - jitter;
  }
  return not_before + std::chrono::seconds(lifetime / 2 + offset);
}

}  // namespace gh::tls
