#include "tls/cert_info.h"

#include <gtest/gtest.h>

#include <fstream>

#include "base/strings.h"
#include "tests/unit/tls/test_pki.h"

namespace gh::tls {
namespace {

using testing::TestCa;

TEST(CertInfo, ParsesChainAndAgreesWithOpenSslCli) {
  const auto now = NowSeconds();
  TestCa ca = TestCa::Create("corp.example");
  CertificateSpec spec;
  spec.common_name = "www.example.com";
  spec.organization = "Example, Inc.";
  spec.dns_names = {"www.example.com", "*.api.example.com"};
  spec.uris = {"spiffe://corp.example/ns/web/sa/front"};
  spec.ips = {"192.0.2.7", "2001:db8::1"};
  spec.ttl = std::chrono::hours(48);
  auto leaf = IssueWithNewKey(*ca.root, spec, KeyType::kRsa2048, now);
  ASSERT_TRUE(leaf.ok()) << leaf.error().message;

  const std::string pem = (*leaf)->ChainPem() + ca.RootPem();
  auto chain = ParsePemChainInfo(pem);
  ASSERT_TRUE(chain.ok()) << chain.error().message;
  ASSERT_EQ(chain->size(), 2u);
  const CertInfo& info = chain->front();
  EXPECT_EQ(info.subject, "CN=www.example.com,O=Example\\, Inc.");
  EXPECT_EQ(info.issuer, "CN=corp.example,O=gatehouse");
  EXPECT_EQ(info.dns_sans, (std::vector<std::string>{"www.example.com", "*.api.example.com"}));
  EXPECT_EQ(info.ip_sans, (std::vector<std::string>{"192.0.2.7", "2001:db8:0:0:0:0:0:1"}));
  EXPECT_EQ(info.spiffe_id, "spiffe://corp.example/ns/web/sa/front");
  EXPECT_EQ(info.key_type, "RSA 2048");
  EXPECT_FALSE(info.is_ca);
  EXPECT_TRUE(chain->back().is_ca);
  EXPECT_EQ(info.SecondsToExpiry(now), 48 * 3600);
  EXPECT_TRUE(info.ValidAt(now));
  EXPECT_FALSE(info.ValidAt(now + std::chrono::hours(49)));
  EXPECT_EQ(info.spki_sha256_base64.size(), 44u);

  // Fingerprint and serial as the openssl CLI prints them.
  const std::string dir = testing::MakeTempDir();
  std::ofstream(dir + "/leaf.pem") << (*leaf)->ChainPem();
  std::string out;
  ASSERT_EQ(testing::RunCommand(
                "openssl x509 -noout -fingerprint -sha256 -serial -in " + dir + "/leaf.pem", &out),
            0);
  std::string fp = info.sha256_hex, expected_fp;
  for (size_t i = 0; i < fp.size(); i += 2)
    expected_fp += (i ? ":" : "") + AsciiLowered(fp.substr(i, 2));
  EXPECT_NE(AsciiLowered(out).find(expected_fp), std::string::npos) << out << "\n" << expected_fp;
  EXPECT_NE(AsciiLowered(out).find("serial=" + info.serial_hex), std::string::npos) << out;
  testing::RemoveTree(dir);
}

TEST(CertInfo, SpiffeIdNeedsExactlyOneUriSan) {
  TestCa ca = TestCa::Create();
  auto two = ca.Leaf({}, {"spiffe://test.local/ns/a/sa/b", "spiffe://test.local/ns/c/sa/d"});
  EXPECT_TRUE(two->info().spiffe_id.empty());
  auto not_spiffe = ca.Leaf({}, {"https://example.com/x"});
  EXPECT_TRUE(not_spiffe->info().spiffe_id.empty());
  auto one = ca.Leaf({"svc.local"}, {"spiffe://test.local/ns/a/sa/b"});
  EXPECT_EQ(one->info().spiffe_id, "spiffe://test.local/ns/a/sa/b");
}

TEST(CertInfo, RejectsGarbage) {
  EXPECT_FALSE(ParsePemChainInfo("").ok());
  EXPECT_FALSE(ParsePemChainInfo("hello").ok());
  EXPECT_FALSE(
      ParsePemChainInfo("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
}

}  // namespace
}  // namespace gh::tls
