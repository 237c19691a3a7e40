// Access log line formats: Istio's default text field order and the JSON
// object, with "-" / null for empty values and escaping.
#include "gateway/access_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace gh::gateway {
namespace {

AccessLogEntry Sample() {
  AccessLogEntry e;
  e.start_time_us = 1700000000123456;  // 2023-11-14T22:13:20.123Z
  e.method = "GET";
  e.path = "/a?b=1";
  e.protocol = "HTTP/1.1";
  e.response_code = 503;
  e.response_flags = "UF,URX";
  e.response_code_details = "upstream_reset_before_response_started{connection_failure}";
  e.upstream_transport_failure_reason = "connection_refused";
  e.bytes_received = 12;
  e.bytes_sent = 91;
  e.duration_ms = 7;
  e.upstream_service_time_ms = -1;
  e.user_agent = "curl/8 \"quoted\"";
  e.request_id = "0b5f6f5e-1111-4222-8333-444455556666";
  e.authority = "shop.example";
  e.upstream_host = "127.0.0.1:9000";
  e.upstream_cluster = "outbound|80||origin.internal";
  e.downstream_local_address = "127.0.0.1:8080";
  e.downstream_remote_address = "127.0.0.1:50000";
  e.route_name = "routes.0";
  return e;
}

TEST(AccessLogFormat, TextFollowsIstioFieldOrderWithDashes) {
  std::string line;
  FormatAccessLogLine(Sample(), routing::AccessLogFormat::kText, line);
  EXPECT_EQ(line,
            "[2023-11-14T22:13:20.123Z] \"GET /a?b=1 HTTP/1.1\" 503 UF,URX "
            "upstream_reset_before_response_started{connection_failure} - "
            "\"connection_refused\" 12 91 7 - \"-\" \"curl/8 \"quoted\"\" "
            "\"0b5f6f5e-1111-4222-8333-444455556666\" \"shop.example\" \"127.0.0.1:9000\" "
            "outbound|80||origin.internal - 127.0.0.1:8080 127.0.0.1:50000 - routes.0\n");
}

TEST(AccessLogFormat, JsonIsOneValidObjectPerLine) {
  std::string line;
  AccessLogEntry e = Sample();
  e.path = "/\x01\"\\";
  FormatAccessLogLine(e, routing::AccessLogFormat::kJson, line);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["start_time"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/\x01\"\\");
  EXPECT_EQ(j["response_code"], 503);
  EXPECT_EQ(j["response_flags"], "UF,URX");
  EXPECT_EQ(j["bytes_received"], 12);
  EXPECT_EQ(j["bytes_sent"], 91);
  EXPECT_EQ(j["duration"], 7);
  EXPECT_TRUE(j["upstream_service_time"].is_null());
  EXPECT_TRUE(j["x_forwarded_for"].is_null());
  EXPECT_EQ(j["user_agent"], "curl/8 \"quoted\"");
  EXPECT_EQ(j["upstream_cluster"], "outbound|80||origin.internal");
  EXPECT_EQ(j["route_name"], "routes.0");
  EXPECT_FALSE(j.contains("grpc_status"));
}

}  // namespace
}  // namespace gh::gateway
