// Test fixtures for tls/: certificates generated at run time through tls/ca
// (ECDSA) and OpenSSL (RSA keys), an in-memory file system for CertStore, and
// a pump that moves ciphertext between two in-memory TlsSessions.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tls/ca.h"
#include "tls/cert_store.h"
#include "tls/session.h"

namespace gh::tls::testing {

// A root CA plus helpers to issue leaves from it.
struct TestCa {
  std::shared_ptr<const CertifiedKey> root;
  std::string trust_domain;

  static TestCa Create(const std::string& trust_domain = "test.local");
  std::shared_ptr<const CertifiedKey> Leaf(std::vector<std::string> dns,
                                           std::vector<std::string> uris = {},
                                           KeyType key = KeyType::kEcdsaP256,
                                           std::string common_name = {}) const;
  std::string RootPem() const { return root->ChainPem(); }
};

// Files in memory: CertStore reads through Reader().
class MemFiles {
 public:
  void Put(const std::string& path, std::string contents) { files_[path] = std::move(contents); }
  void Remove(const std::string& path) { files_.erase(path); }
  // Writes <name>.crt and <name>.key.
  routing::CertificateFiles PutPair(const std::string& name, const CertifiedKey& pair);
  FileReader Reader() const;

 private:
  std::map<std::string, std::string> files_;
};

struct PumpResult {
  std::string client_received, server_received;
};

// Moves ciphertext both ways and drains plaintext until neither side has
// anything left to say (bounded rounds).
PumpResult Pump(TlsSession& client, TlsSession& server, int max_rounds = 32);

// A plain OpenSSL client over memory BIOs, independent of TlsSession, for
// client behaviours the product's ClientContext does not offer (old
// versions, restricted sigalgs, no SNI, arbitrary ALPN offers).
class RawClient {
 public:
  // `configure` runs on the fresh SSL_CTX (TLS_client_method, no verify).
  explicit RawClient(const std::function<void(SSL_CTX*)>& configure = {});
  ~RawClient();
  void SetSni(const std::string& sni);
  void SetAlpn(const std::vector<std::string>& protocols);
  void SetSession(SSL_SESSION* session);  // for resumption
  void UseCertificate(const CertifiedKey& pair);
  // Advances the handshake / reads; returns received plaintext.
  std::string Drive();
  void Feed(std::span<const uint8_t> bytes);
  std::string TakeOutput();
  void Write(const std::string& plaintext);
  bool handshake_done() const { return SSL_is_init_finished(ssl_) == 1; }
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  SSL* ssl() const { return ssl_; }
  SSL_SESSION* Get1Session() const { return SSL_get1_session(ssl_); }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO *rbio_ = nullptr, *wbio_ = nullptr;
  bool failed_ = false;
  std::string error_;
};

struct RawPumpResult {
  std::string client_received, server_received;
};
RawPumpResult Pump(RawClient& client, TlsSession& server, int max_rounds = 32);

// Runs a shell command, returns its exit status and captures stdout+stderr.
int RunCommand(const std::string& command, std::string* output);

// A fresh temporary directory (removed by the caller through RemoveTree).
std::string MakeTempDir();
void RemoveTree(const std::string& dir);

}  // namespace gh::tls::testing
