#include "gateway/grpc.h"

#include <gtest/gtest.h>

namespace gh::gateway {
namespace {

TEST(Grpc, ContentType) {
  EXPECT_TRUE(IsGrpcContentType("application/grpc"));
  EXPECT_TRUE(IsGrpcContentType("application/grpc+proto"));
  EXPECT_TRUE(IsGrpcContentType("Application/GRPC;charset=x"));
  EXPECT_FALSE(IsGrpcContentType("application/grpc-web"));
  EXPECT_FALSE(IsGrpcContentType("application/json"));
  EXPECT_FALSE(IsGrpcContentType(""));
  http::HeaderMap h;
  EXPECT_FALSE(IsGrpcRequest(h));
  h.Add("content-type", "application/grpc");
  EXPECT_TRUE(IsGrpcRequest(h));
}

TEST(Grpc, TimeoutUnits) {
  EXPECT_EQ(ParseGrpcTimeoutMs("1H"), 3600000u);
  EXPECT_EQ(ParseGrpcTimeoutMs("2M"), 120000u);
  EXPECT_EQ(ParseGrpcTimeoutMs("3S"), 3000u);
  EXPECT_EQ(ParseGrpcTimeoutMs("250m"), 250u);
  EXPECT_EQ(ParseGrpcTimeoutMs("1500u"), 2u);  // rounded up
  EXPECT_EQ(ParseGrpcTimeoutMs("1n"), 1u);     // never 0 for a positive timeout
  EXPECT_EQ(ParseGrpcTimeoutMs("0m"), 0u);
  EXPECT_EQ(ParseGrpcTimeoutMs("99999999S"), 99999999000u);  // 8 digits
  EXPECT_FALSE(ParseGrpcTimeoutMs("123456789S"));            // 9 digits
  EXPECT_FALSE(ParseGrpcTimeoutMs("10"));
  EXPECT_FALSE(ParseGrpcTimeoutMs("S"));
  EXPECT_FALSE(ParseGrpcTimeoutMs("1x"));
  EXPECT_FALSE(ParseGrpcTimeoutMs("-1S"));
  EXPECT_FALSE(ParseGrpcTimeoutMs(""));
}

TEST(Grpc, LocalReplyStatus) {
  EXPECT_EQ(GrpcStatusForLocalReply(503, "UH"), GrpcStatus::kUnavailable);
  EXPECT_EQ(GrpcStatusForLocalReply(503, "UF,URX"), GrpcStatus::kUnavailable);
  EXPECT_EQ(GrpcStatusForLocalReply(503, "UO"), GrpcStatus::kUnavailable);
  EXPECT_EQ(GrpcStatusForLocalReply(504, "UT"), GrpcStatus::kDeadlineExceeded);
  EXPECT_EQ(GrpcStatusForLocalReply(504, "SI"), GrpcStatus::kDeadlineExceeded);
  EXPECT_EQ(GrpcStatusForLocalReply(404, "NR"), GrpcStatus::kUnimplemented);
  EXPECT_EQ(GrpcStatusForLocalReply(400, "DPE"), GrpcStatus::kInternal);
  EXPECT_EQ(GrpcStatusForLocalReply(401, ""), GrpcStatus::kUnauthenticated);
  EXPECT_EQ(GrpcStatusForLocalReply(403, ""), GrpcStatus::kPermissionDenied);
  EXPECT_EQ(GrpcStatusForLocalReply(429, "RL"), GrpcStatus::kUnavailable);
  EXPECT_EQ(GrpcStatusForLocalReply(502, "UPE"), GrpcStatus::kUnavailable);
  EXPECT_EQ(GrpcStatusForLocalReply(418, ""), GrpcStatus::kUnknown);
}

TEST(Grpc, PercentEncoding) {
  EXPECT_EQ(GrpcPercentEncode("no healthy upstream"), "no healthy upstream");
  EXPECT_EQ(GrpcPercentEncode("100%\n"), "100%25%0A");
  EXPECT_EQ(GrpcPercentEncode("caf\xc3\xa9"), "caf%C3%A9");
}

}  // namespace
}  // namespace gh::gateway
