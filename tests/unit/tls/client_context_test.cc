// Upstream TLS (origination) through ClientContext + TlsSession against a
// ServerContext, all in memory.
#include "tls/client_context.h"

#include <gtest/gtest.h>

#include "tests/unit/tls/test_pki.h"
#include "tls/server_context.h"
#include "tls/session.h"

namespace gh::tls {
namespace {

using routing::ServerTlsMode;
using routing::UpstreamTls;
using routing::UpstreamTlsMode;
using testing::MemFiles;
using testing::Pump;
using testing::TestCa;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override { files.Put("ca.pem", ca.RootPem()); }

  std::shared_ptr<const ServerContext> Upstream(std::shared_ptr<const CertifiedKey> cert,
                                                ServerTlsMode mode = ServerTlsMode::kSimple,
                                                ListenerTlsOptions options = {}) {
    ServerSpec spec;
    spec.name = "upstream";
    spec.hosts = {"*"};
    spec.tls.mode = mode;
    spec.tls.certificates = {files.PutPair("upstream" + std::to_string(++counter), *cert)};
    if (mode == ServerTlsMode::kMutual) spec.tls.ca_certificates = "ca.pem";
    auto ctx = ServerContext::Build({spec}, std::move(options), store);
    EXPECT_TRUE(ctx.ok()) << ctx.error().message;
    return *ctx;
  }

  std::shared_ptr<const ClientContext> Client(UpstreamTls tls, ClientOptions options = {},
                                              const MeshIdentity* mesh = nullptr) {
    auto ctx = ClientContext::Build(tls, std::move(options), store, mesh);
    EXPECT_TRUE(ctx.ok()) << ctx.error().message;
    return ctx.ok() ? *ctx : nullptr;
  }

  struct Result {
    std::unique_ptr<TlsSession> client, server;
  };
  Result Connect(std::shared_ptr<const ClientContext> client_ctx,
                 std::shared_ptr<const ServerContext> server_ctx, const std::string& host) {
    auto client = TlsSession::NewClient(std::move(client_ctx), host);
    EXPECT_TRUE(client.ok()) << client.error().message;
    auto server = TlsSession::NewServer(std::move(server_ctx));
    Pump(**client, **server);
    return {std::move(*client), std::move(*server)};
  }

  static UpstreamTls Simple() {
    UpstreamTls tls;
    tls.mode = UpstreamTlsMode::kSimple;
    tls.ca_certificates = "ca.pem";
    return tls;
  }

  TestCa ca = TestCa::Create("test.local");
  MemFiles files;
  CertStore store{files.Reader()};
  int counter = 0;
};

TEST_F(ClientTest, SimpleVerifiesTheHostAndSendsItAsSni) {
  auto upstream = Upstream(ca.Leaf({"api.example.com"}));
  auto client = Client(Simple());
  auto ok = Connect(client, upstream, "api.example.com:8443");
  ASSERT_EQ(ok.client->state(), TlsSession::State::kEstablished) << ok.client->failure_reason();
  EXPECT_EQ(ok.client->sni(), "api.example.com");
  EXPECT_EQ(ok.server->sni(), "api.example.com");
  EXPECT_TRUE(ok.client->peer_verified());
  EXPECT_EQ(ok.client->alpn(), "http/1.1");

  auto mismatch = Connect(client, upstream, "other.example.com");
  EXPECT_EQ(mismatch.client->state(), TlsSession::State::kFailed);
  EXPECT_EQ(mismatch.client->failure(), TlsFailure::kPeerCertificateRejected);
  EXPECT_EQ(mismatch.client->failure_reason(),
            "TLS_error:certificate verify failed:upstream certificate does not match "
            "\"other.example.com\" (has DNS:api.example.com)");
  // The server sees the client's alert.
  EXPECT_EQ(mismatch.server->failure(), TlsFailure::kPeerAlert);
}

TEST_F(ClientTest, SubjectAltNamesOverrideTheHostCheck) {
  auto upstream = Upstream(ca.Leaf({"backend.internal"}, {"spiffe://test.local/ns/a/sa/b"}));
  UpstreamTls tls = Simple();
  tls.subject_alt_names = {"spiffe://test.local/ns/a/sa/other"};
  auto wrong = Connect(Client(tls), upstream, "api.example.com");
  EXPECT_EQ(wrong.client->failure_reason(),
            "TLS_error:certificate verify failed:upstream certificate SAN not in "
            "subject_alt_names (has DNS:backend.internal, URI:spiffe://test.local/ns/a/sa/b)");
  tls.subject_alt_names = {"nope.example.com", "backend.internal"};
  auto right = Connect(Client(tls), upstream, "api.example.com");
  EXPECT_EQ(right.client->state(), TlsSession::State::kEstablished)
      << right.client->failure_reason();
}

TEST_F(ClientTest, WildcardSanCoversOneLabel) {
  auto upstream = Upstream(ca.Leaf({"*.example.com"}));
  auto client = Client(Simple());
  EXPECT_EQ(Connect(client, upstream, "api.example.com").client->state(),
            TlsSession::State::kEstablished);
  EXPECT_EQ(Connect(client, upstream, "a.b.example.com").client->failure(),
            TlsFailure::kPeerCertificateRejected);
  EXPECT_EQ(Connect(client, upstream, "example.com").client->failure(),
            TlsFailure::kPeerCertificateRejected);
}

TEST_F(ClientTest, ExplicitSniAndIpHosts) {
  CertificateSpec spec;
  spec.dns_names = {"fixed.example.com"};
  spec.ips = {"192.0.2.10"};
  auto cert = *IssueWithNewKey(*ca.root, spec, KeyType::kEcdsaP256, NowSeconds());
  auto upstream = Upstream(cert);
  UpstreamTls tls = Simple();
  tls.sni = "fixed.example.com";
  auto fixed = Connect(Client(tls), upstream, "anything.example.org");
  EXPECT_EQ(fixed.server->sni(), "fixed.example.com");
  EXPECT_EQ(fixed.client->state(), TlsSession::State::kEstablished)
      << fixed.client->failure_reason();
  // An IP host: no SNI (RFC 6066), the IP SAN is checked.
  auto client = Client(Simple());
  auto by_ip = Connect(client, upstream, "192.0.2.10:443");
  EXPECT_EQ(by_ip.server->sni(), "");
  EXPECT_EQ(by_ip.client->state(), TlsSession::State::kEstablished)
      << by_ip.client->failure_reason();
  EXPECT_EQ(Connect(client, upstream, "192.0.2.11").client->failure(),
            TlsFailure::kPeerCertificateRejected);
}

TEST_F(ClientTest, SystemRootsDoNotTrustAPrivateCa) {
  auto upstream = Upstream(ca.Leaf({"api.example.com"}));
  UpstreamTls tls;
  tls.mode = UpstreamTlsMode::kSimple;  // no ca_certificates: system roots
  auto r = Connect(Client(tls), upstream, "api.example.com");
  EXPECT_EQ(r.client->failure_reason(),
            "TLS_error:certificate verify failed:upstream certificate: unable to get local "
            "issuer certificate");
}

TEST_F(ClientTest, InsecureSkipVerifyConnectsAndReports) {
  auto upstream = Upstream(TestCa::Create("elsewhere").Leaf({"api.example.com"}));
  UpstreamTls tls = Simple();
  tls.insecure_skip_verify = true;
  auto r = Connect(Client(tls), upstream, "wrong.example.com");
  ASSERT_EQ(r.client->state(), TlsSession::State::kEstablished) << r.client->failure_reason();
  EXPECT_FALSE(r.client->peer_verified());
  EXPECT_EQ(r.client->peer_verify_detail(),
            "upstream certificate: unable to get local issuer certificate");
}

TEST_F(ClientTest, MutualPresentsTheClientCertificate) {
  auto upstream = Upstream(ca.Leaf({"api.example.com"}), ServerTlsMode::kMutual);
  UpstreamTls tls = Simple();
  tls.mode = UpstreamTlsMode::kMutual;
  auto without = ClientContext::Build(tls, {}, store);
  EXPECT_FALSE(without.ok());
  auto me = ca.Leaf({"gateway.example.com"});
  auto files_of_me = files.PutPair("me", *me);
  tls.client_certificate = files_of_me.certificate_chain;
  tls.private_key = files_of_me.private_key;
  auto r = Connect(Client(tls), upstream, "api.example.com");
  ASSERT_EQ(r.client->state(), TlsSession::State::kEstablished) << r.client->failure_reason();
  ASSERT_NE(r.server->peer_certificate(), nullptr);
  EXPECT_EQ(r.server->peer_certificate()->sha256_hex, me->info().sha256_hex);
}

TEST_F(ClientTest, ClientResumesThroughItsSessionCache) {
  auto upstream = Upstream(ca.Leaf({"api.example.com"}), ServerTlsMode::kSimple,
                           ListenerTlsOptions{.ticket_keys = *TicketKeySet::Create()});
  auto client = Client(Simple());
  auto first = Connect(client, upstream, "api.example.com");
  ASSERT_EQ(first.client->state(), TlsSession::State::kEstablished);
  EXPECT_FALSE(first.client->resumed());
  first.client->Shutdown();
  auto second = Connect(client, upstream, "api.example.com");
  EXPECT_TRUE(second.client->resumed());
  EXPECT_TRUE(second.server->resumed());
  // Another SNI has no session to resume.
  auto other = Upstream(ca.Leaf({"other.example.com"}), ServerTlsMode::kSimple,
                        ListenerTlsOptions{.ticket_keys = *TicketKeySet::Create()});
  EXPECT_FALSE(Connect(client, other, "other.example.com").client->resumed());
}

TEST_F(ClientTest, ProfileKeyIsStableAndDistinguishesSettings) {
  UpstreamTls tls = Simple();
  auto a = Client(tls);
  auto rebuilt = a->Rebuild(store);
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(a->profile_key(), (*rebuilt)->profile_key());
  EXPECT_EQ(a->profile_key().rfind("tls:", 0), 0u);
  EXPECT_TRUE(a->sni_from_host());
  UpstreamTls with_sni = tls;
  with_sni.sni = "x.example.com";
  EXPECT_NE(a->profile_key(), Client(with_sni)->profile_key());
  EXPECT_FALSE(Client(with_sni)->sni_from_host());
  EXPECT_NE(a->profile_key(),
            Client(tls, ClientOptions{.alpn = {"h2", "http/1.1"}})->profile_key());
  UpstreamTls skip = tls;
  skip.insecure_skip_verify = true;
  EXPECT_NE(a->profile_key(), Client(skip)->profile_key());
  UpstreamTls disabled;
  EXPECT_EQ(ClientContext::ProfileKey(disabled, {}, nullptr), "plaintext");
  EXPECT_FALSE(ClientContext::Build(disabled, {}, store).ok());
}

TEST(HostParsing, StripPortAndIpLiterals) {
  EXPECT_EQ(StripPort("example.com:8443"), "example.com");
  EXPECT_EQ(StripPort("example.com"), "example.com");
  EXPECT_EQ(StripPort("[2001:db8::1]:443"), "2001:db8::1");
  EXPECT_EQ(StripPort("2001:db8::1"), "2001:db8::1");
  EXPECT_TRUE(IsIpLiteral("192.0.2.1"));
  EXPECT_TRUE(IsIpLiteral("2001:db8::1"));
  EXPECT_FALSE(IsIpLiteral("example.com"));
}

// ---------------------------------------------------------- ISTIO_MUTUAL ---

class IstioMutualTest : public ClientTest {
 protected:
  std::shared_ptr<const CertifiedKey> Svid(const std::string& id) {
    auto issued = IssueSvid(*mesh_root, *ParseSpiffeId(id), {}, NowSeconds());
    EXPECT_TRUE(issued.ok());
    return *CertifiedKey::FromPem(issued->cert_chain_pem, issued->key_pem);
  }
  void SetUp() override {
    ClientTest::SetUp();
    mesh_root = *CreateRootCa(RootOptions{.trust_domain = "cluster.local"}, NowSeconds());
    auto identity = IssueMeshIdentity(*mesh_root, SpiffeId{"cluster.local", "gw", "gatehouse"},
                                      std::chrono::hours(1), NowSeconds());
    ASSERT_TRUE(identity.ok()) << identity.error().message;
    gateway = std::move(*identity);
  }
  // An upstream that requires a client certificate from the mesh and reports
  // the SPIFFE ID it saw.
  std::shared_ptr<const ServerContext> MeshUpstream(std::shared_ptr<const CertifiedKey> cert) {
    MeshIdentity upstream_identity{"cluster.local", cert, gateway.trust_bundle};
    ServerSpec spec;
    spec.name = "svc";
    spec.hosts = {"*"};
    spec.tls.mode = ServerTlsMode::kIstioMutual;
    auto ctx = ServerContext::Build({spec}, {}, store, &upstream_identity);
    EXPECT_TRUE(ctx.ok()) << ctx.error().message;
    return *ctx;
  }
  std::shared_ptr<const ClientContext> MeshClient(std::vector<std::string> expected) {
    UpstreamTls tls;
    tls.mode = UpstreamTlsMode::kIstioMutual;
    return Client(tls, ClientOptions{.expected_identities = std::move(expected)}, &gateway);
  }

  std::shared_ptr<const CertifiedKey> mesh_root;
  MeshIdentity gateway;
};

TEST_F(IstioMutualTest, ExpectedIdentityIsAccepted) {
  auto upstream = MeshUpstream(Svid("spiffe://cluster.local/ns/shop/sa/cart"));
  auto r = Connect(MeshClient({"spiffe://cluster.local/ns/shop/sa/cart"}), upstream,
                   "cart.shop.svc.cluster.local");
  ASSERT_EQ(r.client->state(), TlsSession::State::kEstablished) << r.client->failure_reason();
  EXPECT_TRUE(r.client->peer_verified());
  EXPECT_EQ(r.client->peer_certificate()->spiffe_id, "spiffe://cluster.local/ns/shop/sa/cart");
  // The upstream saw the gateway's SPIFFE ID.
  ASSERT_NE(r.server->peer_certificate(), nullptr);
  EXPECT_EQ(r.server->peer_certificate()->spiffe_id, "spiffe://cluster.local/ns/gw/sa/gatehouse");
}

TEST_F(IstioMutualTest, UnexpectedIdentityIsRejected) {
  auto upstream = MeshUpstream(Svid("spiffe://cluster.local/ns/shop/sa/impostor"));
  auto r = Connect(MeshClient({"spiffe://cluster.local/ns/shop/sa/cart"}), upstream, "cart");
  EXPECT_EQ(r.client->failure_reason(),
            "TLS_error:certificate verify failed:upstream SPIFFE ID "
            "spiffe://cluster.local/ns/shop/sa/impostor is not an expected identity");
}

TEST_F(IstioMutualTest, ExactlyOneUriSanIsRequired) {
  CertificateSpec two;
  two.uris = {"spiffe://cluster.local/ns/shop/sa/cart", "spiffe://cluster.local/ns/x/sa/y"};
  auto cert = *IssueWithNewKey(*mesh_root, two, KeyType::kEcdsaP256, NowSeconds());
  auto r =
      Connect(MeshClient({"spiffe://cluster.local/ns/shop/sa/cart"}), MeshUpstream(cert), "cart");
  EXPECT_EQ(r.client->failure_reason(),
            "TLS_error:certificate verify failed:upstream certificate must carry exactly one URI "
            "SAN, has 2");
}

TEST_F(IstioMutualTest, OtherTrustDomainIsRejectedEvenWithoutAnExpectedList) {
  CertificateSpec foreign;
  foreign.uris = {"spiffe://other.domain/ns/shop/sa/cart"};
  auto cert = *IssueWithNewKey(*mesh_root, foreign, KeyType::kEcdsaP256, NowSeconds());
  auto r = Connect(MeshClient({}), MeshUpstream(cert), "cart");
  EXPECT_EQ(r.client->failure(), TlsFailure::kPeerCertificateRejected);
  EXPECT_NE(r.client->failure_reason().find("outside trust domain cluster.local"),
            std::string::npos)
      << r.client->failure_reason();
  // And a certificate from another mesh fails the chain.
  auto other_root = *CreateRootCa(RootOptions{.trust_domain = "cluster.local"}, NowSeconds());
  auto issued = IssueSvid(*other_root, SpiffeId{"cluster.local", "shop", "cart"}, {}, NowSeconds());
  auto stranger = *CertifiedKey::FromPem(issued->cert_chain_pem, issued->key_pem);
  auto chain = Connect(MeshClient({}), MeshUpstream(stranger), "cart");
  EXPECT_NE(chain.client->failure_reason().find("unable to get local issuer certificate"),
            std::string::npos);
}

TEST_F(IstioMutualTest, RequiresMeshIdentityAndNoFiles) {
  UpstreamTls tls;
  tls.mode = UpstreamTlsMode::kIstioMutual;
  EXPECT_FALSE(ClientContext::Build(tls, {}, store, nullptr).ok());
  tls.ca_certificates = "ca.pem";
  EXPECT_FALSE(ClientContext::Build(tls, {}, store, &gateway).ok());
  UpstreamTls bad_expected;
  bad_expected.mode = UpstreamTlsMode::kIstioMutual;
  EXPECT_FALSE(ClientContext::Build(bad_expected, ClientOptions{.expected_identities = {"cart"}},
                                    store, &gateway)
                   .ok());
}

}  // namespace
}  // namespace gh::tls
