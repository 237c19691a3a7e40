// TLS origination to upstreams (DestinationRule traffic_policy.tls): SIMPLE
// with CA and SAN checks, ISTIO_MUTUAL with the gateway's own SPIFFE
// identity from the embedded CA, and the `gatehouse ca` commands.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "tests/support/harness.h"

namespace gh::test {
namespace {

constexpr std::string_view kConfig = R"(
[proxy]
workers = 1
${MESH}

[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "http", protocol = "HTTP" }
hosts = ["*"]

[[service_entry]]
name = "secure"
hosts = ["api.backend.test"]
ports = [{ number = 443, name = "https", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { https = ${UPSTREAM} }${ENDPOINT_EXTRA} }]

[[destination_rule]]
name = "secure"
host = "api.backend.test"
traffic_policy = { tls = ${TLS} }

[[virtual_service]]
name = "r"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
route = [{ destination = { host = "api.backend.test", port = { number = 443 } } }]
)";

struct Origination {
  std::string tls;
  std::string mesh;
  std::string endpoint_extra;
};

class TlsOrigination : public ::testing::Test {
 protected:
  void SetUp() override { ca_ = MakeCa(dir_.path(), "Upstream CA"); }
  void Start(const UpstreamOptions& upstream, const Origination& o) {
    upstream_ = std::make_unique<UpstreamProcess>(UpstreamProcess::Start(upstream));
    port_ = FreePort();
    gateway_ = std::make_unique<GatehouseProcess>(
        GatehouseProcess::Start(Subst(kConfig, {{"PORT", std::to_string(port_)},
                                                {"UPSTREAM", std::to_string(upstream_->Port())},
                                                {"TLS", o.tls},
                                                {"MESH", o.mesh},
                                                {"ENDPOINT_EXTRA", o.endpoint_extra}}),
                                {.wait_ports = {port_}}));
  }
  CurlResult Get() {
    return Curl(
        {"-H", "Host: api.backend.test", "http://127.0.0.1:" + std::to_string(port_) + "/"});
  }

  TempDir dir_;
  CertFiles ca_;
  std::unique_ptr<UpstreamProcess> upstream_;
  std::unique_ptr<GatehouseProcess> gateway_;
  int port_ = 0;
};

TEST_F(TlsOrigination, SimpleVerifiesTheUpstreamAndSendsTheHostAsSni) {
  const CertFiles leaf = MakeLeaf(ca_, {"api.backend.test"});
  Start({.tls = true, .cert = leaf.chain, .key = leaf.key},
        {.tls = "{ mode = \"SIMPLE\", ca_certificates = \"" + ca_.cert + "\" }"});
  auto r = Get();
  ASSERT_EQ(r.status, 200) << r.Describe() << gateway_->ReadStderr();
  Json echo = ParseJson(r.body);
  EXPECT_EQ(echo["tls"]["sni"], "api.backend.test");
  // Pooled: a second request reuses the TLS connection.
  ASSERT_EQ(Get().status, 200);
  EXPECT_EQ(upstream_->Stats().accepts, 1);
}

TEST_F(TlsOrigination, SanMismatchIs503UFWithTheReasonLogged) {
  const CertFiles leaf = MakeLeaf(ca_, {"other.backend.test"});
  Start({.tls = true, .cert = leaf.chain, .key = leaf.key},
        {.tls = "{ mode = \"SIMPLE\", ca_certificates = \"" + ca_.cert +
                "\", subject_alt_names = [\"api.backend.test\"] }"});
  auto r = Get();
  EXPECT_EQ(r.status, 503) << r.Describe();
  gateway_->WaitForAccessLogLines(1, milliseconds(3000));
  const auto lines = gateway_->AccessLogLines();
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find(" 503 UF"), std::string::npos) << lines.back();
  EXPECT_NE(lines.back().find("certificate verify failed"), std::string::npos) << lines.back();
}

TEST_F(TlsOrigination, UntrustedUpstreamRejected) {
  std::filesystem::create_directories(dir_.path() + "/other");
  const CertFiles other_ca = MakeCa(dir_.path() + "/other", "Other CA");
  const CertFiles leaf = MakeLeaf(other_ca, {"api.backend.test"});
  Start({.tls = true, .cert = leaf.chain, .key = leaf.key},
        {.tls = "{ mode = \"SIMPLE\", ca_certificates = \"" + ca_.cert + "\" }"});
  EXPECT_EQ(Get().status, 503);
}

class MeshOrigination : public TlsOrigination {
 protected:
  void SetUp() override {
    TlsOrigination::SetUp();
    ca_dir_ = dir_.path() + "/mesh-ca";
    CommandResult init =
        RunCommand({GatehouseBin(), "ca", "init", "--trust-domain", "mesh.test", "--out", ca_dir_});
    ASSERT_EQ(init.exit_code, 0) << init.Describe();
    // The upstream SVID from the same CA (namespace of its ServiceEntry).
    const std::string out = dir_.path() + "/backend";
    CommandResult issue =
        RunCommand({GatehouseBin(), "ca", "issue", "--ca-dir", ca_dir_, "--spiffe",
                    "spiffe://mesh.test/ns/default/sa/backend", "--out", out});
    ASSERT_EQ(issue.exit_code, 0) << issue.Describe();
    upstream_cert_ = out + "/cert-chain.pem";
    upstream_key_ = out + "/key.pem";
  }
  std::string MeshTable(std::string_view extra = "") const {
    return "[mesh]\nenabled = true\ntrust_domain = \"mesh.test\"\nca_dir = \"" + ca_dir_ +
           "\"\nnamespace = \"edge\"\nservice_account = \"ingress\"\n" + std::string(extra);
  }
  std::string ca_dir_, upstream_cert_, upstream_key_;
};

TEST_F(MeshOrigination, IstioMutualPresentsTheGatewayIdentity) {
  Start({.tls = true,
         .cert = upstream_cert_,
         .key = upstream_key_,
         .ca = ca_dir_ + "/root-cert.pem",
         .require_client_cert = true},
        {.tls = "{ mode = \"ISTIO_MUTUAL\" }",
         .mesh = MeshTable(),
         .endpoint_extra = ", service_account = \"backend\""});
  auto r = Get();
  ASSERT_EQ(r.status, 200) << r.Describe() << gateway_->ReadStderr();
  EXPECT_EQ(ParseJson(r.body)["tls"]["peer_spiffe_id"], "spiffe://mesh.test/ns/edge/sa/ingress");
}

TEST_F(MeshOrigination, SvidRotatesAtHalfLifeWithoutDroppingConnections) {
  Start({.tls = true,
         .cert = upstream_cert_,
         .key = upstream_key_,
         .ca = ca_dir_ + "/root-cert.pem",
         .require_client_cert = true},
        {.tls = "{ mode = \"ISTIO_MUTUAL\" }",
         .mesh = MeshTable("certificate_ttl = \"10s\"\n"),
         .endpoint_extra = ", service_account = \"backend\""});
  ASSERT_EQ(Get().status, 200) << gateway_->ReadStderr();
  // Renewal is due at ~5 s (50 % of 10 s, with a little jitter).
  bool rotated = false;
  for (int i = 0; i < 40 && !rotated; ++i) {
    std::this_thread::sleep_for(milliseconds(250));
    rotated = gateway_->ReadStderr().find("publishing new TLS contexts") != std::string::npos;
  }
  EXPECT_TRUE(rotated) << gateway_->ReadStderr();
  auto after = Get();
  EXPECT_EQ(after.status, 200) << after.Describe();
  EXPECT_EQ(ParseJson(after.body)["tls"]["peer_spiffe_id"],
            "spiffe://mesh.test/ns/edge/sa/ingress");
  // The pooled upstream connection survived the rotation.
  EXPECT_EQ(upstream_->Stats().accepts, 1);
}

TEST_F(MeshOrigination, WrongPeerIdentityRejected) {
  Start({.tls = true,
         .cert = upstream_cert_,
         .key = upstream_key_,
         .ca = ca_dir_ + "/root-cert.pem",
         .require_client_cert = true},
        {.tls = "{ mode = \"ISTIO_MUTUAL\" }",
         .mesh = MeshTable(),
         // The destination is expected to run as "payments", not "backend".
         .endpoint_extra = ", service_account = \"payments\""});
  auto r = Get();
  EXPECT_EQ(r.status, 503) << r.Describe();
}

TEST(GatehouseCa, IssuedSvidParsesAsSpecified) {
  TempDir dir;
  const std::string ca_dir = dir.path() + "/ca";
  ASSERT_EQ(
      RunCommand({GatehouseBin(), "ca", "init", "--trust-domain", "example.org", "--out", ca_dir})
          .exit_code,
      0);
  CommandResult again =
      RunCommand({GatehouseBin(), "ca", "init", "--trust-domain", "example.org", "--out", ca_dir});
  EXPECT_NE(again.exit_code, 0) << "init must refuse to overwrite a CA";
  CommandResult root =
      RunCommand({"openssl", "x509", "-in", ca_dir + "/root-cert.pem", "-noout", "-text"});
  EXPECT_NE(root.out.find("CA:TRUE"), std::string::npos);
  EXPECT_NE(root.out.find("prime256v1"), std::string::npos);
  EXPECT_EQ(std::filesystem::status(ca_dir + "/root-key.pem").permissions() &
                std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  const std::string out = dir.path() + "/svid";
  ASSERT_EQ(RunCommand({GatehouseBin(), "ca", "issue", "--ca-dir", ca_dir, "--spiffe",
                        "spiffe://example.org/ns/shop/sa/cart", "--out", out})
                .exit_code,
            0);
  CommandResult leaf =
      RunCommand({"openssl", "x509", "-in", out + "/cert-chain.pem", "-noout", "-text"});
  EXPECT_NE(leaf.out.find("URI:spiffe://example.org/ns/shop/sa/cart"), std::string::npos);
  EXPECT_NE(leaf.out.find("CA:FALSE"), std::string::npos);
  EXPECT_NE(leaf.out.find("Digital Signature"), std::string::npos);
  EXPECT_NE(leaf.out.find("TLS Web Server Authentication, TLS Web Client Authentication"),
            std::string::npos);
  CommandResult verify = RunCommand(
      {"openssl", "verify", "-CAfile", ca_dir + "/root-cert.pem", out + "/cert-chain.pem"});
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  CommandResult dates = RunCommand({"openssl", "x509", "-in", out + "/cert-chain.pem", "-noout",
                                    "-checkend", std::to_string(23 * 3600)});
  EXPECT_EQ(dates.exit_code, 0) << "valid for less than 23 h";
  CommandResult expired = RunCommand({"openssl", "x509", "-in", out + "/cert-chain.pem", "-noout",
                                      "-checkend", std::to_string(25 * 3600)});
  EXPECT_NE(expired.exit_code, 0) << "default TTL should be 24 h";
}

}  // namespace
}  // namespace gh::test
