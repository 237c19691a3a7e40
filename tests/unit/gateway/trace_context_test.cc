#include "gateway/trace_context.h"

#include <gtest/gtest.h>

namespace gh::gateway {
namespace {

class CountingRandom final : public Random {
 public:
  uint64_t Next() override { return values_[i_++ % 3]; }

 private:
  uint64_t values_[3] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x1111222233334444ULL};
  size_t i_ = 0;
};

constexpr const char* kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceContext, ParsesValidTraceparent) {
  TraceContext c;
  ASSERT_TRUE(ParseTraceparent(kValid, &c));
  EXPECT_EQ(c.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c.parent_id, "00f067aa0ba902b7");
  EXPECT_TRUE(c.sampled);
  EXPECT_EQ(FormatTraceparent(c), kValid);
  ASSERT_TRUE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &c));
  EXPECT_FALSE(c.sampled);
  // A later version may append fields after a dash.
  EXPECT_TRUE(ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what", &c));
}

TEST(TraceContext, RejectsInvalidTraceparent) {
  TraceContext c;
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",     // short
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // v00 extra
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // uppercase
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // separator
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
           "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // future, no dash
       }) {
    EXPECT_FALSE(ParseTraceparent(bad, &c)) << bad;
  }
}

TEST(TraceContext, KeepsAValidTraceparentAndItsTracestate) {
  http::HeaderMap h;
  h.Add("traceparent", kValid);
  h.Add("tracestate", "congo=t61rcWkgMzE");
  CountingRandom random;
  TraceDecision d = PropagateTraceContext(h, random);
  EXPECT_EQ(d.origin, TraceOrigin::kTraceparent);
  EXPECT_EQ(*h.Get("traceparent"), kValid);
  EXPECT_EQ(*h.Get("tracestate"), "congo=t61rcWkgMzE");
  EXPECT_EQ(h.Count("traceparent"), 1u);
}

TEST(TraceContext, CreatesATraceparentWhenAbsentUnsampledByDefault) {
  http::HeaderMap h;
  h.Add("tracestate", "orphan=1");  // meaningless without its parent
  CountingRandom random;
  TraceDecision d = PropagateTraceContext(h, random);
  EXPECT_EQ(d.origin, TraceOrigin::kCreated);
  ASSERT_NE(h.Get("traceparent"), nullptr);
  EXPECT_EQ(*h.Get("traceparent"), "00-0123456789abcdeffedcba9876543210-1111222233334444-00");
  EXPECT_FALSE(h.Has("tracestate"));
  TraceContext parsed;
  EXPECT_TRUE(ParseTraceparent(*h.Get("traceparent"), &parsed));

  http::HeaderMap sampled;
  PropagateTraceContext(sampled, random, {.sample_new_traces = true});
  EXPECT_TRUE(sampled.Get("traceparent")->ends_with("-01"));
}

TEST(TraceContext, ReplacesInvalidOrDuplicatedTraceparent) {
  CountingRandom random;
  http::HeaderMap bad;
  bad.Add("traceparent", "00-garbage");
  bad.Add("tracestate", "a=b");
  EXPECT_EQ(PropagateTraceContext(bad, random).origin, TraceOrigin::kCreated);
  EXPECT_EQ(bad.Count("traceparent"), 1u);
  EXPECT_NE(*bad.Get("traceparent"), "00-garbage");
  EXPECT_FALSE(bad.Has("tracestate"));

  http::HeaderMap twice;
  twice.Add("traceparent", kValid);
  twice.Add("traceparent", kValid);
  EXPECT_EQ(PropagateTraceContext(twice, random).origin, TraceOrigin::kCreated);
  EXPECT_EQ(twice.Count("traceparent"), 1u);
}

TEST(TraceContext, ContinuesB3SingleAndMulti) {
  CountingRandom random;
  http::HeaderMap single;
  single.Add("b3", "80F198EE56343BA864FE8B2A57D3EFF7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90");
  TraceDecision d = PropagateTraceContext(single, random);
  EXPECT_EQ(d.origin, TraceOrigin::kB3);
  EXPECT_EQ(*single.Get("traceparent"), "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01");
  // B3 passes through untouched.
  EXPECT_EQ(*single.Get("b3"),
            "80F198EE56343BA864FE8B2A57D3EFF7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90");

  http::HeaderMap multi;
  multi.Add("x-b3-traceid", "a3ce929d0e0e4736");  // 64-bit: widened
  multi.Add("x-b3-spanid", "00f067aa0ba902b7");
  multi.Add("x-b3-sampled", "0");
  EXPECT_EQ(PropagateTraceContext(multi, random).origin, TraceOrigin::kB3);
  EXPECT_EQ(*multi.Get("traceparent"), "00-0000000000000000a3ce929d0e0e4736-00f067aa0ba902b7-00");
  EXPECT_EQ(*multi.Get("x-b3-traceid"), "a3ce929d0e0e4736");

  http::HeaderMap debug;
  debug.Add("x-b3-traceid", "a3ce929d0e0e4736");
  debug.Add("x-b3-spanid", "00f067aa0ba902b7");
  debug.Add("x-b3-flags", "1");
  PropagateTraceContext(debug, random);
  EXPECT_TRUE(debug.Get("traceparent")->ends_with("-01"));

  // A bare sampling decision or malformed ids: a new trace, B3 left alone.
  for (const char* b3 : {"0", "1", "zz-e457b5a2e4d86bd1", "80f198ee56343ba8-e457b5a2e4d86bd1-x"}) {
    http::HeaderMap h;
    h.Add("b3", b3);
    EXPECT_EQ(PropagateTraceContext(h, random).origin, TraceOrigin::kCreated) << b3;
    EXPECT_EQ(*h.Get("b3"), b3);
  }
}

TEST(TraceContext, TraceparentWinsOverB3) {
  CountingRandom random;
  http::HeaderMap h;
  h.Add("traceparent", kValid);
  h.Add("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1");
  EXPECT_EQ(PropagateTraceContext(h, random).origin, TraceOrigin::kTraceparent);
  EXPECT_EQ(*h.Get("traceparent"), kValid);
}

}  // namespace
}  // namespace gh::gateway
