// TLS termination through the real binary with real clients (openssl
// s_client, curl): SNI selection, versions and ciphers, ALPN, resumption,
// 421 for coalesced hosts, certificate hot reload, client certificates and
// XFCC, https_redirect.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/harness.h"

namespace gh::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kConfig = R"(
[proxy]
workers = 1
${PROXY}

[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${HTTPS}, name = "https-shop", protocol = "HTTPS" }
hosts = ["shop.example.com"]
tls = { mode = "SIMPLE", server_certificate = "${DIR}/shop.pem", private_key = "${DIR}/shop.key" }
[[gateway.servers]]
port = { number = ${HTTPS}, name = "https-wild", protocol = "HTTPS" }
hosts = ["*.example.com"]
tls = { mode = "SIMPLE", server_certificate = "${DIR}/wild.pem", private_key = "${DIR}/wild.key" }
[[gateway.servers]]
port = { number = ${MTLS}, name = "https-mtls", protocol = "HTTPS" }
hosts = ["secure.example.com"]
tls = { mode = "MUTUAL", server_certificate = "${DIR}/secure.pem", private_key = "${DIR}/secure.key", ca_certificates = "${DIR}/clients-ca.pem", subject_alt_names = ["spiffe://clients/ns/web/sa/good"] }
[[gateway.servers]]
port = { number = ${HTTP}, name = "http", protocol = "HTTP" }
hosts = ["*"]
tls = { https_redirect = true }

[[service_entry]]
name = "origin"
hosts = ["origin.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${UPSTREAM} } }]

[[virtual_service]]
name = "sites"
hosts = ["shop.example.com", "news.example.com", "secure.example.com"]
gateways = ["edge"]
[[virtual_service.http]]
route = [{ destination = { host = "origin.internal" } }]
)";

class TlsTermination : public ::testing::Test {
 protected:
  void Start(std::string proxy_keys = "") {
    upstream_ = std::make_unique<UpstreamProcess>(UpstreamProcess::Start());
    https_ = FreePort();
    mtls_ = FreePort();
    http_ = FreePort();
    const std::string d = dir_.path();
    ca_ = MakeCa(d, "Gatehouse Test Server CA");
    Install(MakeLeafWith(ca_, {.common_name = "shop", .dns = {"shop.example.com"}}), "shop");
    Install(MakeLeafWith(ca_, {.common_name = "wild", .dns = {"*.example.com"}}), "wild");
    Install(MakeLeafWith(ca_, {.common_name = "secure", .dns = {"secure.example.com"}}), "secure");
    std::filesystem::create_directories(d + "/clients");
    clients_ca_ = MakeCa(d + "/clients", "Clients CA");
    WriteFile(d + "/clients-ca.pem", ReadFile(clients_ca_.cert));
    gateway_ = std::make_unique<GatehouseProcess>(
        GatehouseProcess::Start(Subst(kConfig, {{"HTTPS", std::to_string(https_)},
                                                {"MTLS", std::to_string(mtls_)},
                                                {"HTTP", std::to_string(http_)},
                                                {"DIR", d},
                                                {"UPSTREAM", std::to_string(upstream_->Port())},
                                                {"PROXY", proxy_keys}}),
                                {.wait_ports = {https_, mtls_, http_}}));
  }
  void Install(const CertFiles& files, const std::string& name) {
    WriteFile(dir_.path() + "/" + name + ".pem", ReadFile(files.chain));
    WriteFile(dir_.path() + "/" + name + ".key", ReadFile(files.key));
  }
  // The subject CN the server presents for `sni` ("" when the handshake fails).
  std::string PresentedCn(int port, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"openssl", "s_client", "-connect",
                                     "127.0.0.1:" + std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    CommandResult r = RunCommand(argv, milliseconds(10000), {.stdin_data = "Q\n"});
    const size_t at = r.out.find("subject=");
    if (at == std::string::npos) return "";
    const size_t cn = r.out.find("CN = ", at);
    if (cn == std::string::npos) return "";
    const size_t end = r.out.find_first_of(",\n", cn);
    return r.out.substr(cn + 5, end - cn - 5);
  }
  CommandResult SClient(int port, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"openssl", "s_client", "-connect",
                                     "127.0.0.1:" + std::to_string(port)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, milliseconds(10000), {.stdin_data = "Q\n"});
  }
  CurlResult Https(const std::string& host, int port, const std::string& path,
                   std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--cacert", ca_.cert, "--resolve",
                                     host + ":" + std::to_string(port) + ":127.0.0.1"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("https://" + host + ":" + std::to_string(port) + path);
    return Curl(args);
  }

  TempDir dir_;
  CertFiles ca_, clients_ca_;
  std::unique_ptr<UpstreamProcess> upstream_;
  std::unique_ptr<GatehouseProcess> gateway_;
  int https_ = 0, mtls_ = 0, http_ = 0;
};

TEST_F(TlsTermination, SniPicksTheCertificateExactBeforeWildcardAndDefault) {
  Start();
  EXPECT_EQ(PresentedCn(https_, {"-servername", "shop.example.com"}), "shop");
  EXPECT_EQ(PresentedCn(https_, {"-servername", "news.example.com"}), "wild");
  // No SNI, or one no server claims: the listener's default server.
  EXPECT_EQ(PresentedCn(https_, {"-noservername"}), "shop");
  EXPECT_EQ(PresentedCn(https_, {"-servername", "other.test"}), "shop");
}

TEST_F(TlsTermination, UnknownSniRejectedWhenConfigured) {
  Start("tls_reject_unknown_sni = true");
  EXPECT_EQ(PresentedCn(https_, {"-servername", "other.test"}), "");
  EXPECT_EQ(PresentedCn(https_, {"-noservername"}), "");
  EXPECT_EQ(PresentedCn(https_, {"-servername", "shop.example.com"}), "shop");
}

TEST_F(TlsTermination, OldVersionsAndWeakCiphersRefused) {
  Start();
  for (const char* version : {"-tls1", "-tls1_1"}) {
    CommandResult r = SClient(https_, {"-servername", "shop.example.com", version});
    EXPECT_EQ(r.out.find("BEGIN CERTIFICATE"), std::string::npos) << version;
  }
  CommandResult weak = SClient(
      https_, {"-servername", "shop.example.com", "-tls1_2", "-cipher", "AES128-SHA:DES-CBC3-SHA"});
  EXPECT_EQ(weak.out.find("BEGIN CERTIFICATE"), std::string::npos) << "CBC-SHA1 suite accepted";
  CommandResult v12 = SClient(https_, {"-servername", "shop.example.com", "-tls1_2"});
  EXPECT_NE(v12.out.find("Protocol  : TLSv1.2"), std::string::npos) << v12.out;
  CommandResult v13 = SClient(https_, {"-servername", "shop.example.com"});
  EXPECT_NE(v13.out.find("TLSv1.3"), std::string::npos);
}

TEST_F(TlsTermination, AlpnAndResumption) {
  Start();
  CommandResult alpn = SClient(https_, {"-servername", "shop.example.com", "-alpn", "h2,http/1.1"});
  EXPECT_NE(alpn.out.find("ALPN protocol: "), std::string::npos) << alpn.out;
  const std::string session = dir_.path() + "/session.pem";
  CommandResult first =
      SClient(https_, {"-servername", "shop.example.com", "-tls1_2", "-sess_out", session});
  ASSERT_NE(first.out.find("New, TLSv1.2"), std::string::npos) << first.out;
  CommandResult again =
      SClient(https_, {"-servername", "shop.example.com", "-tls1_2", "-sess_in", session});
  EXPECT_NE(again.out.find("Reused, TLSv1.2"), std::string::npos) << again.out;
}

// TLS 1.3 clients use a ticket once (RFC 8446 C.4, OpenSSL does): a resumed
// connection must bring a fresh ticket, or every other reconnect of a client
// that keeps its session (wrk, browsers) pays a full handshake.
TEST_F(TlsTermination, Tls13ResumptionIssuesAFreshTicketEachTime) {
  Start();
  auto connect = [&](const std::string& in, const std::string& out) {
    std::vector<std::string> argv = {
        "openssl",     "s_client",         "-connect", "127.0.0.1:" + std::to_string(https_),
        "-servername", "shop.example.com", "-tls1_3",  "-msg",
        "-ign_eof",    "-sess_out",        out};
    if (!in.empty()) {
      argv.push_back("-sess_in");
      argv.push_back(in);
    }
    // A whole request and response, so the tickets that follow the
    // handshake are read before the server closes.
    return RunCommand(argv, milliseconds(10000),
                      {.stdin_data = "GET / HTTP/1.1\r\nHost: shop.example.com\r\n"
                                     "Connection: close\r\n\r\n"});
  };
  const std::string s1 = dir_.path() + "/s1.pem", s2 = dir_.path() + "/s2.pem",
                    s3 = dir_.path() + "/s3.pem";
  CommandResult first = connect("", s1);
  ASSERT_NE(first.out.find("New, TLSv1.3"), std::string::npos) << first.out;
  CommandResult second = connect(s1, s2);
  ASSERT_NE(second.out.find("Reused, TLSv1.3"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("NewSessionTicket"), std::string::npos)
      << "a resumed TLS 1.3 connection got no new ticket\n"
      << second.out;
  CommandResult third = connect(s2, s3);
  EXPECT_NE(third.out.find("Reused, TLSv1.3"), std::string::npos) << third.out;
}

TEST_F(TlsTermination, ProxiesHttpsAndAnswers421ForACoalescedHost) {
  Start();
  auto r = Https("shop.example.com", https_, "/cart");
  ASSERT_EQ(r.status, 200) << r.Describe();
  Json echo = ParseJson(r.body);
  bool proto_https = false;
  for (const auto& h : echo["headers"]) {
    if (h[0] == "x-forwarded-proto" && h[1] == "https") proto_https = true;
  }
  EXPECT_TRUE(proto_https);
  // The connection's server is shop (SNI); news belongs to the wildcard
  // server on the same port: HTTP/2-style coalescing must get 421.
  auto coalesced = Https("shop.example.com", https_, "/", {"-H", "Host: news.example.com"});
  EXPECT_EQ(coalesced.status, 421) << coalesced.Describe();
  auto unknown = Https("shop.example.com", https_, "/", {"-H", "Host: nobody.test"});
  EXPECT_EQ(unknown.status, 404);
}

TEST_F(TlsTermination, CertificateHotReloadWithoutRestart) {
  Start();
  EXPECT_EQ(PresentedCn(https_, {"-servername", "shop.example.com"}), "shop");
  const pid_t pid = gateway_->Pid();
  Install(MakeLeafWith(ca_, {.common_name = "shop-rotated", .dns = {"shop.example.com"}}), "shop");
  std::string seen;
  for (int i = 0; i < 50 && seen != "shop-rotated"; ++i) {
    std::this_thread::sleep_for(milliseconds(200));
    seen = PresentedCn(https_, {"-servername", "shop.example.com"});
  }
  EXPECT_EQ(seen, "shop-rotated");
  EXPECT_EQ(gateway_->Pid(), pid);
  EXPECT_TRUE(gateway_->Running());
  // A broken pair keeps the working certificate.
  WriteFile(dir_.path() + "/shop.key", "not a key");
  std::this_thread::sleep_for(milliseconds(2500));
  EXPECT_EQ(PresentedCn(https_, {"-servername", "shop.example.com"}), "shop-rotated");
  EXPECT_NE(gateway_->ReadStderr().find("certificate reload kept the previous one"),
            std::string::npos);
}

TEST_F(TlsTermination, MutualTlsChecksTheClientAndForwardsXfcc) {
  Start();
  const CertFiles good = MakeLeafWith(clients_ca_, {.uris = {"spiffe://clients/ns/web/sa/good"}});
  const CertFiles wrong_san =
      MakeLeafWith(clients_ca_, {.uris = {"spiffe://clients/ns/web/sa/evil"}});
  const CertFiles other_ca = MakeLeafWith(ca_, {.uris = {"spiffe://clients/ns/web/sa/good"}});
  auto none = Https("secure.example.com", mtls_, "/");
  EXPECT_EQ(none.status, 0) << "handshake without a client certificate must fail";
  auto foreign =
      Https("secure.example.com", mtls_, "/", {"--cert", other_ca.cert, "--key", other_ca.key});
  EXPECT_EQ(foreign.status, 0);
  auto bad_san =
      Https("secure.example.com", mtls_, "/", {"--cert", wrong_san.cert, "--key", wrong_san.key});
  EXPECT_EQ(bad_san.status, 0);
  auto ok = Https("secure.example.com", mtls_, "/", {"--cert", good.cert, "--key", good.key});
  ASSERT_EQ(ok.status, 200) << ok.Describe();
  std::string xfcc;
  const Json echo = ParseJson(ok.body);
  for (const auto& h : echo["headers"]) {
    if (h[0] == "x-forwarded-client-cert") xfcc = h[1].get<std::string>();
  }
  EXPECT_NE(xfcc.find("URI=spiffe://clients/ns/web/sa/good"), std::string::npos) << ok.body;
  EXPECT_NE(xfcc.find("Hash="), std::string::npos) << xfcc;
  // A client-supplied XFCC never passes (SANITIZE_SET).
  auto forged = Https(
      "secure.example.com", mtls_, "/",
      {"--cert", good.cert, "--key", good.key, "-H", "x-forwarded-client-cert: URI=spiffe://evil"});
  ASSERT_EQ(forged.status, 200);
  EXPECT_EQ(forged.body.find("spiffe://evil"), std::string::npos);
}

TEST_F(TlsTermination, HttpsRedirectOnThePlainServer) {
  Start();
  auto r = Curl(
      {"-H", "Host: shop.example.com", "http://127.0.0.1:" + std::to_string(http_) + "/cart?x=1"});
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.Header("location"), "https://shop.example.com/cart?x=1");
}

}  // namespace
}  // namespace gh::test
