#include "gateway/http2_limits.h"

#include <gtest/gtest.h>

namespace gh::gateway {
namespace {

TEST(TokenBucket, BurstThenRefillAtRate) {
  TokenBucket bucket(3, 10);  // 3 tokens, 10 per second
  EXPECT_TRUE(bucket.Consume(1000));
  EXPECT_TRUE(bucket.Consume(1000));
  EXPECT_TRUE(bucket.Consume(1000));
  EXPECT_FALSE(bucket.Consume(1000));
  EXPECT_FALSE(bucket.Consume(1099));  // 0.99 token so far
  EXPECT_TRUE(bucket.Consume(1100));   // 100 ms = 1 token
  EXPECT_FALSE(bucket.Consume(1100));
  // A long pause refills to the burst, never beyond.
  EXPECT_EQ(bucket.tokens(1'000'000'000), 3u);
}

TEST(TokenBucket, ClockGoingBackwardsDoesNotRefill) {
  TokenBucket bucket(1, 1000);
  EXPECT_TRUE(bucket.Consume(5000));
  EXPECT_FALSE(bucket.Consume(4000));
  EXPECT_FALSE(bucket.Consume(5000));
  EXPECT_TRUE(bucket.Consume(5001));
}

Http2FloodLimits SmallLimits() {
  Http2FloodLimits limits;
  limits.reset_burst = 5;
  limits.reset_rate = 1;
  limits.ping_burst = 4;
  limits.ping_rate = 1;
  limits.settings_burst = 2;
  limits.settings_rate = 1;
  limits.stream_error_burst = 3;
  limits.stream_error_rate = 1;
  limits.max_consecutive_empty_frames = 1;
  limits.priority_frames_per_stream = 2;
  limits.window_updates_per_data_frame = 1;
  return limits;
}

TEST(Http2FloodGuard, RapidResetTripsAfterTheBurst) {
  Http2FloodGuard guard(SmallLimits());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(guard.OnFrameHeader(kH2FrameRstStream, 0, 4, 100), Http2Violation::kNone) << i;
  }
  EXPECT_EQ(guard.OnFrameHeader(kH2FrameRstStream, 0, 4, 100), Http2Violation::kRapidReset);
}

TEST(Http2FloodGuard, PingAndSettingsFloodsButNotTheirAcks) {
  Http2FloodGuard guard(SmallLimits());
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(guard.OnFrameHeader(kH2FramePing, kH2FlagAck, 8, 0), Http2Violation::kNone);
    ASSERT_EQ(guard.OnFrameHeader(kH2FrameSettings, kH2FlagAck, 0, 0), Http2Violation::kNone);
  }
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(guard.OnFrameHeader(kH2FramePing, 0, 8, 0), Http2Violation::kNone);
  EXPECT_EQ(guard.OnFrameHeader(kH2FramePing, 0, 8, 0), Http2Violation::kPingFlood);
  // One second later one more PING is fine again.
  EXPECT_EQ(guard.OnFrameHeader(kH2FramePing, 0, 8, 1000), Http2Violation::kNone);

  EXPECT_EQ(guard.OnFrameHeader(kH2FrameSettings, 0, 6, 0), Http2Violation::kNone);
  EXPECT_EQ(guard.OnFrameHeader(kH2FrameSettings, 0, 6, 0), Http2Violation::kNone);
  EXPECT_EQ(guard.OnFrameHeader(kH2FrameSettings, 0, 6, 0), Http2Violation::kSettingsFlood);
}

TEST(Http2FloodGuard, ConsecutiveEmptyFrames) {
  Http2FloodGuard guard(SmallLimits());
  // One empty DATA frame is tolerated, a payload resets the count.
  EXPECT_EQ(guard.OnFrameHeader(kH2FrameData, 0, 0, 0), Http2Violation::kNone);
  EXPECT_EQ(guard.OnFrameHeader(kH2FrameData, 0, 10, 0), Http2Violation::kNone);
  EXPECT_EQ(guard.OnFrameHeader(kH2FrameData, 0, 0, 0), Http2Violation::kNone);
  // END_STREAM makes an empty DATA frame meaningful (and ends the run).
  EXPECT_EQ(guard.OnFrameHeader(kH2FrameData, kH2FlagEndStream, 0, 0), Http2Violation::kNone);
  EXPECT_EQ(guard.OnFrameHeader(kH2FrameData, 0, 0, 0), Http2Violation::kNone);
  EXPECT_EQ(guard.OnFrameHeader(kH2FrameData, 0, 0, 0), Http2Violation::kEmptyFrameFlood);

  Http2FloodGuard other(SmallLimits());
  EXPECT_EQ(other.OnFrameHeader(kH2FrameHeaders, 0, 0, 0), Http2Violation::kNone);
  EXPECT_EQ(other.OnFrameHeader(kH2FrameContinuation, 0, 0, 0), Http2Violation::kEmptyFrameFlood);

  Http2FloodLimits off = SmallLimits();
  off.max_consecutive_empty_frames = 0;
  Http2FloodGuard unlimited(off);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(unlimited.OnFrameHeader(kH2FrameData, 0, 0, 0), Http2Violation::kNone);
  }
}

TEST(Http2FloodGuard, PriorityFramesScaleWithStreams) {
  Http2FloodGuard guard(SmallLimits());
  EXPECT_EQ(guard.OnFrameHeader(kH2FramePriority, 0, 5, 0), Http2Violation::kNone);
  EXPECT_EQ(guard.OnFrameHeader(kH2FramePriority, 0, 5, 0), Http2Violation::kNone);
  EXPECT_EQ(guard.OnFrameHeader(kH2FramePriority, 0, 5, 0), Http2Violation::kPriorityFlood);
  Http2FloodGuard busy(SmallLimits());
  for (int i = 0; i < 10; ++i)
    busy.OnStreamOpened();
  for (int i = 0; i < 22; ++i) {
    ASSERT_EQ(busy.OnFrameHeader(kH2FramePriority, 0, 5, 0), Http2Violation::kNone) << i;
  }
  EXPECT_EQ(busy.OnFrameHeader(kH2FramePriority, 0, 5, 0), Http2Violation::kPriorityFlood);
}

TEST(Http2FloodGuard, WindowUpdatesScaleWithDataSent) {
  Http2FloodGuard guard(SmallLimits());
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(guard.OnFrameHeader(kH2FrameWindowUpdate, 0, 4, 0), Http2Violation::kNone) << i;
  }
  EXPECT_EQ(guard.OnFrameHeader(kH2FrameWindowUpdate, 0, 4, 0), Http2Violation::kWindowUpdateFlood);
  Http2FloodGuard sending(SmallLimits());
  for (int i = 0; i < 100; ++i)
    sending.OnDataFrameSent();
  for (int i = 0; i < 210; ++i) {
    ASSERT_EQ(sending.OnFrameHeader(kH2FrameWindowUpdate, 0, 4, 0), Http2Violation::kNone) << i;
  }
  EXPECT_EQ(sending.OnFrameHeader(kH2FrameWindowUpdate, 0, 4, 0),
            Http2Violation::kWindowUpdateFlood);
}

TEST(Http2FloodGuard, PrematureResetsByRatio) {
  Http2FloodLimits limits = SmallLimits();
  limits.premature_reset_min_streams = 10;
  Http2FloodGuard guard(limits);
  // Below the minimum stream count resets are only counted.
  for (int i = 0; i < 9; ++i) {
    guard.OnStreamOpened();
    ASSERT_EQ(guard.OnPrematureReset(), Http2Violation::kNone) << i;
  }
  guard.OnStreamOpened();
  EXPECT_EQ(guard.OnPrematureReset(), Http2Violation::kRapidReset);

  // A client that cancels some of its streams (a third here) is fine.
  Http2FloodGuard browser(limits);
  for (int i = 0; i < 300; ++i) {
    browser.OnStreamOpened();
    if (i % 3 == 0) {
      ASSERT_EQ(browser.OnPrematureReset(), Http2Violation::kNone) << i;
    }
  }
  limits.premature_reset_min_streams = 0;
  Http2FloodGuard off(limits);
  for (int i = 0; i < 50; ++i) {
    off.OnStreamOpened();
    ASSERT_EQ(off.OnPrematureReset(), Http2Violation::kNone);
  }
}

TEST(Http2FloodGuard, PeerStreamErrors) {
  Http2FloodGuard guard(SmallLimits());
  EXPECT_EQ(guard.OnPeerStreamError(0), Http2Violation::kNone);
  EXPECT_EQ(guard.OnPeerStreamError(0), Http2Violation::kNone);
  EXPECT_EQ(guard.OnPeerStreamError(0), Http2Violation::kNone);
  EXPECT_EQ(guard.OnPeerStreamError(0), Http2Violation::kStreamErrorFlood);
}

TEST(Http2FloodGuard, LimitsComeFromProxySettings) {
  routing::ProxySettings proxy;
  proxy.http2_stream_reset_burst = 7;
  proxy.http2_stream_reset_rate = 3;
  proxy.http2_max_consecutive_empty_frames = 4;
  const Http2FloodLimits limits = Http2FloodLimits::FromSettings(proxy);
  EXPECT_EQ(limits.reset_burst, 7u);
  EXPECT_EQ(limits.reset_rate, 3u);
  EXPECT_EQ(limits.max_consecutive_empty_frames, 4u);
  EXPECT_EQ(Http2ViolationName(Http2Violation::kRapidReset), "rapid_reset");
  EXPECT_EQ(Http2ViolationName(Http2Violation::kContinuationFlood), "continuation_flood");
}

}  // namespace
}  // namespace gh::gateway
