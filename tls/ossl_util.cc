#include "tls/ossl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <limits>

namespace gh::tls {
namespace {

BioPtr MemBio(std::string_view data) {
  if (data.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return nullptr;
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

// PEM_read_bio_* leaves PEM_R_NO_START_LINE on the queue at the end of input.
bool OnlyNoStartLine() {
  const unsigned long err = ERR_peek_last_error();
  return ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
}

}  // namespace

std::string DrainOpenSslErrors() {
  std::string out;
  while (const unsigned long err = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(err);
    std::string piece = reason != nullptr ? reason : "error " + std::to_string(ERR_GET_REASON(err));
    if (out.find(piece) != std::string::npos) continue;  // OpenSSL repeats itself
    if (!out.empty()) out.push_back(':');
    out += piece;
  }
  return out;
}

Error OpenSslError(std::string_view what) {
  std::string detail = DrainOpenSslErrors();
  std::string message(what);
  if (!detail.empty()) message += ": " + detail;
  return MakeError(std::move(message));
}

Result<std::vector<X509Ptr>> ParsePemCertificates(std::string_view pem) {
  ERR_clear_error();
  BioPtr bio = MemBio(pem);
  if (!bio) return MakeError("certificate PEM too large");
  std::vector<X509Ptr> certs;
  while (true) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    certs.emplace_back(cert);
  }
  if (!OnlyNoStartLine()) return OpenSslError("malformed PEM certificate");
  ERR_clear_error();
  if (certs.empty()) return MakeError("no PEM certificate found");
  return certs;
}

Result<std::vector<X509CrlPtr>> ParsePemCrls(std::string_view pem) {
  ERR_clear_error();
  BioPtr bio = MemBio(pem);
  if (!bio) return MakeError("CRL PEM too large");
  std::vector<X509CrlPtr> crls;
  while (true) {
    X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
    if (crl == nullptr) break;
    crls.emplace_back(crl);
  }
  if (!OnlyNoStartLine()) return OpenSslError("malformed PEM CRL");
  ERR_clear_error();
  if (crls.empty()) return MakeError("no PEM CRL found");
  return crls;
}

Result<EvpPkeyPtr> ParsePemPrivateKey(std::string_view pem) {
  ERR_clear_error();
  BioPtr bio = MemBio(pem);
  if (!bio) return MakeError("private key PEM too large");
  // An empty passphrase callback: encrypted keys fail instead of prompting.
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!key) return OpenSslError("no usable PEM private key (encrypted keys are not supported)");
  return key;
}

std::string X509ToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  return BioContents(bio.get());
}

std::string PrivateKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return {};
  return BioContents(bio.get());
}

std::vector<uint8_t> CertSha256(X509* cert) {
  std::vector<uint8_t> out(SHA256_DIGEST_LENGTH);
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), out.data(), &len) != 1) return {};
  out.resize(len);
  return out;
}

std::vector<uint8_t> SpkiSha256(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0) return {};
  std::vector<uint8_t> out = Sha256({der, static_cast<size_t>(len)});
  OPENSSL_free(der);
  return out;
}

std::vector<uint8_t> Sha256(std::span<const uint8_t> data) {
  std::vector<uint8_t> out(SHA256_DIGEST_LENGTH);
  SHA256(data.data(), data.size(), out.data());
  return out;
}

std::string HexLower(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string Base64(std::span<const uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                  static_cast<int>(bytes.size()));
  out.resize(len > 0 ? static_cast<size_t>(len) : 0);
  return out;
}

std::string NameToString(const X509_NAME* name) {
  if (name == nullptr) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  // RFC 2253 without the multi-byte escaping (UTF-8 kept as is), like Envoy.
  const unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
  if (X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) return {};
  return BioContents(bio.get());
}

std::string_view VersionName(int version) {
  switch (version) {
    case TLS1_VERSION:
      return "TLSv1";
    case TLS1_1_VERSION:
      return "TLSv1.1";
    case TLS1_2_VERSION:
      return "TLSv1.2";
    case TLS1_3_VERSION:
      return "TLSv1.3";
    default:
      return "unknown";
  }
}

}  // namespace gh::tls
