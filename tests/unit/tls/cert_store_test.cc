// CertStore: loading, validation, hot reload (a broken pair keeps the old
// one), and contexts rebuilt from it serving the new certificate.
#include "tls/cert_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/unit/tls/test_pki.h"
#include "tls/server_context.h"
#include "tls/session.h"

namespace gh::tls {
namespace {

using testing::MemFiles;
using testing::RawClient;
using testing::TestCa;

std::string ServedSha256(const std::shared_ptr<const ServerContext>& ctx) {
  RawClient client;
  client.SetSni("www.example.com");
  auto server = TlsSession::NewServer(ctx);
  testing::Pump(client, **server);
  X509* cert = SSL_get0_peer_certificate(client.ssl());
  return cert ? CertInfoFromX509(cert).sha256_hex : "";
}

class CertStoreTest : public ::testing::Test {
 protected:
  ServerSpec Spec() {
    ServerSpec spec;
    spec.name = "www";
    spec.hosts = {"www.example.com"};
    spec.tls.mode = routing::ServerTlsMode::kSimple;
    spec.tls.certificates = {{"tls.crt", "tls.key"}};
    return spec;
  }
  TestCa ca = TestCa::Create();
  MemFiles files;
  CertStore store{files.Reader()};
};

TEST_F(CertStoreTest, LoadsOnceAndValidatesThePair) {
  auto first = ca.Leaf({"www.example.com"});
  files.PutPair("tls", *first);
  auto a = store.KeyPair({"tls.crt", "tls.key"});
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto b = store.KeyPair({"tls.crt", "tls.key"});
  EXPECT_EQ(a->get(), b->get());  // shared, not re-parsed
  EXPECT_EQ((*a)->info().sha256_hex, first->info().sha256_hex);

  files.Put("other.crt", first->ChainPem());
  files.Put("other.key", ca.Leaf({"x"})->KeyPem());
  auto mismatch = store.KeyPair({"other.crt", "other.key"});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("private key does not match the certificate"),
            std::string::npos);
  files.Put("garbage.crt", "not a certificate");
  files.Put("garbage.key", first->KeyPem());
  EXPECT_FALSE(store.KeyPair({"garbage.crt", "garbage.key"}).ok());
  EXPECT_FALSE(store.KeyPair({"missing.crt", "missing.key"}).ok());
  EXPECT_FALSE(store.KeyPair({"tls.crt", ""}).ok());
}

TEST_F(CertStoreTest, ReloadKeepsTheOldPairWhenTheNewOneIsBroken) {
  auto v1 = ca.Leaf({"www.example.com"});
  files.PutPair("tls", *v1);
  auto ctx_v1 = *ServerContext::Build({Spec()}, {}, store);
  EXPECT_EQ(ServedSha256(ctx_v1), v1->info().sha256_hex);

  // Nothing changed on disk: nothing to do.
  auto same = store.Reload();
  EXPECT_FALSE(same.any_changed());
  EXPECT_TRUE(same.errors.empty());

  // A half-written rotation: new certificate, old key.
  auto v2 = ca.Leaf({"www.example.com"});
  files.Put("tls.crt", v2->ChainPem());
  auto broken = store.Reload();
  EXPECT_FALSE(broken.any_changed());
  ASSERT_EQ(broken.errors.size(), 1u);
  EXPECT_NE(broken.errors[0].find("does not match"), std::string::npos) << broken.errors[0];
  EXPECT_NE(broken.errors[0].find("keeping the previous certificate"), std::string::npos);
  auto still_v1 = ctx_v1->Rebuild(store);
  ASSERT_TRUE(still_v1.ok());
  EXPECT_EQ(ServedSha256(*still_v1), v1->info().sha256_hex);

  // The key arrives: the new pair is loaded and served by a rebuilt context,
  // while the old context keeps serving the old certificate.
  files.Put("tls.key", v2->KeyPem());
  auto fixed = store.Reload();
  EXPECT_EQ(fixed.changed, std::vector<std::string>{"tls.crt"});
  EXPECT_TRUE(fixed.errors.empty());
  auto ctx_v2 = ctx_v1->Rebuild(store);
  ASSERT_TRUE(ctx_v2.ok());
  EXPECT_EQ(ServedSha256(*ctx_v2), v2->info().sha256_hex);
  EXPECT_EQ(ServedSha256(ctx_v1), v1->info().sha256_hex);

  // A deleted file is an error too, and the pair stays.
  files.Remove("tls.key");
  auto missing = store.Reload();
  EXPECT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(ServedSha256(*(*ctx_v2)->Rebuild(store)), v2->info().sha256_hex);
}

TEST_F(CertStoreTest, TrustBundlesReloadAndInventoryReportsExpiry) {
  files.PutPair("tls", *ca.Leaf({"www.example.com"}));
  files.Put("ca.pem", ca.RootPem());
  ASSERT_TRUE(store.KeyPair({"tls.crt", "tls.key"}).ok());
  auto trust = store.Trust("ca.pem", "");
  ASSERT_TRUE(trust.ok());
  EXPECT_FALSE((*trust)->has_crl());
  TestCa other = TestCa::Create("other.local");
  files.Put("ca.pem", ca.RootPem() + other.RootPem());
  auto report = store.Reload();
  EXPECT_EQ(report.changed, std::vector<std::string>{"ca.pem"});
  auto reloaded = store.Trust("ca.pem", "");
  EXPECT_EQ((*reloaded)->certificates().size(), 2u);
  EXPECT_NE((*reloaded)->fingerprint(), (*trust)->fingerprint());

  const auto now = NowSeconds();
  const auto inventory = store.Inventory();
  ASSERT_EQ(inventory.size(), 3u);  // one leaf, two CAs
  for (const auto& entry : inventory) {
    EXPECT_GT(entry.info.SecondsToExpiry(now), 0);
  }
  EXPECT_EQ(inventory[0].path, "tls.crt");
  EXPECT_NEAR(static_cast<double>(inventory[0].info.SecondsToExpiry(now)), 24 * 3600.0, 5.0);
}

TEST_F(CertStoreTest, NamedCredentials) {
  store.SetNamedCredential("web", NamedCredential{{{"a.crt", "a.key"}}, "ca.pem", ""});
  ASSERT_NE(store.FindNamedCredential("web"), nullptr);
  EXPECT_EQ(store.FindNamedCredential("web")->ca_certificates, "ca.pem");
  EXPECT_EQ(store.FindNamedCredential("nope"), nullptr);
}

TEST(TrustBundle, RejectsGarbageAndLoadsCrls) {
  EXPECT_FALSE(TrustBundle::FromPem("").ok());
  EXPECT_FALSE(TrustBundle::FromPem("junk").ok());
  TestCa ca = TestCa::Create();
  EXPECT_FALSE(TrustBundle::FromPem(ca.RootPem(), "junk").ok());
  std::vector<std::string> none;
  auto crl = CreateCrlPem(*ca.root, none, NowSeconds());
  ASSERT_TRUE(crl.ok());
  auto bundle = TrustBundle::FromPem(ca.RootPem() + ca.RootPem(), *crl);  // duplicate CA is fine
  ASSERT_TRUE(bundle.ok()) << bundle.error().message;
  EXPECT_TRUE((*bundle)->has_crl());
  EXPECT_TRUE(TrustBundle::SystemRoots().ok());
}

TEST(DiskFileReader, ReadsFilesAndReportsErrors) {
  const std::string dir = testing::MakeTempDir();
  std::ofstream(dir + "/f.pem") << "contents";
  FileReader read = DiskFileReader();
  auto ok = read(dir + "/f.pem");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "contents");
  auto missing = read(dir + "/missing.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("No such file"), std::string::npos);
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace gh::tls
