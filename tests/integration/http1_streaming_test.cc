// Bodies stream both ways with watermark backpressure: 2 GiB in each
// direction through the gateway with its RSS growing by less than 16 MiB.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "tests/integration/proxy_fixture.h"

namespace gh::test {
namespace {

constexpr uint64_t kTwoGiB = 2ULL << 30;
constexpr int64_t kMaxGrowth = 16LL << 20;

// The upstream's body pattern (byte i = i % 251) repeats every 251 bytes, so
// one buffer of whole periods serves every offset: fast to send and check.
constexpr size_t kPeriod = 251;
constexpr size_t kPiece = kPeriod * 4096;

const std::string& Periodic() {
  static const std::string buffer = PatternBytes(0, kPiece + kPeriod);
  return buffer;
}

std::string_view PatternAt(uint64_t offset, size_t n) {
  return std::string_view(Periodic()).substr(offset % kPeriod, n);
}

// Checks streamed body pieces against the pattern without storing them.
struct PatternChecker {
  uint64_t offset = 0;
  bool ok = true;
  void operator()(std::string_view data) {
    while (!data.empty() && ok) {
      const size_t n = std::min(data.size(), kPiece);
      ok = data.substr(0, n) == PatternAt(offset, n);
      offset += n;
      data.remove_prefix(n);
    }
  }
};

// Samples the gateway's RSS every 20 ms while alive.
class RssSampler {
 public:
  explicit RssSampler(GatehouseProcess& gateway) : gateway_(gateway) {
    thread_ = std::thread([this] {
      while (!stop_) {
        peak_ = std::max(peak_.load(), gateway_.Rss());
        std::this_thread::sleep_for(milliseconds(20));
      }
    });
  }
  ~RssSampler() { Stop(); }
  int64_t Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return peak_;
  }

 private:
  GatehouseProcess& gateway_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_{0};
  std::thread thread_;
};

TEST(Http1Streaming, TwoGiBDownloadWithBoundedMemory) {
  ProxyEnv env;
  ASSERT_EQ(Curl({env.Url("/warm")}).status, 200);
  const int64_t baseline = env.gateway().Rss();
  RssSampler sampler(env.gateway());
  RawClient client(env.port());
  ASSERT_TRUE(client.Send(BuildRequest(
      "GET", "/big", {{"Host", "a"}, {"x-upstream-body-size", std::to_string(kTwoGiB)}})));
  PatternChecker checker;
  HttpResponse r =
      client.ReadResponse(milliseconds(240000),
                          {.keep_body = false, .on_body = [&](std::string_view d) { checker(d); }});
  const int64_t peak = sampler.Stop();
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(r.body_length, kTwoGiB);
  EXPECT_TRUE(checker.ok) << "body differs from the pattern near byte " << checker.offset;
  EXPECT_LT(peak - baseline, kMaxGrowth) << "baseline " << baseline << " peak " << peak;
}

TEST(Http1Streaming, TwoGiBUploadWithBoundedMemory) {
  ProxyEnv env;
  ASSERT_EQ(Curl({env.Url("/warm")}).status, 200);
  const int64_t baseline = env.gateway().Rss();
  RssSampler sampler(env.gateway());
  RawClient client(env.port(), milliseconds(240000));
  ASSERT_TRUE(client.Send("PUT /upload HTTP/1.1\r\nHost: a\r\nContent-Length: " +
                          std::to_string(kTwoGiB) + "\r\n\r\n"));
  for (uint64_t offset = 0; offset < kTwoGiB; offset += kPiece) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kPiece, kTwoGiB - offset));
    ASSERT_TRUE(client.Send(PatternAt(offset, n))) << "at " << offset;
  }
  HttpResponse r = client.ReadResponse(milliseconds(120000));
  const int64_t peak = sampler.Stop();
  ASSERT_TRUE(r.ok) << r.Describe();
  Json echo = ParseJson(r.body);
  EXPECT_EQ(echo["body_length"], kTwoGiB);
  // SHA-256 of the first 2 GiB of the pattern, computed once with Python's
  // hashlib (an oracle independent of this harness and of the gateway).
  EXPECT_EQ(echo["body_sha256"],
            "6120b42534d2fd0186a5e50c964754da2d2e4881425abca5e770f6c3cd1f2049");
  EXPECT_LT(peak - baseline, kMaxGrowth) << "baseline " << baseline << " peak " << peak;
}

TEST(Http1Streaming, SlowReaderDoesNotGrowTheGateway) {
  ProxyEnv env;
  ASSERT_EQ(Curl({env.Url("/warm")}).status, 200);
  const int64_t baseline = env.gateway().Rss();
  RawClient client(env.port());
  ASSERT_TRUE(client.Send(BuildRequest(
      "GET", "/big", {{"Host", "a"}, {"x-upstream-body-size", std::to_string(512 << 20)}})));
  // Read nothing for a while: the gateway must stop reading the upstream
  // instead of buffering the body.
  std::this_thread::sleep_for(milliseconds(1500));
  const int64_t stalled = env.gateway().Rss();
  EXPECT_LT(stalled - baseline, kMaxGrowth) << "baseline " << baseline << " stalled " << stalled;
  HttpResponse r = client.ReadResponse(milliseconds(60000), {.keep_body = false});
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(r.body_length, 512u << 20);
}

TEST(Http1Streaming, PausedUpstreamConnectionIsResumedBeforeReuse) {
  // A slow reader pauses the upstream connection; the response then ends.
  // The pooled connection must come back reading, or the next request on it
  // would hang.
  ProxyEnv env;
  for (int round = 0; round < 3; ++round) {
    RawClient client(env.port());
    ASSERT_TRUE(client.Send(BuildRequest(
        "GET", "/big", {{"Host", "a"}, {"x-upstream-body-size", std::to_string(8 << 20)}})));
    std::this_thread::sleep_for(milliseconds(300));  // let buffers fill up
    HttpResponse r = client.ReadResponse(milliseconds(20000), {.keep_body = false});
    ASSERT_TRUE(r.ok) << r.Describe();
    auto next = Curl({env.Url("/after")}, milliseconds(5000));
    ASSERT_EQ(next.status, 200) << "round " << round << ": " << next.Describe();
  }
  EXPECT_EQ(env.upstream().Stats().accepts, 1);
}

}  // namespace
}  // namespace gh::test
