// Parsing a large file in pieces (CompileOptions::piece_bytes) must not change
// anything: every spec-as-test config, every validation config and every fuzz
// corpus file compiles to the same diagnostics, in the same order, and to the
// same config, whether parsed whole or split at every resource.
#include <gtest/gtest.h>

#include <toml++/toml.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/compile.h"
#include "control/diff.h"
#include "control/explain.h"
#include "control/toml_split.h"
#include "routing/http_route_table.h"

namespace gh::control {
namespace {

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::filesystem::path> Files(const char* dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Listeners, servers, virtual hosts and routes in table order.
std::string Dump(const routing::Config& c) {
  std::string out;
  for (const routing::Listener& l : c.listeners) {
    out += "listener " + l.name + "\n";
    for (const routing::Server& srv : l.servers) {
      out += " server " + srv.name + "\n";
      const auto* table =
          dynamic_cast<const routing::CompiledHttpRouteTable*>(srv.http_routes.get());
      if (table == nullptr) continue;
      for (const routing::VirtualHost& vh : table->virtual_hosts()) {
        out += "  vhost " + vh.name + "\n";
        for (const routing::RouteEntry& e : vh.routes) {
          out += "   " + e.route->virtual_service + " " + e.route->name + "[" +
                 std::to_string(e.route->match_index) + "] " + DescribeMatch(e.match) + " -> " +
                 DescribeAction(*e.route, c) + "\n";
        }
      }
    }
  }
  return out;
}

std::string Diagnostics(const CompileResult& r) {
  std::string out;
  for (const Diagnostic& d : r.diagnostics)
    out += d.ToString() + "\n";
  return out;
}

void ExpectSameWholeAndSplit(const std::string& name, const std::string& text) {
  SCOPED_TRACE(name);
  const std::vector<SourceFile> files = {{"base.toml", ""}, {name, text}, {"tail.toml", ""}};
  const CompileResult whole = Compile(files, CompileOptions{.piece_bytes = 0});
  const CompileResult split = Compile(files, CompileOptions{.piece_bytes = 1});
  EXPECT_EQ(Diagnostics(whole), Diagnostics(split));
  EXPECT_EQ(whole.errors, split.errors);
  ASSERT_EQ(whole.ok(), split.ok());
  if (!whole.ok()) return;
  EXPECT_EQ(Dump(*whole.config), Dump(*split.config));
  for (const ConfigChange& c : DiffConfigs(*whole.config, *split.config))
    ADD_FAILURE() << c.ToString();
}

TEST(SplitCompile, CaseConfigsCompileTheSameSplit) {
  size_t configs = 0;
  for (const auto& path : Files(GH_ROUTING_CASES_DIR)) {
    if (path.extension() != ".toml") continue;
    const toml::table root = toml::parse(ReadAll(path), path.string());
    if (auto config = root["config"].value<std::string>()) {
      ExpectSameWholeAndSplit(path.filename().string(), *config);
      ++configs;
    }
    if (const auto* list = root["validation"].as_array()) {
      for (const toml::node& v : *list) {
        const auto* t = v.as_table();
        if (t == nullptr) continue;
        if (auto config = (*t)["config"].value<std::string>()) {
          ExpectSameWholeAndSplit(
              path.filename().string() + " validation " + (*t)["name"].value_or(std::string()),
              *config);
          ++configs;
        }
      }
    }
  }
  EXPECT_GE(configs, 20u);
}

TEST(SplitCompile, FuzzCorpusCompilesTheSameSplit) {
  for (const auto& path : Files(GH_FUZZ_CORPUS_DIR))
    ExpectSameWholeAndSplit(path.filename().string(), ReadAll(path));
}

constexpr const char* kBase = R"([[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = 80, name = "http", protocol = "HTTP" }
hosts = ["*"]
)";

std::string Vs(int i, const std::string& extra = "") {
  const std::string n = std::to_string(i);
  return "[[virtual_service]]\nname = \"vs" + n + "\"\nhosts = [\"h" + n +
         ".example.com\"]\ngateways = [\"edge\"]\n" + extra +
         "[[virtual_service.http]]\nmatch = [{ uri = { prefix = \"/" + n +
         "\" } }]\ndirect_response = { status = 200 }\n";
}

TEST(SplitCompile, ErrorsKeepWholeFileOrderLinesAndPaths) {
  // Errors in interleaved kinds: the whole file reports gateways first, then
  // virtual services; unknown keys carry the element index of the whole file.
  std::string text = kBase;
  text += "[proxy]\nworkers = 2\n";
  text += Vs(1, "bogus = 1\n") + "[[gateway]]\nname = \"g2\"\nservers = 3\n" + Vs(2) +
          Vs(3, "hosts_typo = 1\n");
  text += "[[destination_rule]]\nname = \"dr\"\nhost = \"x\"\nnope = 1\n" + Vs(4, "bad = 2\n");
  text += "[[virtual_service]]\nhosts = [\"nameless.example.com\"]\n";
  ExpectSameWholeAndSplit("interleaved.toml", text);
  const CompileResult split = Compile({{"f.toml", text}}, CompileOptions{.piece_bytes = 1});
  EXPECT_NE(Diagnostics(split).find(
                "f.toml:46:1: error: missing required key \"name\" (at virtual_service[4])"),
            std::string::npos)
      << Diagnostics(split);
}

TEST(SplitCompile, SyntaxErrorInALaterPieceIsReportedOnceAsForTheWholeFile) {
  std::string text = std::string(kBase) + Vs(1, "bogus = 1\n") + Vs(2) +
                     "[[virtual_service]]\nname = \"vs3\nhosts = [\"x\"]\n" + Vs(4);
  ExpectSameWholeAndSplit("syntax.toml", text);
  const CompileResult split = Compile({{"f.toml", text}}, CompileOptions{.piece_bytes = 1});
  EXPECT_EQ(split.errors, 1u) << Diagnostics(split);
}

TEST(SplitCompile, RedefinitionsAcrossPiecesFallBackToTheWholeFile) {
  // The head defines the array inline, then `[[virtual_service]]` appends:
  // toml++ rejects the file; so must the split path.
  ExpectSameWholeAndSplit("inline.toml", std::string("virtual_service = []\n") + kBase + Vs(1));
  ExpectSameWholeAndSplit("table.toml",
                          std::string("[virtual_service.x]\na = 1\n") + kBase + Vs(1));
  // A later header under another kind refers to that kind's last element.
  ExpectSameWholeAndSplit("nested.toml", std::string(kBase) + Vs(1) +
                                             "[[gateway.servers]]\nport = { number = "
                                             "81, name = \"h\", protocol = \"HTTP\" }\n"
                                             "hosts = [\"*\"]\n" +
                                             Vs(2));
}

TEST(SplitToml, SplitsOnlyAtTopLevelHeadersOutsideStringsAndArrays) {
  const std::string text =
      "a = 1\n"
      "s = \"\"\"\n[[virtual_service]]\n\"\"\"\n"
      "l = '''\n[[virtual_service]]\n'''\n"
      "arr = [\n[[1]],\n]\n"
      "# [[virtual_service]]\n"
      "[[virtual_service]]\nname = \"a\"\n"
      "[[virtual_service.http]]\n"
      "  [[virtual_service]]  # comment\nname = \"b\"\n"
      "[[gateway]]\nname = \"g\"\n";
  const auto split = SplitToml(text, 1, {"virtual_service", "gateway"});
  ASSERT_TRUE(split.has_value());
  ASSERT_EQ(split->pieces.size(), 3u);
  EXPECT_EQ(split->head.substr(0, 6), "a = 1\n");
  EXPECT_EQ(split->pieces[0].kind, "virtual_service");
  EXPECT_EQ(split->pieces[0].line_offset, 11u);
  EXPECT_EQ(split->pieces[1].index_base, 1u);
  EXPECT_EQ(split->pieces[1].line_offset, 14u);
  EXPECT_EQ(split->pieces[2].kind, "gateway");
  EXPECT_EQ(split->pieces[2].index_base, 0u);
  // Grouped: consecutive elements of one kind share a piece.
  const auto grouped = SplitToml(text, 1 << 20, {"virtual_service", "gateway"});
  ASSERT_TRUE(grouped.has_value());
  EXPECT_EQ(grouped->pieces.size(), 2u);
  // Not offered: a header under another key after the first split point.
  EXPECT_FALSE(SplitToml("[[virtual_service]]\n[proxy]\n", 1, {"virtual_service"}));
  EXPECT_FALSE(SplitToml("[[virtual_service]]\n[\"virtual_service\".x]\n", 1, {"virtual_service"}));
  EXPECT_FALSE(SplitToml("[[virtual_service]]\n[[other]]\n", 1, {"virtual_service"}));
  EXPECT_FALSE(SplitToml("x = [\n[[virtual_service]]\n", 1, {"virtual_service"}));
}

}  // namespace
}  // namespace gh::control
