#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/cli.h"
#include "control/config_source.h"
#include "control/diff.h"
#include "control/explain.h"
#include "tests/unit/control/test_util.h"

namespace gh::control {
namespace {

using testing::MustCompile;

constexpr const char* kShop = R"(
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = 443, name = "https", protocol = "HTTPS" }
hosts = ["shop.example.com"]
tls = { mode = "SIMPLE", server_certificate = "c.pem", private_key = "k.pem" }

[[service_entry]]
name = "api"
hosts = ["api.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "10.0.0.1" }]

[[virtual_service]]
name = "shop"
hosts = ["shop.example.com"]
gateways = ["edge"]
[[virtual_service.http]]
name = "web"
match = [{ uri = { prefix = "/web" } }, { headers = { x-web = {} } }]
direct_response = { status = 200 }
[[virtual_service.http]]
name = "api"
match = [{ uri = { prefix = "/api/" } }]
rewrite = { uri = "/" }
route = [{ destination = { host = "api.internal" } }]
)";

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("gh-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& content) {
    const auto p = path_ / name;
    std::ofstream(p) << content;
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

int RunCli(int (*fn)(int, char**, std::ostream&, std::ostream&), std::vector<std::string> args,
           std::string& out, std::string& err) {
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  std::ostringstream o, e;
  const int rc = fn(static_cast<int>(argv.size()), argv.data(), o, e);
  out = o.str();
  err = e.str();
  return rc;
}

TEST(Explain, TextNamesListenerServerVhostRouteAndFailedConditions) {
  auto c = MustCompile(kShop);
  ExplainRequest req;
  req.url = "https://shop.example.com/api/x?y=1";
  const ExplainResult r = Explain(*c, req);
  EXPECT_EQ(r.outcome, "route");
  const std::string text = ExplainText(r);
  EXPECT_NE(text.find("listener:      0.0.0.0_443 (https)"), std::string::npos) << text;
  EXPECT_NE(text.find("server:        default/edge/0"), std::string::npos) << text;
  EXPECT_NE(text.find("virtual host:  shop.example.com"), std::string::npos) << text;
  EXPECT_NE(text.find("skip  default/shop http[0] match[0] \"web\": failed uri prefix \"/web\""),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("skip  default/shop http[0] match[1] \"web\": failed header \"x-web\" present"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("MATCH default/shop http[1] match[0] \"api\""), std::string::npos) << text;
  EXPECT_NE(text.find("upstream path: /x?y=1"), std::string::npos) << text;
  EXPECT_NE(text.find("destination:   outbound|80||api.internal weight 100 (100%)"),
            std::string::npos)
      << text;
}

TEST(Explain, JsonIsTheDocumentedObject) {
  auto c = MustCompile(kShop);
  ExplainRequest req;
  req.url = "https://shop.example.com/api/x";
  const auto j = ExplainJson(Explain(*c, req));
  EXPECT_EQ(j["outcome"], "route");
  EXPECT_TRUE(j["status"].is_null());
  EXPECT_EQ(j["request"]["method"], "GET");
  EXPECT_EQ(j["request"]["sni"], "shop.example.com");
  EXPECT_EQ(j["request"]["port"], 443);
  EXPECT_EQ(j["listener"]["name"], "0.0.0.0_443");
  EXPECT_EQ(j["listener"]["kind"], "https");
  EXPECT_EQ(j["server"]["gateway"], "default/edge");
  EXPECT_EQ(j["virtual_host"], "shop.example.com");
  ASSERT_EQ(j["routes_tried"].size(), 3u);
  EXPECT_EQ(j["routes_tried"][0]["failed"], "uri prefix \"/web\"");
  EXPECT_EQ(j["routes_tried"][2]["matched"], true);
  EXPECT_EQ(j["route"]["virtual_service"], "default/shop");
  EXPECT_EQ(j["route"]["rule_index"], 1);
  EXPECT_EQ(j["route"]["name"], "api");
  EXPECT_EQ(j["action"]["type"], "route");
  EXPECT_EQ(j["action"]["upstream_path"], "/x");
  EXPECT_EQ(j["action"]["destinations"][0]["cluster"], "outbound|80||api.internal");
  EXPECT_EQ(j["action"]["destinations"][0]["percent"], 100.0);
  req.url = "https://shop.example.com/nothing";
  const auto miss = ExplainJson(Explain(*c, req));
  EXPECT_EQ(miss["outcome"], "not_found");
  EXPECT_EQ(miss["status"], 404);
  EXPECT_TRUE(miss["route"].is_null());
  EXPECT_TRUE(miss["action"].is_null());
}

TEST(Explain, InvalidRequestUrl) {
  auto c = MustCompile(kShop);
  ExplainRequest req;
  req.url = "shop.example.com/x";
  EXPECT_EQ(Explain(*c, req).outcome, "invalid_request");
  req.url = "ftp://x/";
  EXPECT_EQ(Explain(*c, req).outcome, "invalid_request");
}

TEST(ConfigSource, FileAndDirectoryInNameOrder) {
  TempDir dir;
  dir.Write("20-b.toml", "[admin]\naddress = \"127.0.0.1:1\"\n");
  dir.Write("10-a.toml", "[proxy]\nworkers = 2\n");
  dir.Write("notes.txt", "ignored");
  auto files = ReadConfigSource(dir.path());
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 2u);
  EXPECT_TRUE((*files)[0].name.ends_with("10-a.toml"));
  EXPECT_TRUE((*files)[1].name.ends_with("20-b.toml"));
  auto single = ReadConfigSource((*files)[0].name);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ((*single)[0].content, "[proxy]\nworkers = 2\n");
  EXPECT_FALSE(ReadConfigSource(dir.path() + "/missing.toml").ok());
  TempDir empty;
  EXPECT_FALSE(ReadConfigSource(empty.path()).ok());
}

TEST(Cli, CheckOkAndErrors) {
  TempDir dir;
  const std::string good = dir.Write("good.toml", kShop);
  const std::string bad = dir.Write("bad.toml", "[proxy]\nworkers = \"x\"\nfoo = 1\n");
  std::string out, err;
  EXPECT_EQ(RunCli(RunCheck, {"check", "-c", good}, out, err), 0) << err;
  EXPECT_NE(out.find("is ok"), std::string::npos) << out;
  EXPECT_NE(out.find("1 listeners, 3 routes, 1 clusters"), std::string::npos) << out;
  EXPECT_EQ(RunCli(RunCheck, {"check", "-c", bad}, out, err), 1);
  EXPECT_NE(err.find(bad + ":2:11: error: \"workers\" must be an integer"), std::string::npos)
      << err;
  EXPECT_NE(err.find(bad + ":3:1: error: unknown key \"foo\""), std::string::npos) << err;
  EXPECT_NE(err.find("has 2 errors and 0 warnings; test failed"), std::string::npos) << err;
  EXPECT_EQ(RunCli(RunCheck, {"check"}, out, err), 0) << err;  // the default config
  EXPECT_EQ(RunCli(RunCheck, {"check", "--bogus"}, out, err), 2);
  EXPECT_EQ(RunCli(RunCheck, {"check", "-c", dir.path() + "/nope.toml"}, out, err), 1);
}

TEST(Cli, ExplainTextAndJson) {
  TempDir dir;
  const std::string conf = dir.Write("c.toml", kShop);
  std::string out, err;
  EXPECT_EQ(RunCli(RunExplain,
                   {"explain", "-c", conf, "--request", "GET https://shop.example.com/web/a", "-H",
                    "X-Web: 1", "--sni", "shop.example.com", "--source-ip", "10.0.0.9"},
                   out, err),
            0)
      << err;
  EXPECT_NE(out.find("outcome:       direct_response (200)"), std::string::npos) << out;
  EXPECT_EQ(
      RunCli(RunExplain,
             {"explain", "-c", conf, "--request", "POST https://shop.example.com/api/v", "--json"},
             out, err),
      0);
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["request"]["method"], "POST");
  EXPECT_EQ(j["action"]["upstream_path"], "/v");
  EXPECT_EQ(RunCli(RunExplain, {"explain", "-c", conf}, out, err), 2);  // no --request
}

TEST(Cli, DiffListsHostsRoutesAndClusters) {
  TempDir dir;
  const std::string before = dir.Write("before.toml", kShop);
  std::string after_text = kShop;
  after_text.replace(after_text.find("rewrite = { uri = \"/\" }"), 23,
                     "rewrite = { uri = \"/v2/\" }");
  after_text.replace(after_text.find("address = \"10.0.0.1\""), 20, "address = \"10.0.0.2\"");
  after_text += R"(
[[virtual_service]]
name = "blog"
hosts = ["blog.example.com"]
gateways = ["edge"]
[[virtual_service.http]]
direct_response = { status = 200 }
)";
  after_text.replace(after_text.find("hosts = [\"shop.example.com\"]\ntls"), 28,
                     "hosts = [\"shop.example.com\", \"blog.example.com\"]");
  const std::string after = dir.Write("after.toml", after_text);
  std::string out, err;
  ASSERT_EQ(RunCli(RunCheck, {"check", "--diff", before, after}, out, err), 0) << err;
  EXPECT_NE(out.find("+ host 0.0.0.0_443 default/edge/0 blog.example.com"), std::string::npos)
      << out;
  EXPECT_NE(out.find("~ route 0.0.0.0_443 default/edge/0 shop.example.com default/shop api[0]: "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("~ cluster outbound|80||api.internal"), std::string::npos) << out;
  EXPECT_NE(out.find("+ route 0.0.0.0_443 default/edge/0 blog.example.com default/blog blog.0[0]"),
            std::string::npos)
      << out;
  ASSERT_EQ(RunCli(RunCheck, {"check", "--diff", before, before}, out, err), 0);
  EXPECT_EQ(out, "0 changes\n");
}

}  // namespace
}  // namespace gh::control
