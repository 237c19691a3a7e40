// Generic runner for the spec-as-test files in tests/cases/routing/*.toml.
//
// A file holds either (or both):
//   config = '''<gatehouse TOML>'''  and  [[case]] tables: a request and the
//   expected decision (only the keys present are checked);
//   [[validation]] tables: their own `config`, and the `errors` / `warnings`
//   that compiling it must report (substrings of `file:line:col: ...`).
// Every [[case]] and [[validation]] becomes one gtest, named after the file
// and the case, so a failure says which spec line broke.
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/compile.h"
#include "control/explain.h"

namespace gh::control {
namespace {

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Diagnostics(const CompileResult& r) {
  std::string out;
  for (const Diagnostic& d : r.diagnostics)
    out += "  " + d.ToString() + "\n";
  return out;
}

std::vector<std::string> StringList(const toml::table& t, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* a = t[key].as_array()) {
    for (const auto& el : *a) {
      if (const auto* s = el.as_string()) out.push_back(s->get());
    }
  }
  return out;
}

std::string SafeName(std::string s) {
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

class RequestCase : public ::testing::Test {
 public:
  RequestCase(std::shared_ptr<const CompileResult> compiled, toml::table spec, std::string where)
      : compiled_(std::move(compiled)), spec_(std::move(spec)), where_(std::move(where)) {}

  void TestBody() override {
    SCOPED_TRACE(where_);
    ASSERT_TRUE(compiled_->ok()) << "the file's config does not compile:\n"
                                 << Diagnostics(*compiled_);
    ExplainRequest req;
    const std::string request = spec_["request"].value_or(std::string());
    const size_t sp = request.find(' ');
    ASSERT_NE(sp, std::string::npos) << "request must be 'METHOD URL'";
    req.method = request.substr(0, sp);
    req.url = request.substr(sp + 1);
    if (const auto* h = spec_["headers"].as_table()) {
      for (auto&& [k, v] : *h) {
        if (const auto* a = v.as_array()) {
          for (const auto& el : *a)
            req.headers.Add(std::string(k.str()), el.value_or(std::string()));
        } else {
          req.headers.Add(std::string(k.str()), v.value_or(std::string()));
        }
      }
    }
    if (auto s = spec_["sni"].value<std::string>()) req.sni = *s;
    if (auto s = spec_["source_ip"].value<std::string>()) req.source_ip = *s;
    if (auto s = spec_["destination_ip"].value<std::string>()) req.destination_ip = *s;
    if (auto p = spec_["port"].value<int64_t>()) req.port = static_cast<uint16_t>(*p);

    const ExplainResult r = Explain(*compiled_->config, req);
    const std::string text = ExplainText(r);
    SCOPED_TRACE(text);
    auto expect_str = [&](const char* key, const std::string& actual) {
      if (auto want = spec_[key].value<std::string>()) {
        EXPECT_EQ(actual, *want) << key;
      }
    };
    expect_str("outcome", r.outcome);
    if (auto want = spec_["status"].value<int64_t>()) {
      EXPECT_EQ(r.status, *want) << "status";
    }
    expect_str("virtual_host", r.virtual_host);
    expect_str("listener", r.listener ? r.listener->name : "");
    expect_str("server", r.server ? r.server->name : "");
    expect_str("route", r.route ? r.route->name : r.tcp_route ? r.tcp_route->name : "");
    expect_str("virtual_service", r.route ? r.route->virtual_service : "");
    expect_str("upstream_path", r.upstream_path);
    expect_str("location", r.location);
    expect_str("body", r.body);
    expect_str("normalized_path", r.normalized_path);
    if (auto want = spec_["match_index"].value<int64_t>()) {
      EXPECT_EQ(r.route ? static_cast<int64_t>(r.route->match_index) : -1, *want);
    }
    if (auto want = spec_["body_contains"].value<std::string>()) {
      EXPECT_NE(r.body.find(*want), std::string::npos) << "body_contains " << *want;
    }
    std::vector<std::string> clusters, authorities;
    std::vector<int64_t> weights;
    for (const DestinationTrace& d : r.destinations) {
      clusters.push_back(d.cluster);
      weights.push_back(d.weight);
      authorities.push_back(d.authority);
    }
    if (auto want = spec_["cluster"].value<std::string>()) {
      EXPECT_EQ(clusters, std::vector<std::string>{*want}) << "cluster";
    }
    if (spec_.contains("clusters")) {
      EXPECT_EQ(clusters, StringList(spec_, "clusters"));
    }
    if (const auto* w = spec_["weights"].as_array()) {
      std::vector<int64_t> want;
      for (const auto& el : *w)
        want.push_back(el.value_or(int64_t{-1}));
      EXPECT_EQ(weights, want) << "weights";
    }
    if (auto want = spec_["authority"].value<std::string>()) {
      ASSERT_FALSE(authorities.empty());
      EXPECT_EQ(authorities[0], *want) << "authority";
    }
    for (const std::string& want : StringList(spec_, "action_contains")) {
      ASSERT_NE(r.route, nullptr);
      const std::string action = DescribeAction(*r.route, *compiled_->config);
      EXPECT_NE(action.find(want), std::string::npos)
          << "action \"" << action << "\" lacks \"" << want << "\"";
    }
    if (spec_.contains("failed")) {
      std::vector<std::string> failed;
      for (const RouteTrace& t : r.trace) {
        if (!t.matched) failed.push_back(t.failed);
      }
      EXPECT_EQ(failed, StringList(spec_, "failed")) << "failed conditions";
    }
  }

 private:
  std::shared_ptr<const CompileResult> compiled_;
  toml::table spec_;
  std::string where_;
};

class ValidationCase : public ::testing::Test {
 public:
  ValidationCase(toml::table spec, std::string file, std::string where)
      : spec_(std::move(spec)), file_(std::move(file)), where_(std::move(where)) {}

  void TestBody() override {
    SCOPED_TRACE(where_);
    const std::string config = spec_["config"].value_or(std::string());
    const CompileResult r = Compile({{file_, config}});
    const std::string all = Diagnostics(r);
    const auto errors = StringList(spec_, "errors");
    const auto warnings = StringList(spec_, "warnings");
    if (errors.empty()) {
      EXPECT_TRUE(r.ok()) << "expected to compile:\n" << all;
    } else {
      EXPECT_FALSE(r.ok()) << "expected errors";
    }
    auto has = [&](const std::string& needle, Severity severity) {
      return std::any_of(r.diagnostics.begin(), r.diagnostics.end(), [&](const Diagnostic& d) {
        return d.severity == severity && d.ToString().find(needle) != std::string::npos;
      });
    };
    for (const std::string& e : errors)
      EXPECT_TRUE(has(e, Severity::kError)) << "missing error: " << e << "\ngot:\n" << all;
    for (const std::string& w : warnings)
      EXPECT_TRUE(has(w, Severity::kWarning)) << "missing warning: " << w << "\ngot:\n" << all;
    if (auto n = spec_["error_count"].value<int64_t>()) {
      EXPECT_EQ(static_cast<int64_t>(r.errors), *n) << all;
    }
  }

 private:
  toml::table spec_;
  std::string file_;
  std::string where_;
};

size_t RegisterCases(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".toml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  size_t count = 0;
  for (const auto& path : files) {
    const std::string stem = path.stem().string();
    toml::table root;
    try {
      root = toml::parse(ReadAll(path), path.string());
    } catch (const toml::parse_error& e) {
      std::ostringstream msg;
      msg << e;
      ::testing::RegisterTest("RoutingCases", (stem + "_unparseable").c_str(), nullptr, nullptr,
                              path.string().c_str(), 1, [msg = msg.str()]() -> ::testing::Test* {
                                struct Fail : ::testing::Test {
                                  std::string m;
                                  void TestBody() override { FAIL() << m; }
                                };
                                auto* f = new Fail;
                                f->m = msg;
                                return f;
                              });
      continue;
    }
    std::shared_ptr<const CompileResult> compiled;
    if (auto config = root["config"].value<std::string>()) {
      compiled = std::make_shared<CompileResult>(Compile({{path.filename().string(), *config}}));
    }
    if (const auto* cases = root["case"].as_array()) {
      for (size_t i = 0; i < cases->size(); ++i) {
        const auto* t = cases->get(i)->as_table();
        if (t == nullptr) continue;
        const std::string name = t->get("name") ? (*t)["name"].value_or(std::string()) : "";
        const int line = static_cast<int>(t->source().begin.line);
        const std::string where = path.string() + ":" + std::to_string(line) + " " + name;
        auto comp = compiled ? compiled : std::make_shared<CompileResult>();
        ::testing::RegisterTest(("RoutingCases/" + stem).c_str(),
                                (std::to_string(i) + "_" + SafeName(name)).c_str(), nullptr,
                                nullptr, path.string().c_str(), line,
                                [comp, spec = *t, where]() -> ::testing::Test* {
                                  return new RequestCase(comp, spec, where);
                                });
        ++count;
      }
    }
    if (const auto* vals = root["validation"].as_array()) {
      for (size_t i = 0; i < vals->size(); ++i) {
        const auto* t = vals->get(i)->as_table();
        if (t == nullptr) continue;
        const std::string name = (*t)["name"].value_or(std::string());
        const int line = static_cast<int>(t->source().begin.line);
        const std::string where = path.string() + ":" + std::to_string(line) + " " + name;
        ::testing::RegisterTest(
            ("ValidationCases/" + stem).c_str(), (std::to_string(i) + "_" + SafeName(name)).c_str(),
            nullptr, nullptr, path.string().c_str(), line,
            [spec = *t, file = path.filename().string(), where]() -> ::testing::Test* {
              return new ValidationCase(spec, file, where);
            });
        ++count;
      }
    }
  }
  return count;
}

}  // namespace
}  // namespace gh::control

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* dir = argc > 1 ? argv[1] : GH_ROUTING_CASES_DIR;
  const size_t n = gh::control::RegisterCases(dir);
  std::printf("registered %zu routing/validation cases from %s\n", n, dir);
  return RUN_ALL_TESTS();
}
