// Small OpenSSL helpers shared by tls/: owning pointers, the error queue as a
// string, PEM parsing, digests and encodings. Internal to tls/ (other layers
// use the typed objects in cert_store.h, cert_info.h and friends).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace gh::tls {

template <class T, void (*Free)(T*)>
struct OsslDeleter {
  void operator()(T* p) const { Free(p); }
};

using X509Ptr = std::unique_ptr<X509, OsslDeleter<X509, X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OsslDeleter<X509_CRL, X509_CRL_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OsslDeleter<X509_REQ, X509_REQ_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OsslDeleter<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, OsslDeleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OsslDeleter<X509_NAME, X509_NAME_free>>;
using X509ExtPtr =
    std::unique_ptr<X509_EXTENSION, OsslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OsslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, OsslDeleter<BIO, BIO_free_all>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OsslDeleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OsslDeleter<SSL, SSL_free>>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, OsslDeleter<SSL_SESSION, SSL_SESSION_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OsslDeleter<BIGNUM, BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OsslDeleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OsslDeleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

inline void FreeX509Stack(STACK_OF(X509) * s) {
  sk_X509_pop_free(s, X509_free);
}
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OsslDeleter<STACK_OF(X509), FreeX509Stack>>;

// Drains the thread's OpenSSL error queue into "reason[:reason...]" (reason
// strings only, e.g. "certificate verify failed"); empty when the queue is.
std::string DrainOpenSslErrors();
// An Error carrying `what` and the drained error queue.
Error OpenSslError(std::string_view what);

// Every certificate of a PEM bundle, in order. Fails on a malformed block or
// when there is none.
Result<std::vector<X509Ptr>> ParsePemCertificates(std::string_view pem);
// Every CRL of a PEM bundle (at least one).
Result<std::vector<X509CrlPtr>> ParsePemCrls(std::string_view pem);
// The first private key of a PEM block (PKCS#8, traditional RSA or EC).
Result<EvpPkeyPtr> ParsePemPrivateKey(std::string_view pem);

std::string X509ToPem(X509* cert);
std::string PrivateKeyToPem(EVP_PKEY* key);  // unencrypted PKCS#8

// SHA-256 of the DER certificate / of the DER SubjectPublicKeyInfo.
std::vector<uint8_t> CertSha256(X509* cert);
std::vector<uint8_t> SpkiSha256(X509* cert);
std::vector<uint8_t> Sha256(std::span<const uint8_t> data);

std::string HexLower(std::span<const uint8_t> bytes);
std::string Base64(std::span<const uint8_t> bytes);

// X509_NAME in RFC 2253 form ("CN=a,O=b"), as Envoy prints Subject in XFCC.
std::string NameToString(const X509_NAME* name);

// Envoy-style rendering of an OpenSSL protocol version ("TLSv1.3").
std::string_view VersionName(int version);

}  // namespace gh::tls
