// Compiled request matchers: Istio StringMatch (exact / prefix / RE2 regex
// with full-match semantics) and HTTPMatchRequest. Pure; regexes compile once
// here, at config compile time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "routing/model.h"

namespace gh::routing {

// Istio caps regexes at 1024 characters; RE2's program size is capped too so
// a single route can never cost more than a bounded amount per request.
inline constexpr size_t kMaxRegexLength = 1024;
inline constexpr int kMaxRegexProgramSize = 1000;

class StringMatcher {
 public:
  enum class Kind : uint8_t { kExact, kPrefix, kRegex, kPresent };

  static std::shared_ptr<const StringMatcher> Exact(std::string value, bool ignore_case = false);
  static std::shared_ptr<const StringMatcher> Prefix(std::string value, bool ignore_case = false);
  // Any value, including empty: header presence (`{}` in Istio).
  static std::shared_ptr<const StringMatcher> Present();
  // RE2, full match. Errors: does not compile, too long, program too large.
  static Result<std::shared_ptr<const StringMatcher>> Regex(std::string_view pattern);

  StringMatcher(Kind kind, std::string value, bool ignore_case);
  ~StringMatcher();
  StringMatcher(const StringMatcher&) = delete;
  StringMatcher& operator=(const StringMatcher&) = delete;

  bool Matches(std::string_view value) const;
  Kind kind() const { return kind_; }
  const std::string& value() const { return value_; }
  bool ignore_case() const { return ignore_case_; }
  // `exact "/a"`, `prefix "/api"`, `regex "/v[0-9]+"`, `present`.
  std::string Describe() const;

 private:
  Kind kind_;
  bool ignore_case_;
  std::string value_;
  std::unique_ptr<re2::RE2> re_;
};

// Interns matchers while one configuration compiles: equal matchers (same
// kind, value and case rule) are one shared object, so a regex used by ten
// thousand routes is compiled once and held once (istio-semantics §9 #4).
class MatcherCache {
 public:
  std::shared_ptr<const StringMatcher> Exact(std::string_view value, bool ignore_case = false);
  std::shared_ptr<const StringMatcher> Prefix(std::string_view value, bool ignore_case = false);
  std::shared_ptr<const StringMatcher> Present();
  Result<std::shared_ptr<const StringMatcher>> Regex(std::string_view pattern);
  size_t size() const { return matchers_.size(); }

 private:
  std::shared_ptr<const StringMatcher> Intern(char kind, std::string_view value, bool ignore_case);
  std::unordered_map<std::string, std::shared_ptr<const StringMatcher>> matchers_;
};

struct HeaderCondition {
  std::string name;  // lowercase; ":authority", ":method", ":path", ":scheme" read the request
  std::shared_ptr<const StringMatcher> matcher;
  bool negate = false;  // without_headers: a missing header counts as ""
};

struct QueryCondition {
  std::string name;
  std::shared_ptr<const StringMatcher> matcher;  // Present(): the key exists
};

// One HTTPMatchRequest: every condition must hold.
struct HttpMatch {
  std::shared_ptr<const StringMatcher> uri, scheme, method, authority;
  std::vector<HeaderCondition> headers;  // headers, then without_headers
  std::vector<QueryCondition> query_params;

  // Prefix "/" (or no uri), regex ".*" / "/.*", and no other condition.
  bool IsCatchAll() const;
};

enum class MatchCondition : uint8_t {
  kNone,  // everything matched
  kUri,
  kScheme,
  kMethod,
  kAuthority,
  kHeader,         // index: headers[index]
  kWithoutHeader,  // index: headers[index]
  kQueryParam,     // index: query_params[index]
};

struct MatchFailure {
  MatchCondition condition = MatchCondition::kNone;
  uint32_t index = 0;
  bool matched() const { return condition == MatchCondition::kNone; }
};

// The first condition of `match` that `request` fails, in declaration order
// (uri, scheme, method, authority, headers, without_headers, query_params).
// `skip_uri`: the caller already established the uri condition.
MatchFailure FirstFailure(const HttpMatch& match, const RequestView& request,
                          bool skip_uri = false);

// The single conditions FirstFailure checks, for callers that keep the
// conditions in their own layout (the route table's packed pool).
bool UriConditionHolds(const StringMatcher& uri, std::string_view path);
// `scratch` holds a joined value of a header sent several times.
bool HeaderConditionHolds(const RequestView& request, std::string_view name,
                          const StringMatcher& matcher, bool negate, std::string& scratch);
bool QueryConditionHolds(const RequestView& request, std::string_view name,
                         const StringMatcher& matcher);

// Human-readable text for a failure, e.g. `uri prefix "/api"`.
std::string DescribeFailure(const HttpMatch& match, const MatchFailure& failure);

// The path without its query string (and fragment).
std::string_view PathOnly(std::string_view path);
// The raw query string after '?', empty when none.
std::string_view QueryString(std::string_view path);
// The first raw value of query parameter `name`; nullptr-like nullopt when absent.
std::optional<std::string_view> QueryParam(std::string_view path, std::string_view name);

}  // namespace gh::routing
