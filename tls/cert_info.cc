#include "tls/cert_info.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "base/strings.h"
#include "tls/ossl_util.h"
#include "tls/spiffe.h"

namespace gh::tls {
namespace {

UnixSeconds AsnTimeToUnix(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return UnixSeconds{};
  return UnixSeconds{std::chrono::seconds{timegm(&tm)}};
}

std::string Asn1StringToStd(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string IpToString(const ASN1_OCTET_STRING* ip) {
  const unsigned char* d = ASN1_STRING_get0_data(ip);
  const int len = ASN1_STRING_length(ip);
  char buf[64];
  if (len == 4) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", d[0], d[1], d[2], d[3]);
    return buf;
  }
  if (len == 16) {
    std::string out;
    for (int i = 0; i < 16; i += 2) {
      if (i) out.push_back(':');
      std::snprintf(buf, sizeof buf, "%x", (d[i] << 8) | d[i + 1]);
      out += buf;
    }
    return out;
  }
  return {};
}

std::string KeyType(X509* cert) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return "unknown";
  const int bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "RSA " + std::to_string(bits);
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1) {
        std::string_view g(group, len);
        if (g == "prime256v1") return "EC P-256";
        if (g == "secp384r1") return "EC P-384";
        if (g == "secp521r1") return "EC P-521";
        return "EC " + std::string(g);
      }
      return "EC";
    }
    case EVP_PKEY_ED25519:
      return "ED25519";
    default:
      return "other " + std::to_string(bits);
  }
}

}  // namespace

CertInfo CertInfoFromX509(X509* cert) {
  CertInfo info;
  info.subject = NameToString(X509_get_subject_name(cert));
  info.issuer = NameToString(X509_get_issuer_name(cert));
  if (BignumPtr bn{ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)}) {
    if (char* hex = BN_bn2hex(bn.get())) {
      info.serial_hex = AsciiLowered(hex);
      OPENSSL_free(hex);
      if (info.serial_hex.empty()) info.serial_hex = "0";
    }
  }
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      switch (name->type) {
        case GEN_DNS:
          info.dns_sans.push_back(Asn1StringToStd(name->d.dNSName));
          break;
        case GEN_URI:
          info.uri_sans.push_back(Asn1StringToStd(name->d.uniformResourceIdentifier));
          break;
        case GEN_EMAIL:
          info.email_sans.push_back(Asn1StringToStd(name->d.rfc822Name));
          break;
        case GEN_IPADD:
          info.ip_sans.push_back(IpToString(name->d.iPAddress));
          break;
        default:
          break;
      }
    }
  }
  if (info.uri_sans.size() == 1 && ParseSpiffeUri(info.uri_sans[0]).ok())
    info.spiffe_id = info.uri_sans[0];
  info.not_before = AsnTimeToUnix(X509_get0_notBefore(cert));
  info.not_after = AsnTimeToUnix(X509_get0_notAfter(cert));
  info.sha256_hex = HexLower(CertSha256(cert));
  info.spki_sha256_base64 = Base64(SpkiSha256(cert));
  info.key_type = KeyType(cert);
  info.is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;  // basicConstraints CA:TRUE
  return info;
}

Result<std::vector<CertInfo>> ParsePemChainInfo(std::string_view pem) {
  auto certs = ParsePemCertificates(pem);
  if (!certs.ok()) return certs.error();
  std::vector<CertInfo> out;
  out.reserve(certs->size());
  for (auto& c : *certs)
    out.push_back(CertInfoFromX509(c.get()));
  return out;
}

UnixSeconds NowSeconds() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace gh::tls
