// libFuzzer target: arbitrary bytes as the ciphertext a TlsSession receives.
//
// Input layout: byte 0 selects the role (bit 0: 0 server, 1 client) and how
// the rest is split into reads (bits 1-7: chunk size, 0 = all at once); the
// remaining bytes are what the peer "sent". The server role parses
// ClientHellos (SNI selection, ALPN, key shares, tickets, resumption); the
// client role parses server flights after sending its own ClientHello.
// Every API the data plane uses is exercised; nothing may crash, leak or
// grow without bound.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "tls/ca.h"
#include "tls/client_context.h"
#include "tls/server_context.h"
#include "tls/session.h"

namespace {

using namespace gh::tls;

struct Fixture {
  std::map<std::string, std::string> files;
  std::unique_ptr<CertStore> store;
  std::shared_ptr<const ServerContext> server;
  std::shared_ptr<const ClientContext> client;

  Fixture() {
    const auto now = NowSeconds();
    auto root = CreateRootCa(RootOptions{.trust_domain = "fuzz.local"}, now);
    CertificateSpec spec;
    spec.dns_names = {"a.example.com"};
    auto ecdsa = IssueWithNewKey(**root, spec, KeyType::kEcdsaP256, now);
    auto rsa = IssueWithNewKey(**root, spec, KeyType::kRsa2048, now);
    files["root.pem"] = (*root)->ChainPem();
    files["ecdsa.crt"] = (*ecdsa)->ChainPem();
    files["ecdsa.key"] = (*ecdsa)->KeyPem();
    files["rsa.crt"] = (*rsa)->ChainPem();
    files["rsa.key"] = (*rsa)->KeyPem();
    store = std::make_unique<CertStore>([this](const std::string& path) -> gh::Result<std::string> {
      auto it = files.find(path);
      if (it == files.end()) return gh::MakeError("missing " + path);
      return it->second;
    });
    ServerSpec simple;
    simple.name = "simple";
    simple.hosts = {"a.example.com", "*.wild.example.com"};
    simple.tls.mode = gh::routing::ServerTlsMode::kSimple;
    simple.tls.certificates = {{"ecdsa.crt", "ecdsa.key"}, {"rsa.crt", "rsa.key"}};
    ServerSpec mutual;
    mutual.name = "mutual";
    mutual.hosts = {"m.example.com"};
    mutual.tls.mode = gh::routing::ServerTlsMode::kOptionalMutual;
    mutual.tls.certificates = {{"ecdsa.crt", "ecdsa.key"}};
    mutual.tls.ca_certificates = "root.pem";
    ListenerTlsOptions options;
    options.alpn = {"h2", "http/1.1"};
    options.ticket_keys = *TicketKeySet::Create();
    server = *ServerContext::Build({simple, mutual}, options, *store);
    gh::routing::UpstreamTls upstream;
    upstream.mode = gh::routing::UpstreamTlsMode::kSimple;
    upstream.ca_certificates = "root.pem";
    client = *ClientContext::Build(upstream, ClientOptions{.alpn = {"h2", "http/1.1"}}, *store);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();
  if (size == 0) return 0;
  const bool client_role = data[0] & 1;
  const size_t chunk = (data[0] >> 1) == 0 ? size : (data[0] >> 1);
  ++data;
  --size;
  auto created = client_role ? TlsSession::NewClient(fixture->client, "a.example.com")
                             : TlsSession::NewServer(fixture->server);
  if (!created.ok()) __builtin_trap();
  TlsSession& session = **created;
  (void)session.TakeCiphertext();  // the client's ClientHello
  uint8_t plaintext[2048] = {};
  for (size_t off = 0; off < size; off += chunk) {
    const size_t n = std::min(chunk, size - off);
    if (off % 2) {
      session.FeedCiphertext({data + off, n});
    } else {
      auto in = session.PrepareInput(n);
      std::copy(data + off, data + off + n, in.begin());
      session.CommitInput(n);
    }
    while (session.ReadPlaintext(plaintext) > 0) {
    }
    if (session.handshake_complete()) {
      session.WritePlaintext({plaintext, 100});
      (void)session.alpn();
      (void)session.peer_certificate();
      (void)BuildXfcc(session);
    }
    (void)session.TakeCiphertext();
    if (session.state() == TlsSession::State::kFailed) {
      if (session.failure_reason().rfind("TLS_error:", 0) != 0) __builtin_trap();
      break;
    }
  }
  session.Shutdown();
  session.OnTransportEof();
  (void)session.TakeCiphertext();
  return 0;
}
