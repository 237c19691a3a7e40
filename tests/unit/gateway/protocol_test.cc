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
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kHttp1, false, h2), PoolProtocol::kHttp1);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kH2c, false, h1), PoolProtocol::kHttp2);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kH2, false, h1), PoolProtocol::kHttp2);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kSameAsClient, false, h1), PoolProtocol::kHttp1);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kSameAsClient, false, h2), PoolProtocol::kHttp2);
  // WebSocket (also from h2 extended CONNECT) goes upstream as an HTTP/1.1 upgrade.
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kH2c, false, ws), PoolProtocol::kHttp1);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kSameAsClient, false, ws), PoolProtocol::kHttp1);
  // Over TLS the ALPN offer decides: only an h2 cluster offers "h2".
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kH2, true, h1), PoolProtocol::kHttp2);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kSameAsClient, true, h2), PoolProtocol::kHttp1);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kHttp1, true, h2), PoolProtocol::kHttp1);
  EXPECT_EQ(SelectPoolProtocol(UpstreamProtocol::kH2, true, ws), PoolProtocol::kHttp1);
}

}  // namespace
}  // namespace gh::gateway
