#include "routing/matchers.h"

#include <gtest/gtest.h>

namespace gh::routing {
namespace {

RequestView View(std::string_view method, std::string_view path, const http::HeaderMap* headers,
                 std::string_view authority = "a.com", std::string_view scheme = "http") {
  RequestView v;
  v.method = method;
  v.path = path;
  v.headers = headers;
  v.authority = authority;
  v.scheme = scheme;
  return v;
}

TEST(StringMatcher, ExactPrefixRegexPresent) {
  EXPECT_TRUE(StringMatcher::Exact("/a")->Matches("/a"));
  EXPECT_FALSE(StringMatcher::Exact("/a")->Matches("/A"));
  EXPECT_TRUE(StringMatcher::Exact("/a", true)->Matches("/A"));
  EXPECT_TRUE(StringMatcher::Prefix("/foo")->Matches("/foobar"));  // raw string prefix
  EXPECT_FALSE(StringMatcher::Prefix("/foo")->Matches("/fo"));
  EXPECT_TRUE(StringMatcher::Prefix("/FOO", true)->Matches("/foo/x"));
  auto re = StringMatcher::Regex("/v[0-9]+/.*");
  ASSERT_TRUE(re.ok());
  EXPECT_TRUE((*re)->Matches("/v2/users"));
  EXPECT_FALSE((*re)->Matches("/api/v2/users"));  // full match, not search
  EXPECT_FALSE((*re)->Matches("/v2"));
  EXPECT_TRUE(StringMatcher::Present()->Matches(""));
}

TEST(StringMatcher, RegexErrors) {
  EXPECT_FALSE(StringMatcher::Regex("(").ok());
  EXPECT_NE(StringMatcher::Regex("(").error().message.find("invalid regex"), std::string::npos);
  EXPECT_FALSE(StringMatcher::Regex(std::string(1025, 'a')).ok());
  // A large counted repetition compiles to a big program: rejected.
  auto big = StringMatcher::Regex("(abc|def){200}");
  EXPECT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("program size"), std::string::npos);
}

TEST(HttpMatch, EveryConditionIsAndedAndReportedInOrder) {
  HttpMatch m;
  m.uri = StringMatcher::Prefix("/api");
  m.method = StringMatcher::Exact("GET");
  m.headers.push_back({"x-user", StringMatcher::Exact("alice"), false});
  m.query_params.push_back({"v", StringMatcher::Exact("2")});
  http::HeaderMap h;
  h.Add("x-user", "alice");
  EXPECT_TRUE(FirstFailure(m, View("GET", "/api/x?v=2", &h)).matched());
  EXPECT_EQ(FirstFailure(m, View("GET", "/web?v=2", &h)).condition, MatchCondition::kUri);
  EXPECT_EQ(FirstFailure(m, View("POST", "/api?v=2", &h)).condition, MatchCondition::kMethod);
  EXPECT_EQ(FirstFailure(m, View("GET", "/api?v=3", &h)).condition, MatchCondition::kQueryParam);
  http::HeaderMap bob;
  bob.Add("x-user", "bob");
  EXPECT_EQ(FirstFailure(m, View("GET", "/api?v=2", &bob)).condition, MatchCondition::kHeader);
  EXPECT_EQ(DescribeFailure(m, FirstFailure(m, View("GET", "/api?v=2", &bob))),
            "header \"x-user\" exact \"alice\"");
}

TEST(HttpMatch, ExactAndRegexUriIgnoreTheQueryString) {
  HttpMatch exact;
  exact.uri = StringMatcher::Exact("/login");
  EXPECT_TRUE(FirstFailure(exact, View("GET", "/login?next=/", nullptr)).matched());
  HttpMatch regex;
  regex.uri = *StringMatcher::Regex("/log.*");
  EXPECT_TRUE(FirstFailure(regex, View("GET", "/login?x", nullptr)).matched());
}

TEST(HttpMatch, SchemeAuthorityAndPseudoHeaders) {
  HttpMatch m;
  m.scheme = StringMatcher::Exact("https");
  m.authority = StringMatcher::Prefix("shop.");
  EXPECT_TRUE(FirstFailure(m, View("GET", "/", nullptr, "shop.example.com", "https")).matched());
  EXPECT_EQ(FirstFailure(m, View("GET", "/", nullptr, "shop.example.com", "http")).condition,
            MatchCondition::kScheme);
  EXPECT_EQ(FirstFailure(m, View("GET", "/", nullptr, "www.example.com", "https")).condition,
            MatchCondition::kAuthority);
  HttpMatch pseudo;
  pseudo.headers.push_back({":method", StringMatcher::Exact("PUT"), false});
  EXPECT_TRUE(FirstFailure(pseudo, View("PUT", "/", nullptr)).matched());
}

TEST(HttpMatch, HeaderPresenceAndRepeatedHeadersJoinWithComma) {
  HttpMatch m;
  m.headers.push_back({"x-a", StringMatcher::Present(), false});
  http::HeaderMap empty_value;
  empty_value.Add("x-a", "");
  EXPECT_TRUE(FirstFailure(m, View("GET", "/", &empty_value)).matched());
  http::HeaderMap none;
  EXPECT_FALSE(FirstFailure(m, View("GET", "/", &none)).matched());
  HttpMatch joined;
  joined.headers.push_back({"x-b", StringMatcher::Exact("1,2"), false});
  http::HeaderMap twice;
  twice.Add("x-b", "1");
  twice.Add("x-b", "2");
  EXPECT_TRUE(FirstFailure(joined, View("GET", "/", &twice)).matched());
}

TEST(HttpMatch, WithoutHeadersTreatsMissingAsEmpty) {
  HttpMatch m;
  m.headers.push_back({"x-env", StringMatcher::Exact("canary"), true});
  http::HeaderMap none, canary, prod;
  canary.Add("x-env", "canary");
  prod.Add("x-env", "prod");
  EXPECT_TRUE(FirstFailure(m, View("GET", "/", &none)).matched());
  EXPECT_TRUE(FirstFailure(m, View("GET", "/", &prod)).matched());
  EXPECT_EQ(FirstFailure(m, View("GET", "/", &canary)).condition, MatchCondition::kWithoutHeader);
  // Negated presence: only an absent header passes.
  HttpMatch absent;
  absent.headers.push_back({"x-debug", StringMatcher::Present(), true});
  http::HeaderMap debug;
  debug.Add("x-debug", "");
  EXPECT_TRUE(FirstFailure(absent, View("GET", "/", &none)).matched());
  EXPECT_FALSE(FirstFailure(absent, View("GET", "/", &debug)).matched());
  // A negated prefix "" style match that "" satisfies never passes.
  HttpMatch neg_regex;
  neg_regex.headers.push_back({"x-v", *StringMatcher::Regex(".*"), true});
  EXPECT_FALSE(FirstFailure(neg_regex, View("GET", "/", &none)).matched());
}

TEST(HttpMatch, QueryParams) {
  EXPECT_EQ(QueryParam("/p?a=1&b=2", "b"), "2");
  EXPECT_EQ(QueryParam("/p?a=1&b", "b"), "");
  EXPECT_EQ(QueryParam("/p?a=1&a=2", "a"), "1");  // first value
  EXPECT_EQ(QueryParam("/p?ab=1", "a"), std::nullopt);
  EXPECT_EQ(QueryParam("/p", "a"), std::nullopt);
  HttpMatch m;
  m.query_params.push_back({"debug", StringMatcher::Present()});
  EXPECT_TRUE(FirstFailure(m, View("GET", "/?debug", nullptr)).matched());
  EXPECT_FALSE(FirstFailure(m, View("GET", "/?nodebug=1", nullptr)).matched());
  HttpMatch empty_exact;
  empty_exact.query_params.push_back({"flag", StringMatcher::Exact("")});
  EXPECT_TRUE(FirstFailure(empty_exact, View("GET", "/?flag", nullptr)).matched());
}

TEST(HttpMatch, CatchAllDetection) {
  HttpMatch none;
  EXPECT_TRUE(none.IsCatchAll());
  HttpMatch slash;
  slash.uri = StringMatcher::Prefix("/");
  EXPECT_TRUE(slash.IsCatchAll());
  HttpMatch dotstar;
  dotstar.uri = *StringMatcher::Regex(".*");
  EXPECT_TRUE(dotstar.IsCatchAll());
  HttpMatch with_header = slash;
  with_header.headers.push_back({"x", StringMatcher::Present(), false});
  EXPECT_FALSE(with_header.IsCatchAll());
  HttpMatch api;
  api.uri = StringMatcher::Prefix("/api");
  EXPECT_FALSE(api.IsCatchAll());
}

}  // namespace
}  // namespace gh::routing
