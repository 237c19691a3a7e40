// TlsSession mechanics: buffers, records, close_notify, failures, and the
// memory an idle TLS connection costs.
#include "tls/session.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "tests/unit/tls/test_pki.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

#if defined(__SANITIZE_ADDRESS__)
#define GH_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GH_UNDER_ASAN 1
#endif
#endif

namespace gh::tls {
namespace {

using testing::MemFiles;
using testing::Pump;
using testing::TestCa;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files.Put("ca.pem", ca.RootPem());
    ServerSpec spec;
    spec.name = "s";
    spec.hosts = {"*"};
    spec.tls.mode = routing::ServerTlsMode::kSimple;
    spec.tls.certificates = {files.PutPair("server", *ca.Leaf({"api.example.com"}))};
    server_ctx = *ServerContext::Build({spec}, {}, store);
    routing::UpstreamTls tls;
    tls.mode = routing::UpstreamTlsMode::kSimple;
    tls.ca_certificates = "ca.pem";
    client_ctx = *ClientContext::Build(tls, {}, store);
  }
  std::unique_ptr<TlsSession> NewClient() {
    return TlsSession::NewClient(client_ctx, "api.example.com").value();
  }
  std::unique_ptr<TlsSession> NewServer() { return TlsSession::NewServer(server_ctx).value(); }

  TestCa ca = TestCa::Create();
  MemFiles files;
  CertStore store{files.Reader()};
  std::shared_ptr<const ServerContext> server_ctx;
  std::shared_ptr<const ClientContext> client_ctx;
};

TEST_F(SessionTest, ExchangesDataBothWays) {
  auto client = NewClient();
  auto server = NewServer();
  EXPECT_EQ(client->state(), TlsSession::State::kHandshaking);
  EXPECT_TRUE(client->HasCiphertext());  // the ClientHello
  EXPECT_EQ(client->WritePlaintext(Bytes("too early")), 0u);
  Pump(*client, *server);
  ASSERT_EQ(client->state(), TlsSession::State::kEstablished);
  ASSERT_EQ(server->state(), TlsSession::State::kEstablished);
  EXPECT_EQ(client->protocol_version(), "TLSv1.3");
  EXPECT_EQ(client->WritePlaintext(Bytes("GET / HTTP/1.1\r\nHost: api\r\n\r\n")), 29u);
  EXPECT_EQ(Pump(*client, *server).server_received, "GET / HTTP/1.1\r\nHost: api\r\n\r\n");
  EXPECT_EQ(server->WritePlaintext(Bytes("HTTP/1.1 200 OK\r\n\r\n")), 19u);
  EXPECT_EQ(Pump(*client, *server).client_received, "HTTP/1.1 200 OK\r\n\r\n");
}

TEST_F(SessionTest, ZeroCopyInputAndByteAtATimeDelivery) {
  auto client = NewClient();
  auto server = NewServer();
  // Client -> server through PrepareInput/CommitInput, one byte per call.
  auto deliver_bytewise = [](TlsSession& from, TlsSession& to) {
    ByteBuffer bytes = from.TakeCiphertext();
    for (size_t i = 0; i < bytes.size(); ++i) {
      std::span<uint8_t> in = to.PrepareInput(1);
      ASSERT_GE(in.size(), 1u);
      in[0] = bytes.data()[i];
      to.CommitInput(1);
    }
  };
  while (client->state() == TlsSession::State::kHandshaking ||
         server->state() == TlsSession::State::kHandshaking) {
    ASSERT_TRUE(client->HasCiphertext() || server->HasCiphertext());
    deliver_bytewise(*client, *server);
    deliver_bytewise(*server, *client);
    uint8_t sink[64];
    client->ReadPlaintext(sink);
  }
  ASSERT_EQ(server->state(), TlsSession::State::kEstablished) << server->failure_reason();
  client->WritePlaintext(Bytes("ping"));
  deliver_bytewise(*client, *server);
  uint8_t out[16];
  ASSERT_EQ(server->ReadPlaintext(out), 4u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), 4), "ping");
}

// Walks TLS records: (type, length) pairs.
std::vector<std::pair<int, size_t>> Records(std::span<const uint8_t> bytes) {
  std::vector<std::pair<int, size_t>> out;
  size_t pos = 0;
  while (pos + 5 <= bytes.size()) {
    const size_t len = (size_t{bytes[pos + 3]} << 8) | bytes[pos + 4];
    out.emplace_back(bytes[pos], len);
    pos += 5 + len;
  }
  EXPECT_EQ(pos, bytes.size());
  return out;
}

TEST_F(SessionTest, WritesRecordsOfAtMost16KiB) {
  auto client = NewClient();
  auto server = NewServer();
  Pump(*client, *server);
  ASSERT_FALSE(server->HasCiphertext());
  std::string body(100 * 1024 + 123, 'x');
  for (size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>('a' + i % 26);
  ASSERT_EQ(server->WritePlaintext(Bytes(body)), body.size());
  const auto records = Records(server->PendingCiphertext());
  ASSERT_EQ(records.size(), 7u);  // ceil(102523 / 16384)
  for (const auto& [type, len] : records) {
    EXPECT_EQ(type, 23);               // application_data
    EXPECT_LE(len, 16384u + 256u);     // RFC 8446 TLSCiphertext limit
    EXPECT_GE(len, 102523u % 16384u);  // no tiny fragments
  }
  EXPECT_EQ(Pump(*client, *server).client_received, body);
}

TEST_F(SessionTest, CloseNotifyBothWays) {
  auto client = NewClient();
  auto server = NewServer();
  Pump(*client, *server);
  client->WritePlaintext(Bytes("last words"));
  client->Shutdown();
  EXPECT_TRUE(client->close_notify_sent());
  EXPECT_EQ(client->state(), TlsSession::State::kClosed);
  EXPECT_EQ(client->WritePlaintext(Bytes("more")), 0u);
  auto r = Pump(*client, *server);
  EXPECT_EQ(r.server_received, "last words");  // data before close_notify is delivered
  EXPECT_TRUE(server->close_notify_received());
  EXPECT_EQ(server->state(), TlsSession::State::kClosed);
  // The server may still answer, then closes too.
  EXPECT_EQ(server->WritePlaintext(Bytes("bye")), 3u);
  server->Shutdown();
  EXPECT_EQ(Pump(*client, *server).client_received, "bye");
  EXPECT_TRUE(client->close_notify_received());
  server->OnTransportEof();
  EXPECT_FALSE(server->truncated());
}

TEST_F(SessionTest, EofWithoutCloseNotifyIsTruncation) {
  auto client = NewClient();
  auto server = NewServer();
  Pump(*client, *server);
  server->OnTransportEof();
  EXPECT_EQ(server->state(), TlsSession::State::kClosed);
  EXPECT_TRUE(server->truncated());
  EXPECT_EQ(server->failure(), TlsFailure::kNone);
}

TEST_F(SessionTest, EofDuringHandshakeFails) {
  auto server = NewServer();
  auto client = NewClient();
  ByteBuffer hello = client->TakeCiphertext();
  server->FeedCiphertext(hello.span().first(20));
  EXPECT_EQ(server->state(), TlsSession::State::kHandshaking);
  server->OnTransportEof();
  EXPECT_EQ(server->state(), TlsSession::State::kFailed);
  EXPECT_EQ(server->failure(), TlsFailure::kEof);
  EXPECT_EQ(server->failure_reason(), "TLS_error:connection closed during the handshake");
}

TEST_F(SessionTest, PlaintextHttpAndGarbageFailWithReasons) {
  auto http = NewServer();
  http->FeedCiphertext(Bytes("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
  EXPECT_EQ(http->state(), TlsSession::State::kFailed);
  EXPECT_EQ(http->failure(), TlsFailure::kProtocol);
  EXPECT_EQ(http->failure_reason(), "TLS_error:http request");

  auto garbage = NewServer();
  garbage->FeedCiphertext(Bytes(std::string("\x16\x03\x01\x00\x05hello", 10)));
  EXPECT_EQ(garbage->state(), TlsSession::State::kFailed);
  EXPECT_EQ(garbage->failure_reason().rfind("TLS_error:", 0), 0u);
  EXPECT_TRUE(garbage->HasCiphertext());  // the fatal alert to send
  uint8_t out[16];
  EXPECT_EQ(garbage->ReadPlaintext(out), 0u);
  EXPECT_EQ(garbage->WritePlaintext(Bytes("x")), 0u);
}

TEST_F(SessionTest, CorruptedRecordAfterHandshakeFails) {
  auto client = NewClient();
  auto server = NewServer();
  Pump(*client, *server);
  client->WritePlaintext(Bytes("hello"));
  ByteBuffer record = client->TakeCiphertext();
  std::string bytes(reinterpret_cast<const char*>(record.data()), record.size());
  bytes[bytes.size() - 1] ^= 0x01;  // flip a bit of the AEAD tag
  server->FeedCiphertext(Bytes(bytes));
  uint8_t out[16];
  EXPECT_EQ(server->ReadPlaintext(out), 0u);
  EXPECT_EQ(server->state(), TlsSession::State::kFailed);
  EXPECT_EQ(server->failure_reason(), "TLS_error:decryption failed or bad record mac");
}

TEST_F(SessionTest, BuffersAreReleasedWhenIdle) {
  auto client = NewClient();
  auto server = NewServer();
  Pump(*client, *server);
  EXPECT_FALSE(server->HasCiphertext());
  client->WritePlaintext(Bytes(std::string(50000, 'z')));
  ByteBuffer wire = client->TakeCiphertext();
  EXPECT_EQ(client->PendingCiphertextSize(), 0u);
  server->FeedCiphertext(wire.span());
  uint8_t out[1 << 16];
  size_t total = 0, n;
  while ((n = server->ReadPlaintext(out)) > 0)
    total += n;
  EXPECT_EQ(total, 50000u);
  EXPECT_EQ(server->BufferCapacity(), 0u);  // everything consumed: buffers freed
  EXPECT_EQ(client->BufferCapacity(), 0u);
  // A partial record stays buffered until the rest arrives.
  client->WritePlaintext(Bytes("partial"));
  ByteBuffer rec = client->TakeCiphertext();
  server->FeedCiphertext(rec.span().first(10));
  EXPECT_EQ(server->ReadPlaintext(out), 0u);
  server->FeedCiphertext(rec.span().subspan(10));
  EXPECT_EQ(server->ReadPlaintext(out), 7u);
  EXPECT_EQ(server->BufferCapacity(), 0u);
  // A socket read that found nothing (EAGAIN) gives the prepared space back.
  ASSERT_GE(server->PrepareInput(16 * 1024).size(), 16u * 1024);
  server->CommitInput(0);
  EXPECT_EQ(server->BufferCapacity(), 0u);
}

TEST(ByteBuffer, GrowsConsumesAndReleases) {
  ByteBuffer b;
  EXPECT_EQ(b.capacity(), 0u);
  b.Append("hello", 5);
  b.Append(" world", 6);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data()), b.size()), "hello world");
  b.Consume(6);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data()), b.size()), "world");
  auto space = b.Prepare(3);
  ASSERT_GE(space.size(), 3u);
  std::memcpy(space.data(), "!!!", 3);
  b.Commit(3);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data()), b.size()), "world!!!");
  ByteBuffer moved = std::move(b);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_EQ(moved.size(), 8u);
  moved.Consume(100);
  EXPECT_TRUE(moved.empty());
  EXPECT_EQ(moved.capacity(), 0u);
}

// ------------------------------------------------------------------ memory ---

size_t HeapInUse() {
  malloc_trim(0);
  return mallinfo2().uordblks;
}

size_t RssBytes() {
  malloc_trim(0);
  std::ifstream statm("/proc/self/statm");
  size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// An idle established connection (TLS 1.3, ECDSA P-256, X25519, session
// ticket issued, no client certificate) on each side, measured by heap in
// use (mallinfo2, after malloc_trim) and RSS over many sessions. The bare
// SSL object of OpenSSL 3.0 (SSL_new, before any handshake) is measured too:
// it is the floor no caller can go below.
TEST_F(SessionTest, IdleSessionMemory) {
  constexpr int kSessions = 1000;
  {  // Warm up lazily initialised OpenSSL state.
    auto c = NewClient();
    auto s = NewServer();
    Pump(*c, *s);
  }
  std::vector<std::unique_ptr<TlsSession>> servers, clients;
  servers.reserve(kSessions);
  clients.reserve(kSessions);
  const size_t heap0 = HeapInUse(), rss0 = RssBytes();
  for (int i = 0; i < kSessions; ++i)
    servers.push_back(NewServer());
  const double bare_ssl = double(HeapInUse() - heap0) / kSessions;
  for (int i = 0; i < kSessions; ++i) {
    clients.push_back(NewClient());
    Pump(*clients.back(), *servers[i]);
    ASSERT_EQ(servers[i]->state(), TlsSession::State::kEstablished);
    ASSERT_FALSE(servers[i]->HasCiphertext());
    ASSERT_EQ(servers[i]->BufferCapacity(), 0u);
  }
  const size_t heap_both = HeapInUse(), rss_both = RssBytes();
  clients.clear();
  const size_t heap_servers = HeapInUse();
  const double server_heap = double(heap_servers - heap0) / kSessions;
  const double client_heap = double(heap_both - heap_servers) / kSessions;
  const double pair_rss = double(rss_both > rss0 ? rss_both - rss0 : 0) / kSessions;
  std::printf(
      "idle TLS memory per connection (%d connections): server heap %.0f B (bare SSL_new %.0f B), "
      "client heap %.0f B; RSS server+client pair %.0f B\n",
      kSessions, server_heap, bare_ssl, client_heap, pair_rss);
  RecordProperty("server_heap_bytes", static_cast<int>(server_heap));
  RecordProperty("bare_ssl_heap_bytes", static_cast<int>(bare_ssl));
  RecordProperty("client_heap_bytes", static_cast<int>(client_heap));
#ifndef GH_UNDER_ASAN
  // The 10 KiB target is not reachable with OpenSSL 3.0: its SSL object
  // alone is ~9 KiB before the handshake; the handshake adds two AEAD
  // contexts, the certificate slot copy, key shares and transcript hashes
  // that OpenSSL keeps until SSL_free. This bound guards against regressions
  // in what Gatehouse adds (its own buffers must be empty when idle).
  EXPECT_LE(server_heap, 16 * 1024);
  EXPECT_LE(server_heap - bare_ssl, 7 * 1024);
#endif
}

}  // namespace
}  // namespace gh::tls
