// TLS passthrough (Gateway tls.mode PASSTHROUGH, VirtualService `tls` routes)
// through the real binary: the gateway reads the ClientHello, routes on its
// SNI (exact beats wildcard) to one of two TLS test upstreams and forwards
// the bytes untouched, so openssl s_client and curl see the upstream's own
// certificate and the upstream sees the client's SNI and ALPN. Not-TLS
// bytes, unknown SNI, no SNI and a client that never finishes its hello are
// closed and logged NR.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "tests/support/harness.h"

namespace gh::test {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kConfig = R"(
[proxy]
workers = 1
access_log = "stdout"
request_headers_timeout = "800ms"

[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "tls", protocol = "TLS" }
hosts = ["*.pass.test", "exact.test"]
tls = { mode = "PASSTHROUGH" }

[[service_entry]]
name = "a"
hosts = ["a.internal"]
ports = [{ number = 443, name = "tls", protocol = "TLS" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { tls = ${A} } }]

[[service_entry]]
name = "b"
hosts = ["b.internal"]
ports = [{ number = 443, name = "tls", protocol = "TLS" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { tls = ${B} } }]

[[virtual_service]]
name = "sni"
hosts = ["*.pass.test", "exact.test"]
gateways = ["edge"]
# The wildcard comes first; the exact SNI still wins (exact before wildcard).
[[virtual_service.tls]]
match = [{ sni_hosts = ["*.pass.test"] }]
route = [{ destination = { host = "b.internal", port = { number = 443 } } }]
[[virtual_service.tls]]
match = [{ sni_hosts = ["a.pass.test", "exact.test"] }]
route = [{ destination = { host = "a.internal", port = { number = 443 } } }]
)";

class TlsPassthrough : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ca_ = new CertFiles(MakeCa(dir_->path(), "Passthrough Test CA"));
    a_cert_ = new CertFiles(MakeLeaf(*ca_, {"a.pass.test", "exact.test"}));
    b_cert_ = new CertFiles(
        MakeLeafWith(*ca_, {.common_name = "wildcard-upstream", .dns = {"*.pass.test"}}));
  }
  static void TearDownTestSuite() {
    delete a_cert_;
    delete b_cert_;
    delete ca_;
    delete dir_;
  }

  void SetUp() override {
    a_.emplace(UpstreamProcess::Start(
        {.mode = "h2c", .name = "a", .tls = true, .cert = a_cert_->cert, .key = a_cert_->key}));
    b_.emplace(UpstreamProcess::Start(
        {.mode = "h2c", .name = "b", .tls = true, .cert = b_cert_->cert, .key = b_cert_->key}));
    port_ = FreePort();
    gw_.emplace(GatehouseProcess::Start(Subst(kConfig, {{"PORT", std::to_string(port_)},
                                                        {"A", std::to_string(a_->Port())},
                                                        {"B", std::to_string(b_->Port())}}),
                                        {.wait_ports = {port_}}));
    // The harness's readiness probe (connect, close) is a session too.
    ASSERT_TRUE(gw_->WaitForAccessLogLines(1, milliseconds(5000)));
    probe_lines_ = gw_->AccessLogLines().size();
  }

  std::string Resolve(std::string_view host) const {
    return std::string(host) + ":" + std::to_string(port_) + ":127.0.0.1";
  }
  std::string Url(std::string_view host, std::string_view path) const {
    return "https://" + std::string(host) + ":" + std::to_string(port_) + std::string(path);
  }
  CommandResult SClient(const std::vector<std::string>& extra) const {
    std::vector<std::string> argv = {"openssl",  "s_client",
                                     "-connect", "127.0.0.1:" + std::to_string(port_),
                                     "-CAfile",  ca_->cert};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ProcessOptions po;
    po.stdin_data = "Q\n";
    return RunCommand(argv, seconds(20), po);
  }
  // Access-log lines written after the readiness probe's.
  std::vector<std::string> TestLines(size_t count) {
    gw_->WaitForAccessLogLines(probe_lines_ + count, milliseconds(5000));
    auto lines = gw_->AccessLogLines();
    return std::vector<std::string>(lines.begin() + static_cast<long>(probe_lines_), lines.end());
  }

  static TempDir* dir_;
  static CertFiles* ca_;
  static CertFiles* a_cert_;
  static CertFiles* b_cert_;
  std::optional<UpstreamProcess> a_, b_;
  int port_ = 0;
  std::optional<GatehouseProcess> gw_;
  size_t probe_lines_ = 0;
};
TempDir* TlsPassthrough::dir_ = nullptr;
CertFiles* TlsPassthrough::ca_ = nullptr;
CertFiles* TlsPassthrough::a_cert_ = nullptr;
CertFiles* TlsPassthrough::b_cert_ = nullptr;

TEST_F(TlsPassthrough, SClientSeesTheUpstreamCertificate) {
  auto sc = SClient(
      {"-servername", "a.pass.test", "-verify_hostname", "a.pass.test", "-alpn", "http/1.1"});
  // The chain the client verified is the upstream's own (the gateway has no
  // certificate at all on this port).
  EXPECT_THAT(sc.out, HasSubstr("subject=CN = a.pass.test")) << sc.Describe() << sc.out;
  EXPECT_THAT(sc.out, HasSubstr("issuer=CN = Passthrough Test CA"));
  EXPECT_THAT(sc.out, HasSubstr("Verify return code: 0 (ok)"));
  EXPECT_THAT(sc.out, HasSubstr("ALPN protocol: http/1.1"));

  auto wild = SClient({"-servername", "www.pass.test", "-verify_hostname", "www.pass.test"});
  EXPECT_THAT(wild.out, HasSubstr("subject=CN = wildcard-upstream")) << wild.Describe() << wild.out;
  EXPECT_THAT(wild.out, HasSubstr("Verify return code: 0 (ok)"));

  // One line per session, in the order the sessions ended.
  auto lines = TestLines(2);
  ASSERT_GE(lines.size(), 2u);
  auto find = [&](std::string_view sni) {
    for (const std::string& l : lines)
      if (l.find(sni) != std::string::npos) return l;
    return std::string();
  };
  EXPECT_THAT(find(" a.pass.test "), HasSubstr(" a.pass.test sni.tls.1")) << lines[0];
  EXPECT_THAT(find(" a.pass.test "), HasSubstr("outbound|443||a.internal"));
  EXPECT_THAT(find(" www.pass.test "), HasSubstr(" www.pass.test sni.tls.0")) << lines[1];
  EXPECT_THAT(find(" www.pass.test "), HasSubstr("outbound|443||b.internal"));
}

TEST_F(TlsPassthrough, CurlIsServedByTheUpstreamChosenBySni) {
  struct Case {
    std::string host, server, subject;
  };
  for (const Case& c :
       {Case{"a.pass.test", "a", "CN=a.pass.test"}, Case{"exact.test", "a", "CN=a.pass.test"},
        Case{"x.pass.test", "b", "CN=wildcard-upstream"}, Case{"deep.x.pass.test", "b", ""}}) {
    for (const char* version : {"--http1.1", "--http2"}) {
      auto r = RunCommand({"curl", "-sS", "-v", "--max-time", "20", version, "--cacert", ca_->cert,
                           "--resolve", Resolve(c.host), Url(c.host, "/hello?x=1")},
                          seconds(30));
      if (c.host == "deep.x.pass.test") {
        // *.pass.test covers one label only: routed to b, but b's
        // certificate does not match, so curl (not the gateway) refuses.
        EXPECT_NE(r.exit_code, 0) << r.Describe();
        EXPECT_THAT(r.err, HasSubstr("subject: CN=wildcard-upstream"));
        continue;
      }
      ASSERT_EQ(r.exit_code, 0) << c.host << " " << version << ": " << r.Describe();
      EXPECT_THAT(r.err, HasSubstr("subject: " + c.subject)) << c.host;
      Json j = ParseJson(r.out);
      EXPECT_EQ(j["server_name"], c.server) << c.host;
      EXPECT_EQ(j["path"], "/hello");
      // The upstream terminated the client's own TLS: it saw the SNI and
      // negotiated ALPN with the client.
      EXPECT_EQ(j["tls"]["sni"], c.host);
      EXPECT_EQ(j["tls"]["alpn"], std::string(version) == "--http2" ? "h2" : "http/1.1");
    }
  }
  EXPECT_EQ(a_->Stats().requests, 4);
  EXPECT_EQ(b_->Stats().requests, 2);
}

TEST_F(TlsPassthrough, LargeDownloadPassesThroughUntouched) {
  constexpr uint64_t kSize = 64ULL << 20;
  auto r =
      RunCommand({"curl", "-sS", "--max-time", "60", "--cacert", ca_->cert, "--resolve",
                  Resolve("a.pass.test"), "-H", "x-upstream-body-size: " + std::to_string(kSize),
                  "-o", "/dev/null", "-w", "%{size_download}", Url("a.pass.test", "/big")},
                 seconds(90));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, std::to_string(kSize));
  auto lines = TestLines(1);
  ASSERT_FALSE(lines.empty());
  // The bytes sent to the client include TLS framing: more than the body.
  const std::string& line = lines.back();
  EXPECT_THAT(line, HasSubstr(" a.pass.test sni.tls.1")) << line;
}

TEST_F(TlsPassthrough, UnknownSniIsClosedAndLoggedNr) {
  auto sc = SClient({"-servername", "nope.example"});
  // Closed before any byte came back: no certificate, no handshake.
  EXPECT_THAT(sc.out, HasSubstr("no peer certificate available")) << sc.out;
  EXPECT_THAT(sc.out, HasSubstr("SSL handshake has read 0 bytes")) << sc.out;
  EXPECT_THAT(sc.out + sc.err, Not(HasSubstr("subject=CN")));
  auto lines = TestLines(1);
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines[0], HasSubstr("\"- - -\" 0 NR filter_chain_not_found no_route")) << lines[0];
  EXPECT_THAT(lines[0], HasSubstr(" nope.example -")) << lines[0];
  EXPECT_EQ(a_->Stats().accepts + b_->Stats().accepts, 0);
}

TEST_F(TlsPassthrough, NoSniIsClosedAndLoggedNr) {
  auto sc = SClient({"-noservername"});
  EXPECT_THAT(sc.out, HasSubstr("SSL handshake has read 0 bytes")) << sc.out;
  EXPECT_THAT(sc.out, Not(HasSubstr("subject=CN"))) << sc.out;
  auto lines = TestLines(1);
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines[0], HasSubstr("0 NR filter_chain_not_found no_sni")) << lines[0];
  EXPECT_EQ(a_->Stats().accepts + b_->Stats().accepts, 0);
}

TEST_F(TlsPassthrough, PlainBytesAreClosed) {
  RawClient client(port_);
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: a.pass.test\r\n\r\n"));
  EXPECT_TRUE(client.IsClosed(milliseconds(3000)));
  EXPECT_EQ(client.Buffered(), "") << "nothing may answer plain bytes";
  auto lines = TestLines(1);
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines[0], HasSubstr("0 NR filter_chain_not_found client_hello_not_tls")) << lines[0];
  EXPECT_EQ(a_->Stats().accepts + b_->Stats().accepts, 0);
}

TEST_F(TlsPassthrough, SilentClientIsClosedAfterTheHeaderTimeout) {
  RawClient client(port_);
  ASSERT_TRUE(client.Send(std::string("\x16\x03\x01\x02\x00\x01", 6)));  // a hello that stops
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.IsClosed(milliseconds(5000)));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, milliseconds(500));
  EXPECT_LT(waited, milliseconds(3000));
  auto lines = TestLines(1);
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines[0], HasSubstr("0 NR filter_chain_not_found client_hello_timeout \"-\" 6 0 "))
      << lines[0];
}

TEST_F(TlsPassthrough, HelloSentInPiecesIsReplayedWhole) {
  // A ClientHello sent in 7-byte pieces: the gateway must wait for all of
  // it, route it, and hand the upstream the exact bytes (which then answers
  // with its ServerHello).
  RawClient client(port_);
  // Minimal TLS 1.2 ClientHello with SNI a.pass.test and a suite the
  // upstream accepts (ECDHE-ECDSA-AES128-GCM-SHA256), plus the groups,
  // point formats and signature algorithms extensions it needs.
  auto u16 = [](size_t v) { return std::string{static_cast<char>(v >> 8), static_cast<char>(v)}; };
  const std::string sni_name = "a.pass.test";
  std::string sni =
      u16(sni_name.size() + 3) + std::string(1, '\0') + u16(sni_name.size()) + sni_name;
  std::string ext = u16(0) + u16(sni.size()) + sni;
  ext += u16(10) + u16(4) + u16(2) + u16(23);            // supported_groups: secp256r1
  ext += u16(11) + u16(2) + std::string("\x01\x00", 2);  // ec_point_formats
  ext += u16(13) + u16(4) + u16(2) + u16(0x0403);        // ecdsa_secp256r1_sha256
  ext += u16(0xff01) + u16(1) + std::string(1, '\0');    // renegotiation_info
  std::string body = std::string("\x03\x03", 2) + std::string(32, '\x42') + std::string(1, '\0');
  body += u16(2) + std::string("\xc0\x2b", 2) + std::string("\x01\x00", 2);
  body += u16(ext.size()) + ext;
  std::string message = std::string(1, '\x01') + std::string(1, '\0') + u16(body.size()) + body;
  std::string record = std::string("\x16\x03\x01", 3) + u16(message.size()) + message;
  ASSERT_TRUE(client.SendSlowly(record, 7, milliseconds(5)));
  // The upstream's reply: a handshake record starting with a ServerHello.
  const std::string reply = client.ReadExactly(6, milliseconds(5000));
  ASSERT_EQ(reply.size(), 6u) << "no reply from the upstream";
  EXPECT_EQ(reply[0], '\x16') << "expected a handshake record, got type "
                              << static_cast<int>(static_cast<unsigned char>(reply[0]));
  EXPECT_EQ(reply[5], '\x02') << "expected a ServerHello";
  client.Close();
  auto lines = TestLines(1);
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines.back(), HasSubstr(" a.pass.test sni.tls.1")) << lines.back();
  EXPECT_THAT(lines.back(), HasSubstr("\"-\" " + std::to_string(record.size()) + " "))
      << "bytes received should be the hello's size: " << lines.back();
}

// ------------------------------------------- TLS terminated, then TCP routes

// Gateway protocol TLS with mode SIMPLE: the gateway terminates TLS with its
// own certificate and pipes the plaintext to the `tcp` route's destination
// (here the plain HTTP test upstream), optionally re-encrypting it with the
// destination's DestinationRule TLS (origination).
constexpr std::string_view kTerminatedConfig = R"(
[proxy]
workers = 1
access_log = "stdout"

[[gateway]]
name = "term"
[[gateway.servers]]
port = { number = ${PORT}, name = "tls-term", protocol = "TLS" }
hosts = ["term.test"]
tls = { mode = "SIMPLE", server_certificate = "${CERT}", private_key = "${KEY}" }
[[gateway.servers]]
port = { number = ${PLAIN_PORT}, name = "tcp", protocol = "TCP" }
hosts = ["*"]

[[service_entry]]
name = "origin"
hosts = ["origin.internal"]
ports = [{ number = 80, name = "tcp", protocol = "TCP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { tcp = ${UPSTREAM} } }]
${ORIGINATION}

[[virtual_service]]
name = "term"
hosts = ["*"]
gateways = ["term"]
[[virtual_service.tcp]]
route = [{ destination = { host = "origin.internal", port = { number = 80 } } }]
)";

TEST(TlsTerminatedTcp, CurlOverTheGatewaysTlsReachesAPlainUpstream) {
  TempDir dir;
  const CertFiles ca = MakeCa(dir.path(), "Gateway CA");
  const CertFiles gateway_cert =
      MakeLeafWith(ca, {.common_name = "gateway-term", .dns = {"term.test"}});
  auto up = UpstreamProcess::Start({.name = "plain"});
  const int port = FreePort();
  auto gw =
      GatehouseProcess::Start(Subst(kTerminatedConfig, {{"PORT", std::to_string(port)},
                                                        {"PLAIN_PORT", std::to_string(FreePort())},
                                                        {"CERT", gateway_cert.chain},
                                                        {"KEY", gateway_cert.key},
                                                        {"UPSTREAM", std::to_string(up.Port())},
                                                        {"ORIGINATION", ""}}),
                              {.wait_ports = {port}});
  const std::string resolve = "term.test:" + std::to_string(port) + ":127.0.0.1";
  auto r = RunCommand(
      {"curl", "-sS", "-v", "--max-time", "20", "--http1.1", "--cacert", ca.cert, "--resolve",
       resolve, "https://term.test:" + std::to_string(port) + "/through?x=1"},
      seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  // The client saw the gateway's certificate, the upstream plain HTTP.
  EXPECT_THAT(r.err, HasSubstr("subject: CN=gateway-term"));
  Json j = ParseJson(r.out);
  EXPECT_EQ(j["server_name"], "plain");
  EXPECT_EQ(j["path"], "/through");
  EXPECT_TRUE(j["tls"].is_null()) << "the upstream leg is plaintext";
  const std::string line = [&] {
    for (int i = 0; i < 250; ++i) {
      for (const std::string& l : gw.AccessLogLines())
        if (l.find("term.tcp.0") != std::string::npos) return l;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return std::string();
  }();
  EXPECT_THAT(line, HasSubstr("outbound|80||origin.internal")) << gw.ReadStdout();
  EXPECT_THAT(line, HasSubstr(" term.test term.tcp.0")) << line;
}

TEST(TlsTerminatedTcp, TcpRouteWithTlsOrigination) {
  TempDir dir;
  const CertFiles ca = MakeCa(dir.path(), "Upstream CA");
  const CertFiles upstream_cert = MakeLeaf(ca, {"origin.internal"});
  const CertFiles gateway_cert = MakeLeaf(ca, {"term.test"});
  auto up = UpstreamProcess::Start(
      {.name = "secure", .tls = true, .cert = upstream_cert.chain, .key = upstream_cert.key});
  const int port = FreePort();
  const int plain_port = FreePort();
  const std::string origination =
      "[[destination_rule]]\nname = \"origin\"\nhost = \"origin.internal\"\n"
      "traffic_policy = { tls = { mode = \"SIMPLE\", ca_certificates = \"" +
      ca.cert + "\" } }\n";
  auto gw =
      GatehouseProcess::Start(Subst(kTerminatedConfig, {{"PORT", std::to_string(port)},
                                                        {"PLAIN_PORT", std::to_string(plain_port)},
                                                        {"CERT", gateway_cert.chain},
                                                        {"KEY", gateway_cert.key},
                                                        {"UPSTREAM", std::to_string(up.Port())},
                                                        {"ORIGINATION", origination}}),
                              {.wait_ports = {port, plain_port}});
  // Plain HTTP into the TCP listener, TLS (verified, SNI = the service host)
  // to the upstream.
  auto r = Curl({"http://127.0.0.1:" + std::to_string(plain_port) + "/originated"});
  ASSERT_EQ(r.status, 200) << r.Describe();
  Json j = ParseJson(r.body);
  EXPECT_EQ(j["server_name"], "secure");
  EXPECT_EQ(j["tls"]["sni"], "origin.internal");
  // And through the terminating listener: TLS in, TLS out, two sessions.
  auto t = RunCommand({"curl", "-sS", "--max-time", "20", "--cacert", ca.cert, "--resolve",
                       "term.test:" + std::to_string(port) + ":127.0.0.1",
                       "https://term.test:" + std::to_string(port) + "/both"},
                      seconds(30));
  ASSERT_EQ(t.exit_code, 0) << t.Describe();
  EXPECT_EQ(ParseJson(t.out)["tls"]["sni"], "origin.internal");
}

TEST(TlsTerminatedTcp, OriginationToAnUntrustedUpstreamIsUf) {
  TempDir dir;
  const CertFiles ca = MakeCa(dir.path(), "Upstream CA");
  TempDir other_dir;
  const CertFiles other_ca = MakeCa(other_dir.path(), "Some Other CA");
  const CertFiles upstream_cert = MakeLeaf(ca, {"origin.internal"});
  const CertFiles gateway_cert = MakeLeaf(ca, {"term.test"});
  auto up = UpstreamProcess::Start(
      {.name = "secure", .tls = true, .cert = upstream_cert.chain, .key = upstream_cert.key});
  const int port = FreePort();
  const int plain_port = FreePort();
  const std::string origination =
      "[[destination_rule]]\nname = \"origin\"\nhost = \"origin.internal\"\n"
      "traffic_policy = { tls = { mode = \"SIMPLE\", ca_certificates = \"" +
      other_ca.cert + "\" } }\n";
  auto gw =
      GatehouseProcess::Start(Subst(kTerminatedConfig, {{"PORT", std::to_string(port)},
                                                        {"PLAIN_PORT", std::to_string(plain_port)},
                                                        {"CERT", gateway_cert.chain},
                                                        {"KEY", gateway_cert.key},
                                                        {"UPSTREAM", std::to_string(up.Port())},
                                                        {"ORIGINATION", origination}}),
                              {.wait_ports = {port, plain_port}});
  const size_t before = gw.AccessLogLines().size();
  RawClient client(plain_port);
  client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(client.IsClosed(milliseconds(5000)));
  EXPECT_EQ(client.Buffered(), "");
  ASSERT_TRUE(gw.WaitForAccessLogLines(before + 1, milliseconds(5000)));
  const std::string line = gw.AccessLogLines().back();
  EXPECT_THAT(line, HasSubstr(" UF,URX ")) << line;
  EXPECT_THAT(line, HasSubstr("certificate verify failed")) << line;
}

}  // namespace
}  // namespace gh::test
