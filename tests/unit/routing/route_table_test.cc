#include <gtest/gtest.h>

#include "routing/http_route_table.h"
#include "routing/server_select.h"
#include "routing/tcp_route_table.h"

namespace gh::routing {
namespace {

std::shared_ptr<const Route> NamedRoute(std::string name) {
  auto r = std::make_shared<Route>();
  r->name = std::move(name);
  return r;
}

RouteEntry Entry(std::string name, std::shared_ptr<const StringMatcher> uri = nullptr) {
  RouteEntry e;
  e.match.uri = std::move(uri);
  e.route = NamedRoute(std::move(name));
  return e;
}

RequestView View(std::string_view authority, std::string_view path = "/") {
  RequestView v;
  v.method = "GET";
  v.scheme = "http";
  v.authority = authority;
  v.path = path;
  return v;
}

CompiledHttpRouteTable Table() {
  std::vector<VirtualHost> vhosts;
  vhosts.push_back({"a.example.com", {Entry("exact")}});
  vhosts.push_back({"*.example.com", {Entry("wild")}});
  vhosts.push_back({"*.b.example.com", {Entry("longer-wild")}});
  vhosts.push_back({"*", {Entry("any")}});
  return CompiledHttpRouteTable(std::move(vhosts));
}

TEST(HttpRouteTable, ExactThenLongestWildcardThenStar) {
  const auto t = Table();
  EXPECT_EQ(t.Match(View("a.example.com")).route->name, "exact");
  EXPECT_EQ(t.Match(View("x.example.com")).route->name, "wild");
  EXPECT_EQ(t.Match(View("x.y.example.com")).route->name, "wild");
  EXPECT_EQ(t.Match(View("x.b.example.com")).route->name, "longer-wild");
  EXPECT_EQ(t.Match(View("example.com")).route->name, "any");
  EXPECT_EQ(t.Match(View("other.org")).route->name, "any");
  EXPECT_EQ(t.Match(View("x.b.example.com")).virtual_host, "*.b.example.com");
}

TEST(HttpRouteTable, PortIgnoredAndCaseInsensitive) {
  const auto t = Table();
  EXPECT_EQ(t.Match(View("A.Example.COM:8443")).route->name, "exact");
  EXPECT_EQ(t.Match(View("X.EXAMPLE.com:80")).route->name, "wild");
}

TEST(HttpRouteTable, NoVirtualHostMeansNoRoute) {
  std::vector<VirtualHost> vhosts;
  vhosts.push_back({"a.com", {Entry("a", StringMatcher::Prefix("/api"))}});
  CompiledHttpRouteTable t(std::move(vhosts));
  auto miss = t.Match(View("b.com"));
  EXPECT_EQ(miss.route, nullptr);
  EXPECT_FALSE(miss.host_matched);
  auto no_route = t.Match(View("a.com", "/web"));
  EXPECT_EQ(no_route.route, nullptr);
  EXPECT_TRUE(no_route.host_matched);
  EXPECT_TRUE(t.CoversHost("A.com:443"));
  EXPECT_FALSE(t.CoversHost("b.com"));
  // A host longer than any DNS name can only reach "*" (here: nothing).
  EXPECT_EQ(t.Match(View(std::string(300, 'a'))).route, nullptr);
}

// The table keeps conditions packed in its pool (or, when a name is too long
// for that layout, the RouteEntry): the answer must be FirstFailure's.
TEST(HttpRouteTable, PackedConditionsAgreeWithFirstFailure) {
  const std::string long_name(300, 'x');
  std::vector<RouteEntry> routes;
  RouteEntry e = Entry("long-header", StringMatcher::Prefix("/a"));
  e.match.headers.push_back({long_name, StringMatcher::Exact("1"), false});
  routes.push_back(e);
  e = Entry("not-debug", *StringMatcher::Regex("/[a-z]+"));
  e.match.headers.push_back({"x-debug", StringMatcher::Present(), true});
  e.match.method = StringMatcher::Exact("GET");
  routes.push_back(e);
  e = Entry("query", StringMatcher::Prefix("/s"));
  e.match.query_params.push_back({"q", StringMatcher::Prefix("sh")});
  e.match.scheme = StringMatcher::Exact("http");
  e.match.authority = StringMatcher::Prefix("h.");
  routes.push_back(e);
  e = Entry("pseudo");
  e.match.headers.push_back({":path", *StringMatcher::Regex("/p/.*"), false});
  routes.push_back(e);
  const std::vector<RouteEntry> copy = routes;
  std::vector<VirtualHost> vhosts;
  vhosts.push_back({"h.com", std::move(routes)});
  CompiledHttpRouteTable t(std::move(vhosts));
  http::HeaderMap with_long, with_debug;
  with_long.Add(long_name, "1");
  with_debug.Add("x-debug", "");
  const std::vector<const http::HeaderMap*> header_sets = {nullptr, &with_long, &with_debug};
  for (const http::HeaderMap* headers : header_sets) {
    for (const char* path : {"/a", "/abc", "/s?q=shoes", "/s?q=no", "/p/1", "/1", "/a?x"}) {
      for (const char* method : {"GET", "POST"}) {
        RequestView v = View("h.com", path);
        v.method = method;
        v.headers = headers;
        const Route* expected = nullptr;
        for (const RouteEntry& r : copy) {
          if (FirstFailure(r.match, v).matched()) {
            expected = r.route.get();
            break;
          }
        }
        const Route* got = t.Match(v).route;
        EXPECT_EQ(got ? got->name : "none", expected ? expected->name : "none")
            << path << " " << method;
      }
    }
  }
}

TEST(HttpRouteTable, FirstMatchWinsInOrder) {
  std::vector<VirtualHost> vhosts;
  vhosts.push_back({"*",
                    {Entry("api", StringMatcher::Prefix("/api")),
                     Entry("api-v2", StringMatcher::Prefix("/api/v2")), Entry("rest")}});
  CompiledHttpRouteTable t(std::move(vhosts));
  EXPECT_EQ(t.Match(View("x", "/api/v2/x")).route->name, "api");
  EXPECT_EQ(t.Match(View("x", "/other")).route->name, "rest");
}

TEST(HttpRouteTable, RegexLiteralPrefix) {
  EXPECT_EQ(RegexLiteralPrefix("/users/[0-9]+/orders"), "/users/");
  EXPECT_EQ(RegexLiteralPrefix("/api/v?2"), "/api/");  // the optional 'v' is dropped
  EXPECT_EQ(RegexLiteralPrefix("/ab*"), "/a");
  EXPECT_EQ(RegexLiteralPrefix("/a{0,3}"), "/");
  EXPECT_EQ(RegexLiteralPrefix("/ab+"), "/ab");
  EXPECT_EQ(RegexLiteralPrefix("/a|/b"), "");
  EXPECT_EQ(RegexLiteralPrefix("/a(b|c)"), "/a");
  EXPECT_EQ(RegexLiteralPrefix("(?i)/admin"), "");
  EXPECT_EQ(RegexLiteralPrefix(".*"), "");
  EXPECT_EQ(RegexLiteralPrefix("/caf\xC3\xA9*"), "/caf");  // "/café*": é is optional
  EXPECT_EQ(RegexLiteralPrefix("/x\\.y"), "/x");
}

TEST(HttpRouteTable, PrefilterNeverHidesAMatch) {
  // Routes whose prefilter is derived from each matcher kind still match
  // exactly what FirstFailure says.
  std::vector<VirtualHost> vhosts;
  vhosts.push_back({"*",
                    {Entry("exact", StringMatcher::Exact("/e")),
                     Entry("exact-ci", StringMatcher::Exact("/CI", true)),
                     Entry("prefix-ci", StringMatcher::Prefix("/P/", true)),
                     Entry("regex", *StringMatcher::Regex("/r(a|b)+/[0-9]+")),
                     Entry("regex-alt", *StringMatcher::Regex("/x|/y")),
                     Entry("regex-ci", *StringMatcher::Regex("(?i)/case")),
                     Entry("regex-utf8", *StringMatcher::Regex("/caf\xC3\xA9*")), Entry("rest")}});
  CompiledHttpRouteTable t(std::move(vhosts));
  EXPECT_EQ(t.Match(View("h", "/e?q")).route->name, "exact");
  EXPECT_EQ(t.Match(View("h", "/ci")).route->name, "exact-ci");
  EXPECT_EQ(t.Match(View("h", "/p/x")).route->name, "prefix-ci");
  EXPECT_EQ(t.Match(View("h", "/rab/12")).route->name, "regex");
  EXPECT_EQ(t.Match(View("h", "/y")).route->name, "regex-alt");
  EXPECT_EQ(t.Match(View("h", "/CASE")).route->name, "regex-ci");
  EXPECT_EQ(t.Match(View("h", "/caf")).route->name, "regex-utf8");
  EXPECT_EQ(t.Match(View("h", "/r/12")).route->name, "rest");
}

TEST(TcpRouteTable, SubnetsAndSni) {
  auto route = [](std::string name) {
    auto r = std::make_shared<TcpRoute>();
    r->name = std::move(name);
    return r;
  };
  std::vector<TcpRouteEntry> tcp;
  tcp.push_back({{{*ParseCidr("10.0.0.0/8")}, {}}, route("ten")});
  tcp.push_back({{{}, {}}, route("rest")});
  std::vector<TcpRouteEntry> tls;
  tls.push_back({{{}, {"*.example.com"}}, route("wild")});
  tls.push_back({{{}, {"a.example.com"}}, route("exact")});
  TcpRouteTable t(std::move(tcp), std::move(tls));
  EXPECT_EQ(t.MatchTcp("10.1.2.3")->name, "ten");
  EXPECT_EQ(t.MatchTcp("192.168.1.1")->name, "rest");
  EXPECT_EQ(t.MatchTcp("")->name, "rest");
  EXPECT_EQ(t.MatchTls("A.example.com", "")->name, "exact");  // exact beats wildcard
  EXPECT_EQ(t.MatchTls("b.example.com", "")->name, "wild");
  EXPECT_EQ(t.MatchTls("example.com", ""), nullptr);
  EXPECT_EQ(t.MatchTls("", ""), nullptr);
}

TEST(Cidr, ParseAndContain) {
  auto v4 = ParseCidr("192.168.0.0/16");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->Contains(*ParseIp("192.168.200.1")));
  EXPECT_FALSE(v4->Contains(*ParseIp("192.169.0.1")));
  auto v6 = ParseCidr("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->Contains(*ParseIp("2001:db8::1")));
  EXPECT_FALSE(v6->Contains(*ParseIp("192.168.0.1")));
  auto odd = ParseCidr("10.0.0.0/9");
  EXPECT_TRUE(odd->Contains(*ParseIp("10.127.0.1")));
  EXPECT_FALSE(odd->Contains(*ParseIp("10.128.0.1")));
  EXPECT_FALSE(ParseCidr("10.0.0.0/33"));
  EXPECT_FALSE(ParseCidr("nonsense"));
  EXPECT_TRUE(ParseIp("[::1]"));
}

Listener TlsListener() {
  Listener l;
  Server a, wild, star;
  a.name = "a";
  a.hosts = {"a.example.com"};
  wild.name = "wild";
  wild.hosts = {"*.example.com"};
  star.name = "star";
  star.hosts = {"*"};
  l.servers = {wild, a, star};
  l.default_server = 1;
  return l;
}

TEST(ServerSelect, ExactBeatsWildcardBeatsStar) {
  const Listener l = TlsListener();
  EXPECT_EQ(SelectServerBySni(l, "a.example.com")->name, "a");
  EXPECT_EQ(SelectServerBySni(l, "A.EXAMPLE.COM")->name, "a");
  EXPECT_EQ(SelectServerBySni(l, "b.example.com")->name, "wild");
  EXPECT_EQ(SelectServerBySni(l, "other.org")->name, "star");
  EXPECT_EQ(SelectServerBySni(l, "")->name, "a");  // default server
}

TEST(ServerSelect, UnknownSniGetsDefaultServer) {
  Listener l;
  Server a, b;
  a.name = "a";
  a.hosts = {"a.com"};
  b.name = "b";
  b.hosts = {"b.com"};
  l.servers = {a, b};
  l.default_server = 1;
  EXPECT_EQ(SelectServerBySni(l, "c.com")->name, "b");
  EXPECT_EQ(SelectServerBySni(Listener{}, "a.com"), nullptr);
}

TEST(ServerSelect, MisdirectedOnlyWhenAnotherServerOwnsTheHost) {
  Listener l;
  Server a, b;
  a.hosts = {"a.com"};
  b.hosts = {"*.b.com"};
  l.servers = {a, b};
  const Server* conn_a = &l.servers[0];
  EXPECT_TRUE(OtherServerCovers(l, conn_a, "x.b.com"));
  EXPECT_TRUE(OtherServerCovers(l, conn_a, "X.B.COM:443"));
  EXPECT_FALSE(OtherServerCovers(l, conn_a, "a.com"));
  EXPECT_FALSE(OtherServerCovers(l, conn_a, "unknown.org"));  // 404, not 421
  EXPECT_TRUE(ServerCoversHost(l.servers[1], "y.b.com:8443"));
}

TEST(ServerSelect, MisdirectedWhenCoalescedOntoAWildcardServer) {
  Listener l;
  Server exact, wild;
  exact.hosts = {"shop.example.com"};
  wild.hosts = {"*.example.com"};
  l.servers = {exact, wild};
  // A browser reuses the *.example.com connection for shop.example.com.
  EXPECT_TRUE(OtherServerCovers(l, &l.servers[1], "shop.example.com"));
  EXPECT_FALSE(OtherServerCovers(l, &l.servers[1], "news.example.com"));
  EXPECT_FALSE(OtherServerCovers(l, &l.servers[0], "shop.example.com"));
}

}  // namespace
}  // namespace gh::routing
