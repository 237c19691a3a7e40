// Protocol detection and per-request upstream protocol selection.
#include <gtest/gtest.h>

#include "gateway/protocol_sniffer.h"
#include "gateway/upstream_pool.h"

namespace gh::gateway {
namespace {

TEST(SniffPreface, DecidesAsSoonAsItCan) {
  EXPECT_EQ(SniffPreface(""), SniffResult::kNeedMore);
  EXPECT_EQ(SniffPreface("P"), SniffResult::kNeedMore);
  EXPECT_EQ(SniffPreface("PRI * HTTP/2.0\r\n"), SniffResult::kNeedMore);
  EXPECT_EQ(SniffPreface(kHttp2ClientPreface), SniffResult::kHttp2);
  EXPECT_EQ(SniffPreface(std::string(kHttp2ClientPreface) + "\x00\x00\x12\x04"),
            SniffResult::kHttp2);
  EXPECT_EQ(SniffPreface("G"), SniffResult::kHttp1);
  EXPECT_EQ(SniffPreface("GET / HTTP/1.1\r\n"), SniffResult::kHttp1);
  EXPECT_EQ(SniffPreface("POST"), SniffResult::kHttp1);  // shares only "P"
  EXPECT_EQ(SniffPreface("PRI * HTTP/1.1\r\n"), SniffResult::kHttp1);
}

TEST(SelectPoolProtocol, ClusterClientAndUpgrades) {
  using routing::UpstreamProtocol;
  RequestHead h1;
  h1.protocol = "HTTP/1.1";
  RequestHead h2;
  h2.protocol = "HTTP/2";
  RequestHead ws = h2;
  ws.upgrade = "websocket";
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kHttp1, h2), PoolProtocol::kHttp1);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kH2c, h1), PoolProtocol::kHttp2);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kH2, h1), PoolProtocol::kHttp2);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kSameAsClient, h1), PoolProtocol::kHttp1);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kSameAsClient, h2), PoolProtocol::kHttp2);
  // WebSocket (also from h2 extended CONNECT) goes upstream as an HTTP/1.1 upgrade.
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kH2c, ws), PoolProtocol::kHttp1);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kSameAsClient, ws), PoolProtocol::kHttp1);
}

}  // namespace
}  // namespace gh::gateway
