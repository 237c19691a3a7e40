#include "tls/ca.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "tests/unit/tls/test_pki.h"

namespace gh::tls {
namespace {

using testing::MakeTempDir;
using testing::RemoveTree;
using testing::RunCommand;

std::string WriteTemp(const std::string& dir, const std::string& name, const std::string& data) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << data;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1))
    ++n;
  return n;
}

class CaTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir(); }
  void TearDown() override { RemoveTree(dir_); }
  std::string X509Text(const std::string& pem) {
    const std::string path = WriteTemp(dir_, "cert.pem", pem);
    std::string out;
    EXPECT_EQ(RunCommand("openssl x509 -noout -text -in " + path, &out), 0) << out;
    return out;
  }
  std::string dir_;
};

TEST_F(CaTest, RootMatchesTheSpecificationPerOpenSslCli) {
  const auto now = NowSeconds();
  auto root = CreateRootCa(RootOptions{.trust_domain = "mesh.example"}, now);
  ASSERT_TRUE(root.ok()) << root.error().message;
  const CertInfo& info = (*root)->info();
  EXPECT_TRUE(info.is_ca);
  EXPECT_EQ(info.subject, "CN=mesh.example,O=gatehouse");
  EXPECT_EQ(info.issuer, info.subject);
  EXPECT_EQ(info.key_type, "EC P-256");
  EXPECT_EQ(info.uri_sans, std::vector<std::string>{"spiffe://mesh.example"});
  EXPECT_EQ((info.not_after - now).count(), std::chrono::seconds(kRootValidity).count());
  EXPECT_EQ(CaTrustDomain(**root), "mesh.example");

  const std::string text = X509Text((*root)->ChainPem());
  EXPECT_NE(text.find("X509v3 Basic Constraints: critical\n                CA:TRUE"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("URI:spiffe://mesh.example"), std::string::npos);
  EXPECT_NE(text.find("Signature Algorithm: ecdsa-with-SHA256"), std::string::npos);
  EXPECT_NE(text.find("ASN1 OID: prime256v1"), std::string::npos);
  EXPECT_NE(text.find("X509v3 Subject Key Identifier"), std::string::npos);
  EXPECT_NE(text.find("X509v3 Authority Key Identifier"), std::string::npos);
  // 128-bit random serial: up to 32 hex digits, and not the same twice.
  auto other = CreateRootCa(RootOptions{.trust_domain = "mesh.example"}, now);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(info.serial_hex, (*other)->info().serial_hex);
  EXPECT_LE(info.serial_hex.size(), 32u);
  EXPECT_GE(info.serial_hex.size(), 24u);  // astronomically unlikely to be shorter
}

TEST_F(CaTest, SvidMatchesTheSpecificationPerOpenSslCli) {
  const auto now = NowSeconds();
  auto root = CreateRootCa(RootOptions{.trust_domain = "cluster.local"}, now);
  ASSERT_TRUE(root.ok());
  auto id = ParseSpiffeId("spiffe://cluster.local/ns/shop/sa/cart");
  ASSERT_TRUE(id.ok());
  auto svid = IssueSvid(**root, *id, {}, now);
  ASSERT_TRUE(svid.ok()) << svid.error().message;
  EXPECT_FALSE(svid->key_pem.empty());
  EXPECT_EQ(svid->info.uri_sans, std::vector<std::string>{id->ToString()});
  EXPECT_EQ(svid->info.spiffe_id, id->ToString());
  EXPECT_TRUE(svid->info.dns_sans.empty());
  EXPECT_FALSE(svid->info.is_ca);
  EXPECT_EQ((svid->info.not_after - now).count(), 24 * 3600);
  EXPECT_EQ((now - svid->info.not_before).count(), kBackdate.count());

  const std::string text = X509Text(svid->cert_chain_pem);
  EXPECT_NE(text.find("X509v3 Basic Constraints: critical\n                CA:FALSE"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("X509v3 Key Usage: critical\n                Digital Signature\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("TLS Web Server Authentication, TLS Web Client Authentication"),
            std::string::npos);
  EXPECT_EQ(Count(text, "URI:"), 1u);
  EXPECT_NE(text.find("URI:spiffe://cluster.local/ns/shop/sa/cart"), std::string::npos);
  EXPECT_EQ(Count(text, "DNS:"), 0u);
  EXPECT_NE(text.find("X509v3 Subject Key Identifier"), std::string::npos);
  EXPECT_NE(text.find("X509v3 Authority Key Identifier"), std::string::npos);

  const std::string root_path = WriteTemp(dir_, "root.pem", svid->root_cert_pem);
  const std::string leaf_path = WriteTemp(dir_, "leaf.pem", svid->cert_chain_pem);
  std::string out;
  EXPECT_EQ(
      RunCommand("openssl verify -purpose sslserver -CAfile " + root_path + " " + leaf_path, &out),
      0)
      << out;
  out.clear();
  EXPECT_EQ(
      RunCommand("openssl verify -purpose sslclient -CAfile " + root_path + " " + leaf_path, &out),
      0)
      << out;
  // And the pair loads as a certified key (key matches).
  EXPECT_TRUE(CertifiedKey::FromPem(svid->cert_chain_pem, svid->key_pem).ok());
}

TEST_F(CaTest, CsrContributesOnlyItsKey) {
  const auto now = NowSeconds();
  auto root = CreateRootCa(RootOptions{.trust_domain = "cluster.local"}, now);
  ASSERT_TRUE(root.ok());
  auto key = GenerateKey(KeyType::kRsa2048);
  ASSERT_TRUE(key.ok());
  // The CSR asks for another identity and a CN; both must be ignored.
  auto csr = CreateCsrPem(key->get(), "admin", "spiffe://cluster.local/ns/kube-system/sa/admin");
  ASSERT_TRUE(csr.ok()) << csr.error().message;
  auto id = ParseSpiffeId("spiffe://cluster.local/ns/shop/sa/cart");
  auto svid = IssueSvid(**root, *id, SvidRequest{*csr, std::chrono::hours(1)}, now);
  ASSERT_TRUE(svid.ok()) << svid.error().message;
  EXPECT_TRUE(svid->key_pem.empty());
  EXPECT_EQ(svid->info.uri_sans, std::vector<std::string>{id->ToString()});
  EXPECT_EQ(svid->info.subject, "O=gatehouse");
  EXPECT_EQ(svid->info.key_type, "RSA 2048");
  EXPECT_EQ((svid->info.not_after - now).count(), 3600);
  // The certificate is for the CSR's key.
  EXPECT_TRUE(CertifiedKey::FromPem(svid->cert_chain_pem, PrivateKeyToPem(key->get())).ok());
  const std::string text = X509Text(svid->cert_chain_pem);
  EXPECT_NE(text.find("Digital Signature, Key Encipherment"), std::string::npos) << text;
  EXPECT_EQ(text.find("admin"), std::string::npos);
}

TEST_F(CaTest, CsrWithoutProofOfPossessionIsRefused) {
  auto root = CreateRootCa(RootOptions{}, NowSeconds());
  ASSERT_TRUE(root.ok());
  auto signer = GenerateKey(KeyType::kEcdsaP256);
  auto other = GenerateKey(KeyType::kEcdsaP256);
  ASSERT_TRUE(signer.ok() && other.ok());
  // A request carrying `other`'s public key but signed by `signer`.
  X509ReqPtr req(X509_REQ_new());
  ASSERT_EQ(X509_REQ_set_pubkey(req.get(), other->get()), 1);
  ASSERT_GT(X509_REQ_sign(req.get(), signer->get(), EVP_sha256()), 0);
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_X509_REQ(bio.get(), req.get()), 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  auto svid = IssueSvid(**root, SpiffeId{"cluster.local", "a", "b"},
                        SvidRequest{std::string(data, static_cast<size_t>(len)), {}}, NowSeconds());
  ASSERT_FALSE(svid.ok());
  EXPECT_NE(svid.error().message.find("proof of possession"), std::string::npos)
      << svid.error().message;
  auto garbage =
      IssueSvid(**root, SpiffeId{"cluster.local", "a", "b"},
                SvidRequest{"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", {}}, NowSeconds());
  EXPECT_FALSE(garbage.ok());
}

TEST_F(CaTest, TtlRulesAndTrustDomain) {
  const auto now = NowSeconds();
  auto root = CreateRootCa(RootOptions{.trust_domain = "cluster.local"}, now);
  ASSERT_TRUE(root.ok());
  SpiffeId id{"cluster.local", "ns", "sa"};
  auto max = IssueSvid(**root, id, SvidRequest{{}, kMaxSvidTtl}, now);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ((max->info.not_after - now).count(), kMaxSvidTtl.count());
  auto too_long =
      IssueSvid(**root, id, SvidRequest{{}, kMaxSvidTtl + std::chrono::seconds(1)}, now);
  EXPECT_FALSE(too_long.ok());
  auto other_td = IssueSvid(**root, SpiffeId{"other.domain", "ns", "sa"}, {}, now);
  ASSERT_FALSE(other_td.ok());
  EXPECT_NE(other_td.error().message.find("does not match the CA's trust domain"),
            std::string::npos);
  // Never beyond the CA: a root about to expire clamps the leaf.
  auto short_root = CreateRootCa(
      RootOptions{.trust_domain = "cluster.local", .validity = std::chrono::hours(2)}, now);
  ASSERT_TRUE(short_root.ok());
  auto clamped = IssueSvid(**short_root, id, {}, now);
  ASSERT_TRUE(clamped.ok());
  EXPECT_EQ(clamped->info.not_after, (*short_root)->info().not_after);
  // A leaf cannot issue.
  auto leaf = IssueSvid(**root, id, {}, now);
  auto leaf_pair = CertifiedKey::FromPem(leaf->cert_chain_pem, leaf->key_pem);
  ASSERT_TRUE(leaf_pair.ok());
  EXPECT_FALSE(IssueSvid(**leaf_pair, id, {}, now).ok());
}

TEST_F(CaTest, CrlRevokesBySerialPerOpenSslCli) {
  const auto now = NowSeconds();
  auto root = CreateRootCa(RootOptions{}, now);
  ASSERT_TRUE(root.ok());
  auto svid = IssueSvid(**root, SpiffeId{"cluster.local", "a", "b"}, {}, now);
  ASSERT_TRUE(svid.ok());
  std::vector<std::string> serials = {svid->info.serial_hex};
  auto crl = CreateCrlPem(**root, serials, now);
  ASSERT_TRUE(crl.ok()) << crl.error().message;
  const std::string root_path = WriteTemp(dir_, "root.pem", (*root)->ChainPem());
  const std::string leaf_path = WriteTemp(dir_, "leaf.pem", svid->cert_chain_pem);
  const std::string crl_path = WriteTemp(dir_, "crl.pem", *crl);
  std::string out;
  EXPECT_NE(RunCommand("openssl verify -crl_check -CAfile " + root_path + " -CRLfile " + crl_path +
                           " " + leaf_path,
                       &out),
            0);
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
}

TEST_F(CaTest, MeshIdentityForTheGateway) {
  const auto now = NowSeconds();
  auto root = CreateRootCa(RootOptions{.trust_domain = "cluster.local"}, now);
  ASSERT_TRUE(root.ok());
  auto identity = IssueMeshIdentity(**root, SpiffeId{"cluster.local", "edge", "gatehouse"},
                                    std::chrono::hours(24), now);
  ASSERT_TRUE(identity.ok()) << identity.error().message;
  EXPECT_EQ(identity->trust_domain, "cluster.local");
  EXPECT_EQ(identity->svid->info().spiffe_id, "spiffe://cluster.local/ns/edge/sa/gatehouse");
  ASSERT_EQ(identity->trust_bundle->certificates().size(), 1u);
  EXPECT_EQ(identity->trust_bundle->certificates()[0].sha256_hex, (*root)->info().sha256_hex);
  // Renewal falls in the middle of the SVID's life.
  FastRandom rng(3);
  const auto& info = identity->svid->info();
  const auto renew = NextRenewalTime(info.not_before, info.not_after, rng);
  EXPECT_GT(renew, info.not_before + std::chrono::hours(11));
  EXPECT_LT(renew, info.not_before + std::chrono::hours(13));
  EXPECT_FALSE(
      IssueMeshIdentity(**root, SpiffeId{"other", "edge", "gatehouse"}, std::chrono::hours(24), now)
          .ok());
}

TEST(Rotation, RenewsAtHalfLifeWithBoundedJitter) {
  const UnixSeconds nb{std::chrono::seconds(1'700'000'000)};
  const UnixSeconds na = nb + std::chrono::hours(24);
  FastRandom rng(1);
  int64_t min = INT64_MAX, max = INT64_MIN;
  for (int i = 0; i < 10000; ++i) {
    const int64_t t = (NextRenewalTime(nb, na, rng) - nb).count();
    min = std::min(min, t);
    max = std::max(max, t);
  }
  const int64_t half = 12 * 3600, jitter = 864;  // 1 % of 24 h
  EXPECT_GE(min, half - jitter);
  EXPECT_LE(max, half + jitter);
  EXPECT_LT(min, half - jitter / 2);  // the jitter is actually used, both ways
  EXPECT_GT(max, half + jitter / 2);
  EXPECT_EQ(NextRenewalTime(nb, na, rng, 0.0), nb + std::chrono::hours(12));
  EXPECT_EQ(NextRenewalTime(na, nb, rng), na);  // degenerate lifetime
}

// ----------------------------------------------------------- the command ---

int RunCa(std::vector<std::string> args, std::string* out, std::string* err) {
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  std::ostringstream o, e;
  const int rc = RunCaCommand(static_cast<int>(argv.size()), argv.data(), o, e);
  *out = o.str();
  *err = e.str();
  return rc;
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST_F(CaTest, CommandInitAndIssue) {
  std::string out, err;
  const std::string ca = dir_ + "/ca", svid = dir_ + "/svid";
  ASSERT_EQ(RunCa({"ca", "init", "--trust-domain", "corp.example", "--out", ca}, &out, &err), 0)
      << err;
  EXPECT_EQ(Mode(ca + "/root-key.pem"), 0600u);
  EXPECT_NE(out.find("root-cert.pem"), std::string::npos);
  // Refuses to overwrite an existing CA.
  const std::string before = ReadFile(ca + "/root-key.pem");
  EXPECT_EQ(RunCa({"ca", "init", "--trust-domain", "corp.example", "--out", ca}, &out, &err), 1);
  EXPECT_NE(err.find("refusing to overwrite"), std::string::npos) << err;
  EXPECT_EQ(ReadFile(ca + "/root-key.pem"), before);

  ASSERT_EQ(RunCa({"ca", "issue", "--ca-dir", ca, "--spiffe",
                   "spiffe://corp.example/ns/web/sa/front", "--ttl", "2h", "--out", svid},
                  &out, &err),
            0)
      << err;
  EXPECT_EQ(Mode(svid + "/key.pem"), 0600u);
  std::string cli;
  ASSERT_EQ(
      RunCommand("openssl verify -CAfile " + svid + "/root-cert.pem " + svid + "/cert-chain.pem",
                 &cli),
      0)
      << cli;
  cli.clear();
  ASSERT_EQ(RunCommand("openssl x509 -noout -ext subjectAltName -enddate -startdate -in " + svid +
                           "/cert-chain.pem",
                       &cli),
            0);
  EXPECT_NE(cli.find("URI:spiffe://corp.example/ns/web/sa/front"), std::string::npos) << cli;
  auto chain = ParsePemChainInfo(ReadFile(svid + "/cert-chain.pem"));
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ((chain->front().not_after - chain->front().not_before).count(),
            2 * 3600 + kBackdate.count());
  EXPECT_TRUE(
      CertifiedKey::FromPem(ReadFile(svid + "/cert-chain.pem"), ReadFile(svid + "/key.pem")).ok());

  // From a CSR made by the openssl CLI: no key.pem is written.
  const std::string csr_dir = dir_ + "/csr";
  cli.clear();
  ASSERT_EQ(RunCommand("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                       "-subj /CN=ignored -keyout " +
                           dir_ + "/csr.key -out " + dir_ + "/req.csr",
                       &cli),
            0)
      << cli;
  ASSERT_EQ(RunCa({"ca", "issue", "--ca-dir", ca, "--spiffe", "spiffe://corp.example/ns/web/sa/api",
                   "--csr", dir_ + "/req.csr", "--out", csr_dir},
                  &out, &err),
            0)
      << err;
  EXPECT_FALSE(std::ifstream(csr_dir + "/key.pem").good());
  EXPECT_TRUE(
      CertifiedKey::FromPem(ReadFile(csr_dir + "/cert-chain.pem"), ReadFile(dir_ + "/csr.key"))
          .ok());
}

TEST_F(CaTest, CommandErrors) {
  std::string out, err;
  EXPECT_EQ(RunCa({}, &out, &err), 2);
  EXPECT_EQ(RunCa({"ca", "frobnicate"}, &out, &err), 2);
  EXPECT_EQ(RunCa({"ca", "init", "--out", dir_}, &out, &err), 2);
  EXPECT_EQ(RunCa({"ca", "init", "--trust-domain", "Bad_Upper", "--out", dir_}, &out, &err), 2);
  EXPECT_EQ(RunCa({"ca", "init", "--trust-domain", "x", "--out", dir_, "--bogus", "1"}, &out, &err),
            2);
  EXPECT_EQ(RunCa({"ca", "issue", "--ca-dir", dir_, "--spiffe", "spiffe://x/ns/a", "--out", dir_},
                  &out, &err),
            2);
  ASSERT_EQ(RunCa({"ca", "init", "--trust-domain", "a.example", "--out", dir_ + "/ca"}, &out, &err),
            0);
  EXPECT_EQ(RunCa({"ca", "issue", "--ca-dir", dir_ + "/ca", "--spiffe",
                   "spiffe://a.example/ns/a/sa/b", "--ttl", "forever", "--out", dir_ + "/o"},
                  &out, &err),
            2);
  EXPECT_EQ(RunCa({"ca", "issue", "--ca-dir", dir_ + "/ca", "--spiffe",
                   "spiffe://b.example/ns/a/sa/b", "--out", dir_ + "/o"},
                  &out, &err),
            1);
  EXPECT_NE(err.find("trust domain"), std::string::npos) << err;
  EXPECT_EQ(RunCa({"ca", "issue", "--ca-dir", dir_ + "/missing", "--spiffe",
                   "spiffe://a.example/ns/a/sa/b", "--out", dir_ + "/o"},
                  &out, &err),
            1);
  EXPECT_EQ(RunCa({"ca", "issue", "--ca-dir", dir_ + "/ca", "--spiffe",
                   "spiffe://a.example/ns/a/sa/b", "--ttl", "2400h", "--out", dir_ + "/o"},
                  &out, &err),
            1);
}

}  // namespace
}  // namespace gh::tls
