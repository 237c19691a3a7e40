// Known HTTP/2 attacks and malformed input, written frame by frame
// (tests/support/h2_client.py): each gets the answer RFC 9113 asks for
// (stream error -> RST_STREAM, connection error or abuse -> GOAWAY and close),
// the violation is counted by kind, and a normal client on another
// connection keeps getting answers within 100 ms while it happens.
#include <cstdio>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/h2_support.h"

namespace gh::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr uint32_t kEnhanceYourCalm = 11;
constexpr uint32_t kProtocolError = 1;

constexpr std::string_view kConfig = R"(
[proxy]
workers = 1
access_log = "off"
request_headers_timeout = "300ms"
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "http", protocol = "HTTP" }
hosts = ["*"]
[[service_entry]]
name = "origin"
hosts = ["origin.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${UP} } }]
[[virtual_service]]
name = "routes"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/" } }]
route = [{ destination = { host = "origin.internal", port = { number = 80 } } }]
)";

class H2AbuseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { upstream_ = new UpstreamProcess(UpstreamProcess::Start()); }
  static void TearDownTestSuite() {
    delete upstream_;
    upstream_ = nullptr;
  }
  static UpstreamProcess& up() { return *upstream_; }

  void SetUp() override {
    port_ = FreePort();
    gw_.emplace(GatehouseProcess::Start(
        Subst(kConfig, {{"PORT", std::to_string(port_)}, {"UP", std::to_string(up().Port())}}),
        {.wait_ports = {port_}}));
  }

  struct Outcome {
    Json attack;
    LoadResult load;
    int64_t upstream_requests = 0;  // caused by the attack (the load's excluded)
  };

  // Runs one attack while a keep-alive client keeps asking on its own
  // connection; the attack connection's upstream work is counted too.
  Outcome Attack(const std::vector<std::string>& args) {
    up().ResetStats();
    LoadOptions lo;
    lo.port = port_;
    lo.connections = 1;
    lo.target = "/normal";
    lo.duration = seconds(60);
    lo.max_requests = 1000000;
    lo.response_timeout = seconds(5);
    Outcome out;
    {
      BackgroundLoad load(lo);
      // Let the normal client settle on its connection first.
      const auto settle = std::chrono::steady_clock::now() + seconds(5);
      while (load.RequestsSoFar() < 20 && std::chrono::steady_clock::now() < settle) {
        std::this_thread::sleep_for(milliseconds(10));
      }
      std::vector<std::string> full = {"attack"};
      full.insert(full.end(), args.begin(), args.end());
      full.insert(full.end(), {"--port", std::to_string(port_)});
      out.attack = H2Client(full, milliseconds(120000));
      std::this_thread::sleep_for(milliseconds(100));
      out.load = load.Stop();
    }
    out.upstream_requests = up().Stats().requests - out.load.requests;
    return out;
  }

  void ExpectNormalClientUnaffected(const Outcome& o) {
    std::fprintf(stderr, "[h2-abuse] %s: concurrent client got %lld answers, slowest %lld us\n",
                 ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                 static_cast<long long>(o.load.requests),
                 static_cast<long long>(o.load.max_latency.count()));
    RecordProperty("concurrent_max_latency_us", std::to_string(o.load.max_latency.count()));
    EXPECT_EQ(o.load.failures, 0) << o.load.Describe();
    EXPECT_GT(o.load.requests, 20) << o.load.Describe();
    EXPECT_EQ(o.load.Count(200), o.load.requests) << o.load.Describe();
    EXPECT_LT(o.load.max_latency.count(), 100000)
        << "slowest answer to the concurrent client: " << o.load.max_latency.count() << " us";
  }

  void ExpectGoawayAndClose(const Json& attack, uint32_t code, std::string_view violation) {
    ASSERT_FALSE(attack["goaway"].is_null()) << attack.dump();
    EXPECT_EQ(attack["goaway"]["error_code"], code) << attack.dump();
    EXPECT_TRUE(attack["closed"].get<bool>()) << "the connection is cut after the GOAWAY";
    EXPECT_TRUE(
        gw_->process().WaitForStderr("http2 violation: " + std::string(violation), seconds(5)))
        << gw_->ReadStderr();
  }

  static UpstreamProcess* upstream_;
  int port_ = 0;
  std::optional<GatehouseProcess> gw_;
};
UpstreamProcess* H2AbuseTest::upstream_ = nullptr;

TEST_F(H2AbuseTest, RapidResetIsCutOffAndBoundsUpstreamWork) {
  Outcome o = Attack({"rapid-reset", "--count", "20000"});
  ExpectGoawayAndClose(o.attack, kEnhanceYourCalm, "rapid_reset");
  // Once 100 streams were opened and most were reset before any response,
  // the connection ends (the GOAWAY's last stream id), not after the 20000
  // streams the client wrote into its socket; the origin saw at most that
  // many requests.
  EXPECT_LE(o.attack["goaway"]["last_stream_id"].get<int64_t>(), 2 * 100 + 1) << o.attack.dump();
  EXPECT_LE(o.upstream_requests, 100);
  ExpectNormalClientUnaffected(o);
}

TEST_F(H2AbuseTest, ContinuationFloodIsCutOff) {
  Outcome o = Attack({"continuation-flood", "--count", "5000"});
  ExpectGoawayAndClose(o.attack, kEnhanceYourCalm, "continuation_flood");
  EXPECT_TRUE(o.attack["statuses"]["1"].is_null()) << "the request never reached the proxy";
  EXPECT_EQ(o.upstream_requests, 0);
  ExpectNormalClientUnaffected(o);
}

TEST_F(H2AbuseTest, HpackBombGets431AndTheConnectionStaysUsable) {
  // 10000 one-byte references to a 4 KB dynamic-table entry: ~40 MB decoded.
  Outcome o = Attack({"hpack-bomb", "--count", "10000"});
  EXPECT_EQ(o.attack["statuses"]["1"], 431) << o.attack.dump();
  EXPECT_TRUE(o.attack["goaway"].is_null()) << o.attack.dump();
  EXPECT_EQ(o.attack["followup_status"], 200) << "a stream error, not a connection error";
  EXPECT_EQ(o.upstream_requests, 1) << "only the follow-up request";
  ExpectNormalClientUnaffected(o);
}

TEST_F(H2AbuseTest, OversizedHeaderListGets431) {
  // 70 fields of 1000 bytes (HEADERS + CONTINUATIONs): over the 60 KiB list size.
  Outcome o = Attack({"big-headers", "--count", "70"});
  EXPECT_EQ(o.attack["statuses"]["1"], 431) << o.attack.dump();
  EXPECT_TRUE(o.attack["goaway"].is_null()) << o.attack.dump();
  EXPECT_EQ(o.attack["server_settings"]["6"], 61440) << "SETTINGS_MAX_HEADER_LIST_SIZE";
  EXPECT_EQ(o.attack["followup_status"], 200);
  ExpectNormalClientUnaffected(o);
}

TEST_F(H2AbuseTest, SettingsFloodIsCutOff) {
  Outcome o = Attack({"settings-flood", "--count", "20000"});
  ExpectGoawayAndClose(o.attack, kEnhanceYourCalm, "settings_flood");
  ExpectNormalClientUnaffected(o);
}

TEST_F(H2AbuseTest, PingFloodIsCutOff) {
  Outcome o = Attack({"ping-flood", "--count", "20000"});
  ExpectGoawayAndClose(o.attack, kEnhanceYourCalm, "ping_flood");
  ExpectNormalClientUnaffected(o);
}

TEST_F(H2AbuseTest, EmptyDataFrameFloodIsCutOff) {
  Outcome o = Attack({"empty-data-flood", "--count", "10000"});
  ExpectGoawayAndClose(o.attack, kEnhanceYourCalm, "empty_frame_flood");
  ExpectNormalClientUnaffected(o);
}

TEST_F(H2AbuseTest, PriorityFloodIsCutOff) {
  Outcome o = Attack({"priority-flood", "--count", "20000"});
  ExpectGoawayAndClose(o.attack, kEnhanceYourCalm, "priority_flood");
  ExpectNormalClientUnaffected(o);
}

TEST_F(H2AbuseTest, StreamsTheClientMakesUsResetAreBoundedToo) {
  // "Made you reset": every request is malformed so the server resets it.
  Outcome o = Attack({"stream-error-flood", "--count", "5000"});
  ExpectGoawayAndClose(o.attack, kEnhanceYourCalm, "stream_error_flood");
  EXPECT_EQ(o.upstream_requests, 0);
  ExpectNormalClientUnaffected(o);
}

TEST_F(H2AbuseTest, MalformedRequestsAreStreamErrors) {
  // RFC 9113 8.1.1: a malformed request is a stream error of type
  // PROTOCOL_ERROR; the connection keeps working.
  for (std::string c :
       {"missing-path", "missing-method", "empty-path", "unknown-pseudo", "pseudo-after-regular",
        "duplicate-method", "response-pseudo", "uppercase", "connection", "keep-alive",
        "transfer-encoding", "upgrade", "proxy-connection", "te-gzip", "newline-value"}) {
    SCOPED_TRACE(c);
    up().ResetStats();
    // The follow-up waits past the 300 ms header timeout: a rejected header
    // block must not leave that clock running on a healthy connection.
    Json r = H2Client({"attack", "bad-headers", "--case", c, "--port", std::to_string(port_),
                       "--settle", "2", "--followup-delay-ms", c == "uppercase" ? "600" : "0"});
    EXPECT_EQ(r["resets"]["1"], kProtocolError) << r.dump();
    EXPECT_TRUE(r["statuses"]["1"].is_null()) << r.dump();
    EXPECT_TRUE(r["goaway"].is_null()) << r.dump();
    EXPECT_EQ(r["followup_status"], 200) << r.dump();
    EXPECT_EQ(up().Stats().requests, 1) << "only the well-formed follow-up reached the origin";
  }
}

}  // namespace
}  // namespace gh::test
