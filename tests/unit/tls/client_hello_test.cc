// ClientHello peek (tls/client_hello.h): real ClientHellos from TlsSession
// client sessions, a raw OpenSSL client and `openssl s_client` over a real
// socket; every split across reads and across records; truncated, garbage
// and rule-breaking input.
#include "tls/client_hello.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/tls/test_pki.h"
#include "tls/client_context.h"
#include "tls/session.h"

namespace gh::tls {
namespace {

using S = ClientHelloStatus;

// ---- builders for hand-made ClientHellos ----

std::string U16(size_t v) {
  return {static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
}
std::string U24(size_t v) {
  return {static_cast<char>((v >> 16) & 0xff), static_cast<char>((v >> 8) & 0xff),
          static_cast<char>(v & 0xff)};
}
std::string Extension(uint16_t type, const std::string& body) {
  return U16(type) + U16(body.size()) + body;
}
std::string SniExtension(const std::vector<std::string>& names) {
  std::string list;
  for (const auto& n : names)
    list += std::string(1, '\0') + U16(n.size()) + n;
  return Extension(0, U16(list.size()) + list);
}
std::string AlpnExtension(const std::vector<std::string>& protocols) {
  std::string list;
  for (const auto& p : protocols)
    list += std::string(1, static_cast<char>(p.size())) + p;
  return Extension(16, U16(list.size()) + list);
}
// A ClientHello handshake message (header + body). `extensions` nullopt: no
// extensions block at all (TLS 1.2 allows it).
std::string HelloMessage(const std::optional<std::string>& extensions) {
  std::string body = "\x03\x03" + std::string(32, 'r');  // version, random
  body += std::string(1, '\0');                          // empty session id
  body += U16(4) + std::string("\x13\x01\xc0\x2f", 4);   // two cipher suites
  body += std::string("\x01\x00", 2);                    // null compression
  if (extensions) body += U16(extensions->size()) + *extensions;
  return std::string(1, '\x01') + U24(body.size()) + body;
}
// A ClientHello whose body ends with raw `tail` bytes after the compression
// methods (for broken extension blocks).
std::string MessageWithTail(const std::string& tail) {
  std::string body = "\x03\x03" + std::string(32, 'r') + std::string(1, '\0') + U16(2) + "ab" +
                     std::string("\x01\x00", 2) + tail;
  return std::string(1, '\x01') + U24(body.size()) + body;
}
// Wraps a handshake message into records of at most `fragment` bytes.
std::string Records(const std::string& message, size_t fragment = 16384, uint8_t type = 22) {
  std::string out;
  for (size_t off = 0; off < message.size(); off += fragment) {
    const std::string piece = message.substr(off, fragment);
    out += std::string(1, static_cast<char>(type)) + "\x03\x01" + U16(piece.size()) + piece;
  }
  return out;
}
std::string Hello(const std::string& extensions, size_t fragment = 16384) {
  return Records(HelloMessage(extensions), fragment);
}

// ---- real ClientHellos ----

std::string TlsSessionHello(const std::string& host, const std::vector<std::string>& alpn) {
  testing::MemFiles files;
  CertStore store(files.Reader());
  routing::UpstreamTls upstream;
  upstream.mode = routing::UpstreamTlsMode::kSimple;
  upstream.insecure_skip_verify = true;
  auto ctx = ClientContext::Build(upstream, ClientOptions{.alpn = alpn}, store);
  EXPECT_TRUE(ctx.ok()) << ctx.error().message;
  if (!ctx.ok()) return "";
  auto session = TlsSession::NewClient(*ctx, host);
  EXPECT_TRUE(session.ok()) << session.error().message;
  if (!session.ok()) return "";
  ByteBuffer out = (*session)->TakeCiphertext();
  return std::string(reinterpret_cast<const char*>(out.data()), out.size());
}

std::string RawOpenSslHello(const std::string& sni, const std::vector<std::string>& alpn) {
  testing::RawClient client;
  if (!sni.empty()) client.SetSni(sni);
  if (!alpn.empty()) client.SetAlpn(alpn);
  client.Drive();
  return client.TakeOutput();
}

TEST(ClientHello, TlsSessionClientHello) {
  const std::string hello = TlsSessionHello("api.example.com:8443", {"h2", "http/1.1"});
  ASSERT_FALSE(hello.empty());
  const ClientHelloResult r = ParseClientHello(hello);
  ASSERT_EQ(r.status, S::kParsed) << r.error;
  EXPECT_TRUE(r.hello.has_sni);
  EXPECT_EQ(r.hello.sni, "api.example.com");
  EXPECT_EQ(r.hello.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_TRUE(r.hello.offers_tls13);
  EXPECT_EQ(r.hello.legacy_version, 0x0303);
}

TEST(ClientHello, RawOpenSslWithoutSniOrAlpn) {
  const std::string hello = RawOpenSslHello("", {});
  const ClientHelloResult r = ParseClientHello(hello);
  ASSERT_EQ(r.status, S::kParsed) << r.error;
  EXPECT_FALSE(r.hello.has_sni);
  EXPECT_EQ(r.hello.sni, "");
  EXPECT_TRUE(r.hello.alpn.empty());
}

TEST(ClientHello, SniIsLowercased) {
  const ClientHelloResult r = ParseClientHello(RawOpenSslHello("MiXeD.Example.COM", {"x"}));
  ASSERT_EQ(r.status, S::kParsed) << r.error;
  EXPECT_EQ(r.hello.sni, "mixed.example.com");
  EXPECT_EQ(r.hello.alpn, std::vector<std::string>{"x"});
}

TEST(ClientHello, EverySplitAcrossReads) {
  const std::string hello = TlsSessionHello("split.example.com", {"h2"});
  ASSERT_GT(hello.size(), 100u);
  for (size_t cut = 1; cut < hello.size(); ++cut) {
    ClientHelloParser parser;
    ASSERT_EQ(parser.Feed(std::string_view(hello).substr(0, cut)), S::kNeedMore) << cut;
    ASSERT_EQ(parser.Feed(std::string_view(hello).substr(cut)), S::kParsed) << cut;
    EXPECT_EQ(parser.hello().sni, "split.example.com");
    EXPECT_EQ(parser.bytes_fed(), hello.size());
  }
}

TEST(ClientHello, OneByteAtATime) {
  const std::string hello = RawOpenSslHello("bytewise.example.com", {"h2", "http/1.1"});
  ClientHelloParser parser;
  for (size_t i = 0; i < hello.size(); ++i) {
    const S s = parser.Feed(std::string_view(hello).substr(i, 1));
    ASSERT_EQ(s, i + 1 == hello.size() ? S::kParsed : S::kNeedMore) << i;
  }
  EXPECT_EQ(parser.hello().sni, "bytewise.example.com");
  EXPECT_EQ(parser.hello().alpn.size(), 2u);
}

TEST(ClientHello, SplitAcrossRecords) {
  // The same handshake message fragmented into many small records, which a
  // client may legally do (and which some middleboxes produce).
  const std::string message =
      HelloMessage(SniExtension({"frag.example.com"}) + AlpnExtension({"h2", "http/1.1"}));
  for (size_t fragment : {1u, 2u, 3u, 7u, 50u, 100u}) {
    const std::string bytes = Records(message, fragment);
    const ClientHelloResult r = ParseClientHello(bytes);
    ASSERT_EQ(r.status, S::kParsed) << fragment << ": " << r.error;
    EXPECT_EQ(r.hello.sni, "frag.example.com");
    EXPECT_EQ(r.hello.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
    // And split across reads as well.
    ClientHelloParser parser;
    S s = S::kNeedMore;
    for (size_t off = 0; off < bytes.size(); off += 5)
      s = parser.Feed(std::string_view(bytes).substr(off, 5));
    EXPECT_EQ(s, S::kParsed) << fragment;
  }
  // A real ClientHello re-fragmented.
  const std::string real = TlsSessionHello("real.example.com", {"h2"});
  const std::string real_message = real.substr(5);
  const ClientHelloResult r = ParseClientHello(Records(real_message, 64));
  ASSERT_EQ(r.status, S::kParsed) << r.error;
  EXPECT_EQ(r.hello.sni, "real.example.com");
}

TEST(ClientHello, EveryTruncationNeedsMore) {
  const std::string hello = TlsSessionHello("trunc.example.com", {"h2"});
  for (size_t n = 0; n < hello.size(); ++n) {
    EXPECT_EQ(ParseClientHello(std::string_view(hello).substr(0, n)).status, S::kNeedMore) << n;
  }
}

TEST(ClientHello, BytesAfterTheHelloAreIgnored) {
  // Early data or a second flight after the ClientHello record.
  const std::string hello = Hello(SniExtension({"a.example"})) + "\x17\x03\x03\x00\x05hello";
  const ClientHelloResult r = ParseClientHello(hello);
  ASSERT_EQ(r.status, S::kParsed) << r.error;
  EXPECT_EQ(r.hello.sni, "a.example");
}

TEST(ClientHello, NoExtensionsBlock) {
  const ClientHelloResult r = ParseClientHello(Records(HelloMessage(std::nullopt)));
  ASSERT_EQ(r.status, S::kParsed) << r.error;
  EXPECT_FALSE(r.hello.has_sni);
  EXPECT_FALSE(r.hello.offers_tls13);
}

TEST(ClientHello, NotTls) {
  for (std::string_view input : {
           std::string_view("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
           std::string_view("G"),
           std::string_view("PRI * HTTP/2.0\r\n"),
           std::string_view("SSH-2.0-OpenSSH_9.2\r\n"),
           std::string_view("\x80\x2e\x01\x03\x01", 5),          // SSLv2-compatible hello
           std::string_view("\x15\x03\x01\x00\x02\x02\x28", 7),  // alert record first
           std::string_view("\x16\x01", 2),                      // not a TLS version
           std::string_view("\x00", 1),
       }) {
    const ClientHelloResult r = ParseClientHello(input);
    EXPECT_EQ(r.status, S::kNotTls) << ::testing::PrintToString(std::string(input));
    EXPECT_FALSE(r.error.empty());
  }
  // Decided from the first byte: no waiting for more.
  ClientHelloParser parser;
  EXPECT_EQ(parser.Feed("P"), S::kNotTls);
  EXPECT_EQ(parser.Feed("\x16\x03\x01"), S::kNotTls);  // terminal stays terminal
}

TEST(ClientHello, Malformed) {
  const std::string good_ext = SniExtension({"a.example"});
  struct Case {
    const char* name;
    const char* why;  // expected in error()
    std::string bytes;
  };
  std::string long_name(256, 'a');
  std::vector<Case> cases = {
      {"empty record", "empty handshake record", std::string("\x16\x03\x01\x00\x00", 5)},
      {"record over 2^14", "record larger than 2^14", std::string("\x16\x03\x01\x40\x01", 5)},
      {"record minor version", "bad record version", std::string("\x16\x03\x09", 3)},
      {"not a ClientHello", "not a ClientHello", Records(std::string("\x02\x00\x00\x04xxxx", 8))},
      {"message over the cap", "larger than the limit",
       Records(std::string("\x01\xff\xff\xff", 4))},
      {"other record type mid-message", "non-handshake record",
       Records(HelloMessage(good_ext).substr(0, 20)) +
           Records(HelloMessage(good_ext).substr(20), 16384, 23)},
      {"trailing bytes in the record", "trailing data", Records(HelloMessage(good_ext) + "\x01")},
      {"bad client version", "bad ClientHello version",
       Records("\x01" + U24(40) + "\x02\x03" + std::string(38, 'x'))},
      {"session id too long", "bad session id",
       Records("\x01" + U24(36) + "\x03\x03" + std::string(32, 'r') + "\x21" + "x")},
      {"odd cipher suites", "bad cipher suites",
       Records("\x01" + U24(2 + 32 + 1 + 2 + 3 + 2) + "\x03\x03" + std::string(32, 'r') +
               std::string(1, '\0') + U16(3) + "abc" + std::string("\x01\x00", 2))},
      {"no compression methods", "bad compression methods",
       Records("\x01" + U24(2 + 32 + 1 + 2 + 2 + 1) + "\x03\x03" + std::string(32, 'r') +
               std::string(1, '\0') + U16(2) + "ab" + std::string(1, '\0'))},
      {"extensions length overruns", "bad extensions block",
       Records(MessageWithTail(U16(10) + "abc"))},
      {"bytes after the extensions block", "bad extensions block",
       Records(MessageWithTail(U16(0) + "zz"))},
      {"one stray byte after compression", "bad extensions block",
       Records(MessageWithTail(std::string(1, '\0')))},
      {"extension overruns the block", "truncated extension",
       Records(HelloMessage(U16(0) + U16(100) + "short"))},
      {"two host names", "two host names", Hello(SniExtension({"a.example", "b.example"}))},
      {"space in the host name", "invalid host name", Hello(SniExtension({"a example"}))},
      {"quote in the host name", "invalid host name", Hello(SniExtension({"a\"b"}))},
      {"NUL in the host name", "invalid host name", Hello(SniExtension({std::string("a\0b", 3)}))},
      {"newline in the host name", "invalid host name", Hello(SniExtension({"a\nb"}))},
      {"empty host name", "invalid host name", Hello(SniExtension({""}))},
      {"host name too long", "invalid host name", Hello(SniExtension({long_name}))},
      {"empty label", "invalid host name", Hello(SniExtension({"a..b"}))},
      {"empty server_name list", "bad server_name", Hello(Extension(0, U16(0)))},
      {"empty ALPN list", "bad ALPN", Hello(Extension(16, U16(0)))},
      {"empty ALPN protocol", "bad ALPN", Hello(Extension(16, U16(1) + std::string(1, '\0')))},
      {"ALPN overrun", "bad ALPN", Hello(Extension(16, U16(5) + "\x09" + "abcd"))},
      {"duplicate extension", "duplicate extension",
       Hello(AlpnExtension({"h2"}) + AlpnExtension({"h2"}))},
      {"duplicate unknown extension", "duplicate extension",
       Hello(Extension(99, "") + Extension(99, ""))},
      {"odd supported_versions", "bad supported_versions",
       Hello(Extension(43, std::string("\x03\x03\x04\x03", 4)))},
  };
  for (const Case& c : cases) {
    const ClientHelloResult r = ParseClientHello(c.bytes);
    EXPECT_EQ(r.status, S::kMalformed) << c.name << " -> " << ClientHelloStatusName(r.status);
    EXPECT_NE(r.error.find(c.why), std::string::npos) << c.name << ": " << r.error;
  }
}

TEST(ClientHello, CapOnTotalBytes) {
  // A legal hello padded beyond a small cap is refused; under the cap it parses.
  const std::string hello =
      Hello(SniExtension({"a.example"}) + Extension(21, std::string(3000, 0)));
  EXPECT_EQ(ParseClientHello(hello, 1024).status, S::kMalformed);
  EXPECT_EQ(ParseClientHello(hello, 4096).status, S::kParsed);
  // Tiny records that never complete: stopped at the cap, not after it.
  std::string dribble;
  const std::string message = HelloMessage(Extension(21, std::string(12000, 0)));
  dribble = Records(message, 1);  // 6 bytes per payload byte
  ClientHelloParser parser(kMaxClientHelloBytes);
  S s = S::kNeedMore;
  size_t fed = 0;
  for (; fed < dribble.size() && s == S::kNeedMore; fed += 512)
    s = parser.Feed(std::string_view(dribble).substr(fed, 512));
  EXPECT_EQ(s, S::kMalformed);
  EXPECT_LE(fed, kMaxClientHelloBytes + 512);
}

TEST(ClientHello, MutationsNeverCrash) {
  // Every single-byte change of a real hello yields some status (and with
  // ASan, no out-of-bounds read); a parse that succeeds reports sane values.
  const std::string hello = TlsSessionHello("mutate.example.com", {"h2", "http/1.1"});
  std::mt19937 rng(7);
  for (size_t i = 0; i < hello.size(); ++i) {
    for (int k = 0; k < 4; ++k) {
      std::string m = hello;
      m[i] = static_cast<char>(rng() & 0xff);
      const ClientHelloResult r = ParseClientHello(m);
      if (r.status == S::kParsed) {
        EXPECT_LE(r.hello.sni.size(), 255u);
      }
    }
  }
}

// ---- openssl s_client over a real socket ----

TEST(ClientHello, OpensslSClientOverASocket) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);

  ClientHelloParser parser;
  std::vector<size_t> reads;
  std::thread server([&] {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return;
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    char buf[512];  // small reads: the hello arrives in several pieces
    while (parser.status() == S::kNeedMore && std::chrono::steady_clock::now() < deadline) {
      pollfd q{fd, POLLIN, 0};
      if (::poll(&q, 1, 1000) != 1) continue;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      reads.push_back(static_cast<size_t>(n));
      parser.Feed(std::string_view(buf, static_cast<size_t>(n)));
    }
    ::close(fd);  // s_client then fails its handshake and exits
  });
  std::string output;
  testing::RunCommand("timeout 15 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                          " -servername svc.Example.org -alpn h2,http/1.1 </dev/null",
                      &output);
  server.join();
  ::close(listener);
  ASSERT_EQ(parser.status(), S::kParsed) << parser.error() << "\n" << output;
  EXPECT_EQ(parser.hello().sni, "svc.example.org");
  EXPECT_EQ(parser.hello().alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_TRUE(parser.hello().offers_tls13);
}

}  // namespace
}  // namespace gh::tls
