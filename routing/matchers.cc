#include "routing/matchers.h"

#include <re2/re2.h>

#include "base/strings.h"

namespace gh::routing {

StringMatcher::StringMatcher(Kind kind, std::string value, bool ignore_case)
    : kind_(kind), ignore_case_(ignore_case), value_(std::move(value)) {}

StringMatcher::~StringMatcher() = default;

std::shared_ptr<const StringMatcher> StringMatcher::Exact(std::string value, bool ignore_case) {
  return std::make_shared<StringMatcher>(Kind::kExact, std::move(value), ignore_case);
}

std::shared_ptr<const StringMatcher> StringMatcher::Prefix(std::string value, bool ignore_case) {
  return std::make_shared<StringMatcher>(Kind::kPrefix, std::move(value), ignore_case);
}

std::shared_ptr<const StringMatcher> StringMatcher::Present() {
  return std::make_shared<StringMatcher>(Kind::kPresent, "", false);
}

Result<std::shared_ptr<const StringMatcher>> StringMatcher::Regex(std::string_view pattern) {
  if (pattern.size() > kMaxRegexLength)
    return MakeError("regex is longer than " + std::to_string(kMaxRegexLength) + " characters");
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) return MakeError("invalid regex: " + re->error());
  if (re->ProgramSize() > kMaxRegexProgramSize) {
    return MakeError("regex program size " + std::to_string(re->ProgramSize()) +
                     " exceeds the limit of " + std::to_string(kMaxRegexProgramSize));
  }
  auto m = std::make_shared<StringMatcher>(Kind::kRegex, std::string(pattern), false);
  m->re_ = std::move(re);
  return std::shared_ptr<const StringMatcher>(std::move(m));
}

std::shared_ptr<const StringMatcher> MatcherCache::Intern(char kind, std::string_view value,
                                                          bool ignore_case) {
  std::string key;
  key.reserve(value.size() + 2);
  key.push_back(kind);
  key.push_back(ignore_case ? 'i' : 's');
  key.append(value);
  auto it = matchers_.find(key);
  if (it != matchers_.end()) return it->second;
  std::shared_ptr<const StringMatcher> m;
  if (kind == 'e')
    m = StringMatcher::Exact(std::string(value), ignore_case);
  else if (kind == 'p')
    m = StringMatcher::Prefix(std::string(value), ignore_case);
  else
    m = StringMatcher::Present();
  matchers_.emplace(std::move(key), m);
  return m;
}

std::shared_ptr<const StringMatcher> MatcherCache::Exact(std::string_view value, bool ignore_case) {
  return Intern('e', value, ignore_case);
}

std::shared_ptr<const StringMatcher> MatcherCache::Prefix(std::string_view value,
                                                          bool ignore_case) {
  return Intern('p', value, ignore_case);
}

std::shared_ptr<const StringMatcher> MatcherCache::Present() {
  return Intern('*', "", false);
}

Result<std::shared_ptr<const StringMatcher>> MatcherCache::Regex(std::string_view pattern) {
  std::string key = "r";
  key.append(pattern);
  auto it = matchers_.find(key);
  if (it != matchers_.end()) return it->second;
  auto compiled = StringMatcher::Regex(pattern);
  if (compiled.ok()) matchers_.emplace(std::move(key), *compiled);
  return compiled;
}

bool StringMatcher::Matches(std::string_view value) const {
  switch (kind_) {
    case Kind::kExact:
      return ignore_case_ ? AsciiIEquals(value, value_) : value == value_;
    case Kind::kPrefix:
      return ignore_case_ ? AsciiIStartsWith(value, value_) : value.starts_with(value_);
    case Kind::kRegex:
      return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *re_);
    case Kind::kPresent:
      return true;
  }
  return false;
}

std::string StringMatcher::Describe() const {
  switch (kind_) {
    case Kind::kExact:
      return "exact \"" + value_ + "\"" + (ignore_case_ ? " (ignoring case)" : "");
    case Kind::kPrefix:
      return "prefix \"" + value_ + "\"" + (ignore_case_ ? " (ignoring case)" : "");
    case Kind::kRegex:
      return "regex \"" + value_ + "\"";
    case Kind::kPresent:
      return "present";
  }
  return "";
}

bool HttpMatch::IsCatchAll() const {
  if (scheme || method || authority || !headers.empty() || !query_params.empty()) return false;
  if (!uri) return true;
  switch (uri->kind()) {
    case StringMatcher::Kind::kPrefix:
      return uri->value() == "/" || uri->value().empty();
    case StringMatcher::Kind::kRegex:
      return uri->value() == ".*" || uri->value() == "/.*";
    case StringMatcher::Kind::kPresent:
      return true;
    case StringMatcher::Kind::kExact:
      return false;
  }
  return false;
}

std::string_view PathOnly(std::string_view path) {
  const size_t end = path.find_first_of("?#");
  return end == std::string_view::npos ? path : path.substr(0, end);
}

std::string_view QueryString(std::string_view path) {
  const size_t q = path.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = path.substr(q + 1);
  const size_t hash = query.find('#');
  return hash == std::string_view::npos ? query : query.substr(0, hash);
}

std::optional<std::string_view> QueryParam(std::string_view path, std::string_view name) {
  std::string_view query = QueryString(path);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

namespace {

// Header value as Envoy sees it: several fields of one name are joined by ','.
std::optional<std::string_view> HeaderValue(const RequestView& request, std::string_view name,
                                            std::string& scratch) {
  if (name.starts_with(':')) {
    if (name == ":authority") return request.authority;
    if (name == ":method") return request.method;
    if (name == ":path") return request.path;
    if (name == ":scheme") return request.scheme;
    return std::nullopt;
  }
  if (name == "host") return request.authority;
  if (request.headers == nullptr) return std::nullopt;
  const std::string* first = nullptr;
  bool several = false;
  for (const http::Header& h : *request.headers) {
    if (h.name != name) continue;
    if (first == nullptr) {
      first = &h.value;
      continue;
    }
    if (!several) {
      scratch = *first;
      several = true;
    }
    scratch.push_back(',');
    scratch.append(h.value);
  }
  if (first == nullptr) return std::nullopt;
  if (several) return std::string_view(scratch);
  return std::string_view(*first);
}

}  // namespace

bool UriConditionHolds(const StringMatcher& uri, std::string_view path) {
  // Envoy: prefix matches the whole :path, exact and regex the path alone.
  return uri.Matches(uri.kind() == StringMatcher::Kind::kPrefix ? path : PathOnly(path));
}

bool HeaderConditionHolds(const RequestView& request, std::string_view name,
                          const StringMatcher& matcher, bool negate, std::string& scratch) {
  const auto value = HeaderValue(request, name, scratch);
  if (negate) {
    // A missing header counts as empty: "not X" holds unless "" matches X.
    // Presence negated: holds only when the header is absent.
    const bool matched = matcher.kind() == StringMatcher::Kind::kPresent
                             ? value.has_value()
                             : matcher.Matches(value.value_or(std::string_view()));
    return !matched;
  }
  return value && matcher.Matches(*value);
}

bool QueryConditionHolds(const RequestView& request, std::string_view name,
                         const StringMatcher& matcher) {
  const auto value = QueryParam(request.path, name);
  return value && matcher.Matches(*value);
}

MatchFailure FirstFailure(const HttpMatch& match, const RequestView& request, bool skip_uri) {
  if (match.uri && !skip_uri && !UriConditionHolds(*match.uri, request.path))
    return {MatchCondition::kUri, 0};
  if (match.scheme && !match.scheme->Matches(request.scheme)) return {MatchCondition::kScheme, 0};
  if (match.method && !match.method->Matches(request.method)) return {MatchCondition::kMethod, 0};
  if (match.authority && !match.authority->Matches(request.authority))
    return {MatchCondition::kAuthority, 0};
  std::string scratch;
  for (uint32_t i = 0; i < match.headers.size(); ++i) {
    const HeaderCondition& c = match.headers[i];
    if (!HeaderConditionHolds(request, c.name, *c.matcher, c.negate, scratch))
      return {c.negate ? MatchCondition::kWithoutHeader : MatchCondition::kHeader, i};
  }
  for (uint32_t i = 0; i < match.query_params.size(); ++i) {
    const QueryCondition& c = match.query_params[i];
    if (!QueryConditionHolds(request, c.name, *c.matcher)) return {MatchCondition::kQueryParam, i};
  }
  return {};
}

std::string DescribeFailure(const HttpMatch& match, const MatchFailure& failure) {
  switch (failure.condition) {
    case MatchCondition::kNone:
      return "matched";
    case MatchCondition::kUri:
      return "uri " + match.uri->Describe();
    case MatchCondition::kScheme:
      return "scheme " + match.scheme->Describe();
    case MatchCondition::kMethod:
      return "method " + match.method->Describe();
    case MatchCondition::kAuthority:
      return "authority " + match.authority->Describe();
    case MatchCondition::kHeader: {
      const HeaderCondition& c = match.headers[failure.index];
      return "header \"" + c.name + "\" " + c.matcher->Describe();
    }
    case MatchCondition::kWithoutHeader: {
      const HeaderCondition& c = match.headers[failure.index];
      return "without_headers \"" + c.name + "\" " + c.matcher->Describe();
    }
    case MatchCondition::kQueryParam: {
      const QueryCondition& c = match.query_params[failure.index];
      return "query_param \"" + c.name + "\" " + c.matcher->Describe();
    }
  }
  return "";
}

}  // namespace gh::routing
