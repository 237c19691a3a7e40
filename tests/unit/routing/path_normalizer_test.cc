#include "routing/path_normalizer.h"

#include <gtest/gtest.h>

namespace gh::routing {
namespace {

using V = NormalizedPath::Verdict;

std::string Norm(std::string_view p, PathNormalization o = {}) {
  auto r = NormalizePath(p, o);
  return r.verdict == V::kReject ? "REJECT" : r.path;
}

TEST(PathNormalizer, DotSegments) {
  EXPECT_EQ(Norm("/a/b/../c"), "/a/c");
  EXPECT_EQ(Norm("/a/./b/."), "/a/b/");
  EXPECT_EQ(Norm("/../../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(Norm("/a/b/.."), "/a/");
  EXPECT_EQ(Norm("/"), "/");
  EXPECT_EQ(Norm("/a/..b/c"), "/a/..b/c");
}

TEST(PathNormalizer, DecodesUnreservedOnly) {
  EXPECT_EQ(Norm("/%61%62c"), "/abc");
  EXPECT_EQ(Norm("/a%2eb"), "/a.b");
  EXPECT_EQ(Norm("/%2e%2e/secret"), "/secret");  // encoded dots are dots
  EXPECT_EQ(Norm("/a%20b"), "/a%20b");
  EXPECT_EQ(Norm("/a%3fb"), "/a%3Fb");  // reserved stays encoded, hex upper-cased
  EXPECT_EQ(Norm("/a%zz"), "REJECT");
  EXPECT_EQ(Norm("/a%4"), "REJECT");
}

TEST(PathNormalizer, NormalPathsComeBackAsTheyAre) {
  EXPECT_EQ(Norm("/api/v1/things?page=2&x=%2F/../"), "/api/v1/things?page=2&x=%2F/../");
  EXPECT_EQ(Norm("/a.b/c..d/e."), "/a.b/c..d/e.");  // dots inside segments
  EXPECT_EQ(Norm("/A/B~c_d-e#frag"), "/A/B~c_d-e");
  EXPECT_EQ(Norm("/a/"), "/a/");
  // One character away from normal: each takes the full path.
  EXPECT_EQ(Norm("/a/.b"), "/a/.b");
  EXPECT_EQ(Norm("/a/./b"), "/a/b");
  EXPECT_EQ(Norm("/a\\b"), "/a/b");
  EXPECT_EQ(Norm("/a//b"), "/a/b");
  EXPECT_EQ(Norm("/a%41"), "/aA");
}

TEST(PathNormalizer, MergeSlashes) {
  EXPECT_EQ(Norm("//a///b"), "/a/b");
  PathNormalization keep;
  keep.merge_slashes = false;
  EXPECT_EQ(Norm("//a///b", keep), "//a///b");
}

TEST(PathNormalizer, QueryPreservedUntouched) {
  EXPECT_EQ(Norm("/a/../b?x=/../%2F&y=%61"), "/b?x=/../%2F&y=%61");
  EXPECT_EQ(Norm("/a#frag"), "/a");
  EXPECT_EQ(Norm("/a?q#frag"), "/a?q");
}

TEST(PathNormalizer, EscapedSlashActions) {
  PathNormalization o;
  o.escaped_slashes = EscapedSlashes::kKeep;
  EXPECT_EQ(NormalizePath("/a%2Fb", o).path, "/a%2Fb");
  o.escaped_slashes = EscapedSlashes::kReject;
  EXPECT_EQ(NormalizePath("/a%2fb", o).verdict, V::kReject);
  EXPECT_EQ(NormalizePath("/a%5Cb", o).verdict, V::kReject);
  o.escaped_slashes = EscapedSlashes::kUnescapeAndForward;
  auto fwd = NormalizePath("/a%2F..%2Fb?q=%2F", o);
  EXPECT_EQ(fwd.verdict, V::kOk);
  EXPECT_EQ(fwd.path, "/b?q=%2F");
  o.escaped_slashes = EscapedSlashes::kUnescapeAndRedirect;
  auto redirect = NormalizePath("/a%2Fb", o);
  EXPECT_EQ(redirect.verdict, V::kRedirect);
  EXPECT_EQ(redirect.path, "/a/b");
  EXPECT_EQ(NormalizePath("/a/b", o).verdict, V::kOk);
  // %5C becomes '\', which normalisation turns into '/'.
  EXPECT_EQ(NormalizePath("/a%5Cb", o).path, "/a/b");
}

TEST(PathNormalizer, RejectsNonOriginForm) {
  EXPECT_EQ(NormalizePath("a/b", {}).verdict, V::kReject);
  EXPECT_EQ(NormalizePath("", {}).verdict, V::kReject);
  EXPECT_EQ(NormalizePath("*", {}).path, "*");
}

TEST(PathNormalizer, NormalizeOffLeavesDotsAndEscapes) {
  PathNormalization o;
  o.normalize = false;
  o.merge_slashes = false;
  o.escaped_slashes = EscapedSlashes::kKeep;
  EXPECT_EQ(Norm("/a/../%61", o), "/a/../%61");
}

}  // namespace
}  // namespace gh::routing
