// Real in-memory handshakes against ServerContext: SNI selection, RSA/ECDSA,
// versions, ciphers, ALPN, resumption, ticket rotation, client certificates
// and XFCC.
#include "tls/server_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <atomic>
#include <thread>

#include "base/strings.h"
#include "tests/unit/tls/test_pki.h"
#include "tls/session.h"

namespace gh::tls {
namespace {

using routing::ServerTlsMode;
using testing::MemFiles;
using testing::Pump;
using testing::RawClient;
using testing::TestCa;

class ServerTest : public ::testing::Test {
 protected:
  ServerSpec Spec(const std::string& name, std::vector<std::string> hosts,
                  std::vector<std::shared_ptr<const CertifiedKey>> certs,
                  ServerTlsMode mode = ServerTlsMode::kSimple) {
    ServerSpec spec;
    spec.name = name;
    spec.hosts = std::move(hosts);
    spec.tls.mode = mode;
    for (size_t i = 0; i < certs.size(); ++i)
      spec.tls.certificates.push_back(files.PutPair(name + "-" + std::to_string(i), *certs[i]));
    if (mode == ServerTlsMode::kMutual || mode == ServerTlsMode::kOptionalMutual) {
      files.Put("client-ca.pem", client_ca.RootPem());
      spec.tls.ca_certificates = "client-ca.pem";
    }
    return spec;
  }

  std::shared_ptr<const ServerContext> Build(std::vector<ServerSpec> specs,
                                             ListenerTlsOptions options = {},
                                             const MeshIdentity* mesh = nullptr) {
    auto ctx = ServerContext::Build(std::move(specs), std::move(options), store, mesh);
    EXPECT_TRUE(ctx.ok()) << ctx.error().message;
    return ctx.ok() ? *ctx : nullptr;
  }

  std::unique_ptr<TlsSession> Server(std::shared_ptr<const ServerContext> ctx) {
    auto s = TlsSession::NewServer(std::move(ctx));
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(*s) : nullptr;
  }

  // A handshake from a raw client with `sni` ("" for none); returns the
  // server session after the exchange.
  std::unique_ptr<TlsSession> Connect(std::shared_ptr<const ServerContext> ctx, RawClient& client,
                                      const std::string& sni = {}) {
    if (!sni.empty()) client.SetSni(sni);
    auto server = Server(std::move(ctx));
    Pump(client, *server);
    return server;
  }

  std::string PeerCn(RawClient& client) {
    X509* cert = SSL_get0_peer_certificate(client.ssl());
    return cert ? CertInfoFromX509(cert).subject : "";
  }

  TestCa ca = TestCa::Create("test.local");
  TestCa client_ca = TestCa::Create("clients.local");
  MemFiles files;
  CertStore store{files.Reader()};
};

// ------------------------------------------------------------------ SNI ---

TEST_F(ServerTest, SniSelectsTheServerAndItsCertificate) {
  auto ctx =
      Build({Spec("a", {"a.example.com"}, {ca.Leaf({"a.example.com"})}),
             Spec("wild", {"*.wild.example.com"}, {ca.Leaf({"*.wild.example.com"})}),
             Spec("fallback", {"fallback.example.com"}, {ca.Leaf({"fallback.example.com"})})},
            ListenerTlsOptions{.default_server = 2});
  struct Case {
    std::string sni, cn;
    uint32_t index;
  } cases[] = {
      {"a.example.com", "CN=a.example.com", 0},
      {"A.EXAMPLE.COM", "CN=a.example.com", 0},
      {"x.wild.example.com", "CN=*.wild.example.com", 1},
      {"deep.x.wild.example.com", "CN=*.wild.example.com", 1},
      {"unknown.example.com", "CN=fallback.example.com", 2},
      {"", "CN=fallback.example.com", 2},
  };
  for (const auto& c : cases) {
    RawClient client;
    auto server = Connect(ctx, client, c.sni);
    EXPECT_EQ(server->state(), TlsSession::State::kEstablished)
        << c.sni << server->failure_reason();
    EXPECT_EQ(PeerCn(client), c.cn) << c.sni;
    EXPECT_EQ(server->server_index(), c.index) << c.sni;
    std::string lowered = c.sni;
    for (auto& ch : lowered)
      ch = AsciiLower(ch);
    EXPECT_EQ(server->sni(), lowered);
  }
}

TEST_F(ServerTest, UnknownSniIsRejectedWithoutADefault) {
  auto ctx = Build({Spec("a", {"a.example.com"}, {ca.Leaf({"a.example.com"})})},
                   ListenerTlsOptions{.default_server = std::nullopt});
  for (const std::string sni : {"b.example.com", ""}) {
    RawClient client;
    auto server = Connect(ctx, client, sni);
    EXPECT_EQ(server->state(), TlsSession::State::kFailed);
    EXPECT_EQ(server->failure(), TlsFailure::kSni);
    EXPECT_EQ(server->failure_reason(), "TLS_error:no server for SNI \"" + sni + "\"");
    EXPECT_TRUE(client.failed());
    EXPECT_NE(client.error().find("unrecognized name"), std::string::npos) << client.error();
  }
  RawClient ok;
  EXPECT_EQ(Connect(ctx, ok, "a.example.com")->state(), TlsSession::State::kEstablished);
}

TEST_F(ServerTest, BuildReportsConflictsAndBadConfig) {
  auto a = ca.Leaf({"a.example.com"});
  auto expect_error = [&](std::vector<ServerSpec> specs, const std::string& fragment,
                          const MeshIdentity* mesh = nullptr) {
    auto ctx = ServerContext::Build(std::move(specs), {}, store, mesh);
    ASSERT_FALSE(ctx.ok()) << fragment;
    EXPECT_NE(ctx.error().message.find(fragment), std::string::npos) << ctx.error().message;
  };
  expect_error({Spec("one", {"a.example.com"}, {a}), Spec("two", {"a.example.com"}, {a})},
               "already served by server #0");
  expect_error({Spec("p", {"a.example.com"}, {a}, ServerTlsMode::kPassthrough)},
               "does not terminate");
  expect_error({Spec("m", {"a.example.com"}, {}, ServerTlsMode::kSimple)},
               "needs a server certificate");
  ServerSpec mutual_without_ca = Spec("m", {"a.example.com"}, {a});
  mutual_without_ca.tls.mode = ServerTlsMode::kMutual;
  expect_error({mutual_without_ca}, "MUTUAL needs ca_certificates");
  ServerSpec istio = Spec("i", {"a.example.com"}, {});
  istio.tls.mode = ServerTlsMode::kIstioMutual;
  expect_error({istio}, "needs the gateway's mesh identity");
  ServerSpec two_ecdsa = Spec("e", {"a.example.com"}, {a, ca.Leaf({"a.example.com"})});
  expect_error({two_ecdsa}, "one RSA and one ECDSA");
  ServerSpec bad_pin = Spec("m", {"a.example.com"}, {a}, ServerTlsMode::kMutual);
  bad_pin.tls.verify_certificate_spki = {"not-base64"};
  expect_error({bad_pin}, "verify_certificate_spki");
  ServerSpec bad_hash = Spec("m", {"a.example.com"}, {a}, ServerTlsMode::kMutual);
  bad_hash.tls.verify_certificate_hash = {"abcd"};
  expect_error({bad_hash}, "verify_certificate_hash");
  ServerSpec versions = Spec("v", {"a.example.com"}, {a});
  versions.tls.min_protocol_version = routing::TlsVersion::k1_3;
  versions.tls.max_protocol_version = routing::TlsVersion::k1_2;
  expect_error({versions}, "min_protocol_version");
  ServerSpec missing = Spec("x", {"a.example.com"}, {});
  missing.tls.certificates = {{"nope.crt", "nope.key"}};
  expect_error({missing}, "nope.crt");
  // Key of another certificate.
  files.Put("mismatch.crt", a->ChainPem());
  files.Put("mismatch.key", ca.Leaf({"b"})->KeyPem());
  ServerSpec mismatch = Spec("k", {"a.example.com"}, {});
  mismatch.tls.certificates = {{"mismatch.crt", "mismatch.key"}};
  expect_error({mismatch}, "does not match");
  ServerSpec cred = Spec("c", {"a.example.com"}, {});
  cred.tls.credential_name = "missing-secret";
  expect_error({cred}, "unknown credential_name");
}

TEST_F(ServerTest, NamedCredentialResolves) {
  auto a = ca.Leaf({"a.example.com"});
  store.SetNamedCredential("example-cert", NamedCredential{{files.PutPair("named", *a)}, {}, {}});
  ServerSpec spec = Spec("c", {"a.example.com"}, {});
  spec.tls.credential_name = "example-cert";
  auto ctx = Build({spec});
  RawClient client;
  EXPECT_EQ(Connect(ctx, client, "a.example.com")->state(), TlsSession::State::kEstablished);
  EXPECT_EQ(PeerCn(client), "CN=a.example.com");
}

// ------------------------------------------------------------ RSA + ECDSA ---

TEST_F(ServerTest, ClientGetsTheCertificateItSupports) {
  auto rsa = ca.Leaf({"dual.example.com"}, {}, KeyType::kRsa2048);
  auto ecdsa = ca.Leaf({"dual.example.com"}, {}, KeyType::kEcdsaP256);
  auto ctx = Build({Spec("dual", {"dual.example.com"}, {rsa, ecdsa})});
  auto key_type = [&](const std::function<void(SSL_CTX*)>& configure) {
    RawClient client(configure);
    auto server = Connect(ctx, client, "dual.example.com");
    EXPECT_EQ(server->state(), TlsSession::State::kEstablished) << server->failure_reason();
    X509* cert = SSL_get0_peer_certificate(client.ssl());
    return cert ? CertInfoFromX509(cert).key_type : "";
  };
  // TLS 1.3: by signature algorithms.
  EXPECT_EQ(key_type([](SSL_CTX* c) { SSL_CTX_set1_sigalgs_list(c, "rsa_pss_rsae_sha256"); }),
            "RSA 2048");
  EXPECT_EQ(key_type([](SSL_CTX* c) { SSL_CTX_set1_sigalgs_list(c, "ECDSA+SHA256"); }), "EC P-256");
  // TLS 1.2: by cipher suite.
  EXPECT_EQ(key_type([](SSL_CTX* c) {
              SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
              SSL_CTX_set_cipher_list(c, "ECDHE-RSA-AES128-GCM-SHA256");
            }),
            "RSA 2048");
  EXPECT_EQ(key_type([](SSL_CTX* c) {
              SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
              SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES128-GCM-SHA256");
            }),
            "EC P-256");
}

// ---------------------------------------------------- versions and ciphers ---

TEST_F(ServerTest, Tls10And11AreRefusedByDefault) {
  auto ctx = Build({Spec("a", {"a.example.com"}, {ca.Leaf({"a.example.com"})})});
  for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    RawClient client([&](SSL_CTX* c) {
      SSL_CTX_set_security_level(c, 0);
      SSL_CTX_set_min_proto_version(c, version);
      SSL_CTX_set_max_proto_version(c, version);
      SSL_CTX_set_cipher_list(c, "ALL:@SECLEVEL=0");
    });
    auto server = Connect(ctx, client, "a.example.com");
    EXPECT_EQ(server->state(), TlsSession::State::kFailed);
    EXPECT_EQ(server->failure(), TlsFailure::kVersion) << server->failure_reason();
    EXPECT_EQ(server->failure_reason(), "TLS_error:unsupported protocol");
    EXPECT_TRUE(client.failed());
  }
  // Enabled explicitly (with matching ciphers), TLS 1.1 works: the refusal
  // above comes from the default, not from the library.
  ServerSpec legacy = Spec("legacy", {"a.example.com"}, {ca.Leaf({"a.example.com"})});
  legacy.tls.min_protocol_version = routing::TlsVersion::k1_1;
  legacy.tls.cipher_suites = {"ECDHE-ECDSA-AES128-SHA"};
  auto legacy_ctx = Build({legacy});
  RawClient old([](SSL_CTX* c) {
    SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_max_proto_version(c, TLS1_1_VERSION);
    SSL_CTX_set_cipher_list(c, "ALL:@SECLEVEL=0");
  });
  auto server = Connect(legacy_ctx, old, "a.example.com");
  EXPECT_EQ(server->state(), TlsSession::State::kEstablished) << server->failure_reason();
  EXPECT_EQ(server->protocol_version(), "TLSv1.1");
}

TEST_F(ServerTest, OnlyStrongCiphersAreOffered) {
  auto ctx =
      Build({Spec("a", {"a.example.com"}, {ca.Leaf({"a.example.com"}, {}, KeyType::kRsa2048)})});
  for (const char* weak : {"AES128-SHA", "ECDHE-RSA-AES128-SHA256", "DHE-RSA-AES128-GCM-SHA256"}) {
    RawClient client([&](SSL_CTX* c) {
      SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
      SSL_CTX_set_cipher_list(c, weak);
    });
    auto server = Connect(ctx, client, "a.example.com");
    EXPECT_EQ(server->failure(), TlsFailure::kCipher) << weak << " " << server->failure_reason();
    EXPECT_EQ(server->failure_reason(), "TLS_error:no shared cipher");
  }
  RawClient strong([](SSL_CTX* c) { SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION); });
  auto server = Connect(ctx, strong, "a.example.com");
  EXPECT_EQ(server->cipher(), "ECDHE-RSA-AES256-GCM-SHA384");  // server preference
}

TEST_F(ServerTest, ConfiguredCiphersAndUnknownNamesWarn) {
  ServerSpec spec = Spec("a", {"a.example.com"}, {ca.Leaf({"a.example.com"})});
  spec.tls.cipher_suites = {"ECDHE-ECDSA-AES128-GCM-SHA256", "NOT-A-CIPHER",
                            "ECDHE-ECDSA-AES128-GCM-SHA256"};
  spec.tls.ecdh_curves = {"P-384", "curve-nonsense"};
  auto ctx = Build({spec});
  ASSERT_EQ(ctx->warnings().size(), 3u);
  EXPECT_NE(ctx->warnings()[0].find("unknown cipher suite \"NOT-A-CIPHER\""), std::string::npos);
  EXPECT_NE(ctx->warnings()[1].find("duplicate cipher suite"), std::string::npos);
  EXPECT_NE(ctx->warnings()[2].find("unknown ECDH curve"), std::string::npos);
  RawClient client([](SSL_CTX* c) { SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION); });
  auto server = Connect(ctx, client, "a.example.com");
  EXPECT_EQ(server->cipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(SSL_get_negotiated_group(client.ssl()), NID_secp384r1);
}

TEST_F(ServerTest, PerServerVersionsApplyAfterSniSwitch) {
  ServerSpec modern = Spec("modern", {"modern.example.com"}, {ca.Leaf({"modern.example.com"})});
  modern.tls.min_protocol_version = routing::TlsVersion::k1_3;
  auto ctx = Build({Spec("a", {"a.example.com"}, {ca.Leaf({"a.example.com"})}), modern});
  RawClient tls12([](SSL_CTX* c) { SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION); });
  EXPECT_EQ(Connect(ctx, tls12, "a.example.com")->protocol_version(), "TLSv1.2");
  RawClient tls12b([](SSL_CTX* c) { SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION); });
  auto refused = Connect(ctx, tls12b, "modern.example.com");
  EXPECT_EQ(refused->failure(), TlsFailure::kVersion) << refused->failure_reason();
}

// ------------------------------------------------------------------ ALPN ---

TEST_F(ServerTest, AlpnFollowsTheServerPreference) {
  auto cert = ca.Leaf({"a.example.com"});
  auto ctx =
      Build({Spec("a", {"a.example.com"}, {cert})}, ListenerTlsOptions{.alpn = {"h2", "http/1.1"}});
  auto alpn_for = [&](std::vector<std::string> offer) {
    RawClient client;
    client.SetAlpn(offer);
    auto server = Connect(ctx, client, "a.example.com");
    EXPECT_EQ(server->state(), TlsSession::State::kEstablished) << server->failure_reason();
    return std::string(server->alpn());
  };
  EXPECT_EQ(alpn_for({"http/1.1", "h2"}), "h2");
  EXPECT_EQ(alpn_for({"http/1.1"}), "http/1.1");
  EXPECT_EQ(alpn_for({"spdy/3"}), "");  // no overlap: continue without ALPN
  EXPECT_EQ(alpn_for({}), "");

  auto strict = Build({Spec("s", {"s.example.com"}, {cert})},
                      ListenerTlsOptions{.alpn = {"http/1.1"}, .alpn_required = true});
  RawClient client;
  client.SetAlpn({"h2"});
  auto server = Connect(strict, client, "s.example.com");
  EXPECT_EQ(server->failure(), TlsFailure::kAlpn) << server->failure_reason();
  EXPECT_NE(client.error().find("no application protocol"), std::string::npos) << client.error();
}

// ------------------------------------------------------------ resumption ---

struct ResumeCase {
  int version;
  bool tickets;
};

class ResumptionTest : public ServerTest, public ::testing::WithParamInterface<ResumeCase> {};

TEST_P(ResumptionTest, ResumesOnTheSameServerOnly) {
  const int version = GetParam().version;
  const bool tickets = GetParam().tickets;
  ListenerTlsOptions options;
  if (tickets) options.ticket_keys = *TicketKeySet::Create();
  options.default_server = std::nullopt;
  // Server "b" requires client certificates: a session from "a" must never
  // resume there and skip the certificate check.
  auto ctx =
      Build({Spec("a", {"a.example.com"}, {ca.Leaf({"a.example.com"})}),
             Spec("b", {"b.example.com"}, {ca.Leaf({"b.example.com"})}, ServerTlsMode::kMutual)},
            options);
  auto configure = [version](SSL_CTX* c) {
    SSL_CTX_set_min_proto_version(c, version);
    SSL_CTX_set_max_proto_version(c, version);
  };
  RawClient first(configure);
  auto s1 = Connect(ctx, first, "a.example.com");
  ASSERT_EQ(s1->state(), TlsSession::State::kEstablished) << s1->failure_reason();
  EXPECT_FALSE(s1->resumed());
  SslSessionPtr session(first.Get1Session());
  ASSERT_TRUE(session);
  ASSERT_EQ(SSL_SESSION_is_resumable(session.get()), 1);
  if (!tickets) {
    EXPECT_EQ(ctx->session_cache_stats().entries, 1u);
  }

  RawClient again(configure);
  again.SetSession(session.get());
  auto s2 = Connect(ctx, again, "a.example.com");
  ASSERT_EQ(s2->state(), TlsSession::State::kEstablished) << s2->failure_reason();
  EXPECT_TRUE(s2->resumed());
  EXPECT_EQ(SSL_session_reused(again.ssl()), 1);
  if (!tickets) {
    EXPECT_GE(ctx->session_cache_stats().hits, 1u);
  }

  RawClient elsewhere(configure);
  elsewhere.SetSession(session.get());
  auto s3 = Connect(ctx, elsewhere, "b.example.com");
  EXPECT_FALSE(s3->resumed());
  EXPECT_EQ(s3->state(), TlsSession::State::kFailed);
  EXPECT_EQ(s3->failure(), TlsFailure::kPeerCertificateMissing) << s3->failure_reason();
}

TEST_P(ResumptionTest, NeverResumesAcrossSimpleServers) {
  const int version = GetParam().version;
  ListenerTlsOptions options;
  if (GetParam().tickets) options.ticket_keys = *TicketKeySet::Create();
  auto ctx = Build({Spec("a", {"a.example.com"}, {ca.Leaf({"a.example.com"})}),
                    Spec("b", {"b.example.com"}, {ca.Leaf({"b.example.com"})})},
                   options);
  auto configure = [version](SSL_CTX* c) {
    SSL_CTX_set_min_proto_version(c, version);
    SSL_CTX_set_max_proto_version(c, version);
  };
  RawClient first(configure);
  ASSERT_EQ(Connect(ctx, first, "a.example.com")->state(), TlsSession::State::kEstablished);
  SslSessionPtr session(first.Get1Session());
  RawClient other(configure);
  other.SetSession(session.get());
  auto s = Connect(ctx, other, "b.example.com");
  EXPECT_EQ(s->state(), TlsSession::State::kEstablished) << s->failure_reason();
  EXPECT_FALSE(s->resumed());
  EXPECT_EQ(PeerCn(other), "CN=b.example.com");
}

INSTANTIATE_TEST_SUITE_P(
    All, ResumptionTest,
    ::testing::Values(ResumeCase{TLS1_3_VERSION, true}, ResumeCase{TLS1_3_VERSION, false},
                      ResumeCase{TLS1_2_VERSION, true}, ResumeCase{TLS1_2_VERSION, false}),
    [](const auto& param_info) {
      return std::string(param_info.param.version == TLS1_3_VERSION ? "Tls13" : "Tls12") +
             (param_info.param.tickets ? "Ticket" : "Cache");
    });

TEST_F(ServerTest, TicketKeyRotationAcceptsThePreviousKey) {
  auto keys = *TicketKeySet::Create(/*keep_previous=*/1);
  ListenerTlsOptions options{.ticket_keys = keys};
  auto ctx = Build({Spec("a", {"a.example.com"}, {ca.Leaf({"a.example.com"})})}, options);
  auto connect = [&](SSL_SESSION* resume) {
    RawClient client;
    if (resume) client.SetSession(resume);
    auto server = Connect(ctx, client, "a.example.com");
    EXPECT_EQ(server->state(), TlsSession::State::kEstablished);
    return std::make_pair(server->resumed(), SslSessionPtr(client.Get1Session()));
  };
  auto [fresh, ticket_k1] = connect(nullptr);
  EXPECT_FALSE(fresh);
  ASSERT_TRUE(keys->RotateRandom().ok());  // K2 current, K1 previous
  auto [resumed_k1, ticket_k2] = connect(ticket_k1.get());
  EXPECT_TRUE(resumed_k1) << "a ticket from the previous key must still be accepted";
  ASSERT_TRUE(keys->RotateRandom().ok());  // K3 current, K2 previous, K1 gone
  auto [resumed_k2, unused] = connect(ticket_k2.get());
  EXPECT_TRUE(resumed_k2) << "the renewed ticket was sealed with K2";
  auto [resumed_gone, unused2] = connect(ticket_k1.get());
  EXPECT_FALSE(resumed_gone) << "K1 was retired two rotations ago";
  EXPECT_EQ(keys->size(), 2u);
}

TEST_F(ServerTest, TicketsSurviveARebuildWithTheSameKeys) {
  auto keys = *TicketKeySet::Create();
  auto ctx = Build({Spec("a", {"a.example.com"}, {ca.Leaf({"a.example.com"})})},
                   ListenerTlsOptions{.ticket_keys = keys});
  RawClient first;
  Connect(ctx, first, "a.example.com");
  SslSessionPtr session(first.Get1Session());
  auto rebuilt = ctx->Rebuild(store);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().message;
  RawClient again;
  again.SetSession(session.get());
  EXPECT_TRUE(Connect(*rebuilt, again, "a.example.com")->resumed());
}

TEST_F(ServerTest, ConcurrentHandshakesWhileTicketKeysRotate) {
  auto keys = *TicketKeySet::Create();
  auto ctx =
      Build({Spec("a", {"a.example.com"}, {ca.Leaf({"a.example.com"})}),
             Spec("b", {"b.example.com"}, {ca.Leaf({"b.example.com"}, {}, KeyType::kRsa2048)})},
            ListenerTlsOptions{.ticket_keys = keys, .session_cache_size = 16});
  constexpr int kThreads = 4, kPerThread = 40;
  std::atomic<int> established{0}, resumed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      SslSessionPtr last;
      for (int i = 0; i < kPerThread; ++i) {
        // Alternate TLS 1.2 (session cache) and 1.3 (tickets), and servers.
        const bool tls12 = (i / 2) % 2 == 1;
        RawClient client([tls12](SSL_CTX* c) {
          if (tls12) SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
        });
        if (last && i % 2 == 1) client.SetSession(last.get());
        auto server = Connect(ctx, client, (t + i / 4) % 2 ? "a.example.com" : "b.example.com");
        if (server->state() == TlsSession::State::kEstablished) ++established;
        if (server->resumed()) ++resumed;
        last.reset(client.Get1Session());
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(keys->RotateRandom().ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(established.load(), kThreads * kPerThread);
  EXPECT_GT(resumed.load(), 0);
  EXPECT_LE(ctx->session_cache_stats().entries, 16u);
}

// ------------------------------------------------------ client certificates ---

class MutualTest : public ServerTest {
 protected:
  void SetUp() override {
    good_client = client_ca.Leaf({"client.example.com"}, {"spiffe://clients.local/ns/a/sa/b"});
  }
  std::shared_ptr<const ServerContext> MutualServer(
      const std::function<void(routing::ServerTls&)>& tweak = {},
      ServerTlsMode mode = ServerTlsMode::kMutual) {
    ServerSpec spec = Spec("m", {"m.example.com"}, {server_cert}, mode);
    if (tweak) tweak(spec.tls);
    return Build({spec});
  }
  std::unique_ptr<TlsSession> ConnectWith(std::shared_ptr<const ServerContext> ctx,
                                          const std::shared_ptr<const CertifiedKey>& cert,
                                          RawClient& client) {
    if (cert) client.UseCertificate(*cert);
    return Connect(std::move(ctx), client, "m.example.com");
  }
  std::shared_ptr<const CertifiedKey> server_cert = ca.Leaf({"m.example.com"});
  std::shared_ptr<const CertifiedKey> good_client;
};

TEST_F(MutualTest, NoClientCertificateIsRejected) {
  RawClient client;
  auto server = ConnectWith(MutualServer(), nullptr, client);
  EXPECT_EQ(server->state(), TlsSession::State::kFailed);
  EXPECT_EQ(server->failure(), TlsFailure::kPeerCertificateMissing);
  EXPECT_EQ(server->failure_reason(), "TLS_error:peer did not return a certificate");
  EXPECT_TRUE(client.failed());  // TLS 1.3: the alert arrives after the client's Finished
  EXPECT_NE(client.error().find("certificate required"), std::string::npos) << client.error();
}

TEST_F(MutualTest, CertificateFromAnotherCaIsRejected) {
  TestCa other = TestCa::Create("clients.local");
  RawClient client;
  auto server = ConnectWith(MutualServer(), other.Leaf({"client.example.com"}), client);
  EXPECT_EQ(server->failure(), TlsFailure::kPeerCertificateRejected);
  EXPECT_EQ(server->failure_reason(),
            "TLS_error:certificate verify failed:client certificate: unable to get local issuer "
            "certificate");
  EXPECT_NE(client.error().find("unknown ca"), std::string::npos) << client.error();
}

TEST_F(MutualTest, WrongSanIsRejected) {
  auto ctx = MutualServer([](routing::ServerTls& tls) {
    tls.subject_alt_names = {"spiffe://clients.local/ns/a/sa/other", "billing.example.com"};
  });
  RawClient client;
  auto server = ConnectWith(ctx, good_client, client);
  EXPECT_EQ(server->failure(), TlsFailure::kPeerCertificateRejected);
  EXPECT_EQ(server->failure_reason(),
            "TLS_error:certificate verify failed:client certificate SAN not in subject_alt_names "
            "(has DNS:client.example.com, URI:spiffe://clients.local/ns/a/sa/b)");
  EXPECT_NE(client.error().find("bad certificate"), std::string::npos) << client.error();
}

TEST_F(MutualTest, WrongPinIsRejected) {
  auto other = client_ca.Leaf({"client.example.com"});
  auto ctx = MutualServer([&](routing::ServerTls& tls) {
    tls.verify_certificate_spki = {other->info().spki_sha256_base64};
  });
  RawClient client;
  auto server = ConnectWith(ctx, good_client, client);
  EXPECT_EQ(server->failure(), TlsFailure::kPeerCertificateRejected);
  EXPECT_NE(server->failure_reason().find(
                "matches no verify_certificate_spki/verify_certificate_hash pin"),
            std::string::npos)
      << server->failure_reason();
}

TEST_F(MutualTest, RevokedCertificateIsRejected) {
  std::vector<std::string> serials = {good_client->info().serial_hex};
  files.Put("client.crl", *CreateCrlPem(*client_ca.root, serials, NowSeconds()));
  auto ctx = MutualServer([](routing::ServerTls& tls) { tls.ca_crl = "client.crl"; });
  RawClient client;
  auto server = ConnectWith(ctx, good_client, client);
  EXPECT_EQ(server->failure_reason(),
            "TLS_error:certificate verify failed:client certificate: certificate revoked");
  RawClient other;
  EXPECT_EQ(ConnectWith(ctx, client_ca.Leaf({"x"}), other)->state(),
            TlsSession::State::kEstablished);
}

std::string ColonHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i) out.push_back(':');
    out.push_back(static_cast<char>(std::toupper(hex[i])));
    out.push_back(static_cast<char>(std::toupper(hex[i + 1])));
  }
  return out;
}

TEST_F(MutualTest, RightCertificateIsAcceptedAndXfccBuilt) {
  auto ctx = MutualServer([&](routing::ServerTls& tls) {
    tls.subject_alt_names = {"spiffe://clients.local/ns/a/sa/b"};
    tls.verify_certificate_spki = {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
    // Either pin list may match; the hash is given upper-case with colons.
    tls.verify_certificate_hash = {ColonHex(good_client->info().sha256_hex)};
  });
  RawClient client;
  auto server = ConnectWith(ctx, good_client, client);
  ASSERT_EQ(server->state(), TlsSession::State::kEstablished) << server->failure_reason();
  EXPECT_TRUE(server->peer_verified());
  ASSERT_NE(server->peer_certificate(), nullptr);
  EXPECT_EQ(server->peer_certificate()->spiffe_id, "spiffe://clients.local/ns/a/sa/b");
  EXPECT_EQ(BuildXfcc(*server),
            "Hash=" + good_client->info().sha256_hex +
                ";Subject=\"CN=client.example.com\";URI=spiffe://clients.local/ns/a/sa/b;"
                "DNS=client.example.com");
  XfccOptions with_cert;
  with_cert.cert = true;
  const std::string xfcc = BuildXfcc(*server, with_cert);
  EXPECT_NE(xfcc.find(";Cert=\"-----BEGIN%20CERTIFICATE-----%0A"), std::string::npos) << xfcc;
}

TEST_F(MutualTest, OptionalMutualAcceptsNoCertificateButNotABadOne) {
  auto ctx = MutualServer({}, ServerTlsMode::kOptionalMutual);
  RawClient anonymous;
  auto plain = ConnectWith(ctx, nullptr, anonymous);
  EXPECT_EQ(plain->state(), TlsSession::State::kEstablished) << plain->failure_reason();
  EXPECT_FALSE(plain->has_peer_certificate());
  EXPECT_FALSE(plain->peer_verified());
  EXPECT_EQ(BuildXfcc(*plain), "");
  RawClient good;
  auto with_cert = ConnectWith(ctx, good_client, good);
  EXPECT_TRUE(with_cert->peer_verified());
  TestCa other = TestCa::Create();
  RawClient bad;
  EXPECT_EQ(ConnectWith(ctx, other.Leaf({"x"}), bad)->failure(),
            TlsFailure::kPeerCertificateRejected);
}

TEST_F(MutualTest, InsecureSkipVerifyAcceptsButRecords) {
  auto ctx = MutualServer([](routing::ServerTls& tls) { tls.insecure_skip_verify = true; });
  TestCa other = TestCa::Create("elsewhere");
  auto stranger = other.Leaf({"stranger.example.com"});
  RawClient client;
  auto server = ConnectWith(ctx, stranger, client);
  ASSERT_EQ(server->state(), TlsSession::State::kEstablished) << server->failure_reason();
  EXPECT_FALSE(server->peer_verified());
  EXPECT_EQ(server->peer_verify_detail(),
            "client certificate: unable to get local issuer certificate");
  EXPECT_NE(BuildXfcc(*server).find("DNS=stranger.example.com"), std::string::npos);
}

TEST_F(MutualTest, IstioMutualChecksTheSpiffeIdentity) {
  auto now = NowSeconds();
  auto mesh_root = *CreateRootCa(RootOptions{.trust_domain = "cluster.local"}, now);
  auto svid_of = [&](const std::string& id) {
    auto issued = IssueSvid(*mesh_root, *ParseSpiffeId(id), {}, now);
    return *CertifiedKey::FromPem(issued->cert_chain_pem, issued->key_pem);
  };
  MeshIdentity mesh{"cluster.local", svid_of("spiffe://cluster.local/ns/gw/sa/gatehouse"),
                    *TrustBundle::FromPem(mesh_root->ChainPem())};
  ServerSpec spec;
  spec.name = "mesh";
  spec.hosts = {"*"};
  spec.tls.mode = ServerTlsMode::kIstioMutual;
  auto ctx = Build({spec}, {}, &mesh);

  RawClient sidecar;
  auto ok = ConnectWith(ctx, svid_of("spiffe://cluster.local/ns/shop/sa/cart"), sidecar);
  ASSERT_EQ(ok->state(), TlsSession::State::kEstablished) << ok->failure_reason();
  // By= carries the gateway's own identity.
  EXPECT_EQ(
      BuildXfcc(*ok),
      "By=spiffe://cluster.local/ns/gw/sa/gatehouse;Hash=" + ok->peer_certificate()->sha256_hex +
          ";Subject=\"O=gatehouse\";URI=spiffe://cluster.local/ns/shop/sa/cart");

  CertificateSpec no_uri;
  no_uri.dns_names = {"cart.shop"};
  RawClient dns_only;
  auto rejected =
      ConnectWith(ctx, *IssueWithNewKey(*mesh_root, no_uri, KeyType::kEcdsaP256, now), dns_only);
  EXPECT_EQ(rejected->failure_reason(),
            "TLS_error:certificate verify failed:client certificate must carry exactly one URI "
            "SAN, has 0");
}

TEST_F(ServerTest, XfccNeverCarriesControlCharacters) {
  CertificateSpec spec;
  spec.common_name = "evil";
  spec.dns_names = {"evil.example.com\r\nx-injected: 1", "a,b;c=d"};
  auto evil = *IssueWithNewKey(*client_ca.root, spec, KeyType::kEcdsaP256, NowSeconds());
  auto ctx = Build(
      {Spec("m", {"m.example.com"}, {ca.Leaf({"m.example.com"})}, ServerTlsMode::kOptionalMutual)});
  RawClient client;
  client.UseCertificate(*evil);
  auto server = Connect(ctx, client, "m.example.com");
  ASSERT_EQ(server->state(), TlsSession::State::kEstablished) << server->failure_reason();
  const std::string xfcc = BuildXfcc(*server);
  EXPECT_EQ(xfcc.find('\r'), std::string::npos);
  EXPECT_EQ(xfcc.find('\n'), std::string::npos);
  EXPECT_NE(xfcc.find("DNS=evil.example.com%0D%0Ax-injected: 1"), std::string::npos) << xfcc;
  EXPECT_NE(xfcc.find("DNS=\"a,b;c=d\""), std::string::npos) << xfcc;
}

}  // namespace
}  // namespace gh::tls
