#include "tests/unit/tls/test_pki.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <openssl/err.h>

#include <array>
#include <filesystem>

namespace gh::tls::testing {

TestCa TestCa::Create(const std::string& trust_domain) {
  auto root = CreateRootCa(RootOptions{.trust_domain = trust_domain}, NowSeconds());
  EXPECT_TRUE(root.ok()) << (root.ok() ? "" : root.error().message);
  return TestCa{root.ok() ? *root : nullptr, trust_domain};
}

std::shared_ptr<const CertifiedKey> TestCa::Leaf(std::vector<std::string> dns,
                                                 std::vector<std::string> uris, KeyType key,
                                                 std::string common_name) const {
  CertificateSpec spec;
  spec.common_name = common_name.empty() && !dns.empty() ? dns.front() : common_name;
  spec.dns_names = std::move(dns);
  spec.uris = std::move(uris);
  auto leaf = IssueWithNewKey(*root, spec, key, NowSeconds());
  EXPECT_TRUE(leaf.ok()) << (leaf.ok() ? "" : leaf.error().message);
  return leaf.ok() ? *leaf : nullptr;
}

routing::CertificateFiles MemFiles::PutPair(const std::string& name, const CertifiedKey& pair) {
  Put(name + ".crt", pair.ChainPem());
  Put(name + ".key", pair.KeyPem());
  return {name + ".crt", name + ".key"};
}

FileReader MemFiles::Reader() const {
  return [this](const std::string& path) -> Result<std::string> {
    auto it = files_.find(path);
    if (it == files_.end()) return MakeError(path + ": No such file or directory");
    return it->second;
  };
}

PumpResult Pump(TlsSession& client, TlsSession& server, int max_rounds) {
  PumpResult result;
  std::array<uint8_t, 4096> buf;
  auto drain = [&](TlsSession& s, std::string& sink) {
    size_t n;
    while ((n = s.ReadPlaintext(buf)) > 0)
      sink.append(reinterpret_cast<const char*>(buf.data()), n);
  };
  for (int round = 0; round < max_rounds; ++round) {
    bool progress = false;
    if (client.HasCiphertext()) {
      ByteBuffer bytes = client.TakeCiphertext();
      server.FeedCiphertext(bytes.span());
      progress = true;
    }
    drain(server, result.server_received);
    if (server.HasCiphertext()) {
      ByteBuffer bytes = server.TakeCiphertext();
      client.FeedCiphertext(bytes.span());
      progress = true;
    }
    drain(client, result.client_received);
    if (!progress && !client.HasCiphertext() && !server.HasCiphertext()) break;
  }
  return result;
}

RawClient::RawClient(const std::function<void(SSL_CTX*)>& configure) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  // No internal client cache: SSL_CTX_free would mark its sessions unresumable.
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  if (configure) configure(ctx_);
  ssl_ = SSL_new(ctx_);
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl_, rbio_, wbio_);
  SSL_set_connect_state(ssl_);
}

RawClient::~RawClient() {
  // Closed cleanly as far as OpenSSL is concerned, so the session stays
  // resumable (SSL_free removes sessions of connections that were not).
  SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
}

void RawClient::SetSni(const std::string& sni) {
  SSL_set_tlsext_host_name(ssl_, sni.c_str());
}

void RawClient::SetAlpn(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                      static_cast<unsigned int>(wire.size()));
}

void RawClient::SetSession(SSL_SESSION* session) {
  SSL_set_session(ssl_, session);
}

void RawClient::UseCertificate(const CertifiedKey& pair) {
  SSL_use_cert_and_key(ssl_, pair.leaf(), pair.key(), pair.intermediates(), 1);
}

std::string RawClient::Drive() {
  std::string received;
  if (failed_) return received;
  ERR_clear_error();
  if (!handshake_done()) {
    const int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      const int e = SSL_get_error(ssl_, r);
      if (e != SSL_ERROR_WANT_READ) {
        failed_ = true;
        error_ = DrainOpenSslErrors();
      }
      return received;
    }
  }
  char buf[4096];
  while (true) {
    size_t n = 0;
    const int r = SSL_read_ex(ssl_, buf, sizeof buf, &n);
    if (r == 1) {
      received.append(buf, n);
      continue;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_ZERO_RETURN) {
      failed_ = true;
      error_ = DrainOpenSslErrors();
    }
    break;
  }
  return received;
}

void RawClient::Feed(std::span<const uint8_t> bytes) {
  BIO_write(rbio_, bytes.data(), static_cast<int>(bytes.size()));
}

std::string RawClient::TakeOutput() {
  std::string out;
  char buf[4096];
  int n;
  while ((n = BIO_read(wbio_, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  return out;
}

void RawClient::Write(const std::string& plaintext) {
  size_t written = 0;
  SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &written);
}

RawPumpResult Pump(RawClient& client, TlsSession& server, int max_rounds) {
  RawPumpResult result;
  std::array<uint8_t, 4096> buf;
  for (int round = 0; round < max_rounds; ++round) {
    result.client_received += client.Drive();
    const std::string out = client.TakeOutput();
    bool progress = false;
    if (!out.empty()) {
      server.FeedCiphertext({reinterpret_cast<const uint8_t*>(out.data()), out.size()});
      progress = true;
    }
    size_t n;
    while ((n = server.ReadPlaintext(buf)) > 0)
      result.server_received.append(reinterpret_cast<const char*>(buf.data()), n);
    if (server.HasCiphertext()) {
      ByteBuffer bytes = server.TakeCiphertext();
      client.Feed(bytes.span());
      progress = true;
    }
    if (!progress) break;
  }
  result.client_received += client.Drive();
  return result;
}

int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0)
    output->append(buf.data(), n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "gh-tls-XXXXXX").string();
  char* dir = mkdtemp(tmpl.data());
  return dir ? std::string(dir) : std::string();
}

void RemoveTree(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace gh::tls::testing
