#include "routing/http_route_table.h"

#include <cstring>

#include "base/strings.h"
#include "routing/host.h"

namespace gh::routing {
namespace {

// Eight bytes at a time: host names are short, and a byte-wise hash's
// multiply chain was a visible part of a lookup. Keys come from the config,
// so clients cannot add colliding ones.
uint64_t HashKey(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
    h ^= h >> 32;
  }
  if (i < s.size()) {
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
  }
  return h ^ (h >> 29);
}

bool IsRegexMeta(char c) {
  switch (c) {
    case '\\':
    case '.':
    case '^':
    case '$':
    case '|':
    case '?':
    case '*':
    case '+':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
      return true;
    default:
      return false;
  }
}

// A necessary condition on the uri, derived from match.uri and checked on
// packed pool bytes before the full match, so the common "not this route"
// case touches no RouteEntry. Regexes contribute their literal prefix.
enum class Pre : uint8_t { kNone, kExact, kPrefix };

struct Prefilter {
  Pre kind = Pre::kNone;
  bool ignore_case = false;
  bool complete = false;  // decides the uri condition on its own
  std::string value;
};

Prefilter MakePrefilter(const HttpMatch& match) {
  Prefilter f;
  const StringMatcher* uri = match.uri.get();
  if (uri == nullptr) return f;
  switch (uri->kind()) {
    case StringMatcher::Kind::kExact:
    case StringMatcher::Kind::kPrefix:
      f.kind = uri->kind() == StringMatcher::Kind::kExact ? Pre::kExact : Pre::kPrefix;
      f.value = uri->value();
      f.ignore_case = uri->ignore_case();
      f.complete = true;
      break;
    case StringMatcher::Kind::kRegex:
      f.value = RegexLiteralPrefix(uri->value());
      if (!f.value.empty()) f.kind = Pre::kPrefix;
      break;
    case StringMatcher::Kind::kPresent:
      break;
  }
  return f;
}

}  // namespace

std::string RegexLiteralPrefix(std::string_view pattern) {
  // Inline flags such as (?i) change how literals match: no prefilter.
  if (pattern.starts_with("(?")) return "";
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    // A quantifier after a multi-byte UTF-8 character applies to the whole
    // character: stay on ASCII so the prefix never keeps part of one.
    if (static_cast<unsigned char>(c) >= 0x80) break;
    if (IsRegexMeta(c)) {
      // A quantifier applies to the previous literal, which is then optional.
      if ((c == '?' || c == '*' || c == '{') && !out.empty()) out.pop_back();
      // An alternation at the top level makes the whole prefix optional.
      if (c == '|') return "";
      break;
    }
    out.push_back(c);
  }
  // A top-level alternation later in the pattern also voids the prefix.
  int depth = 0;
  bool escaped = false, in_class = false;
  for (char c : pattern) {
    if (escaped) {
      escaped = false;
      continue;
    }
    if (c == '\\') {
      escaped = true;
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      return "";
    }
  }
  return out;
}

// A vhost's block in pool_: its name, its route count (4 bytes), then per
// route: kind (1 byte: Pre), flags
// (1 byte: bit 0 ignore case, bit 1 complete, bit 2 uri only), length (2
// bytes, little endian), a pointer (8 bytes: the Route when "uri only", else
// the RouteEntry), with kUriRegex the uri's StringMatcher (8 bytes), then
// the bytes. "Uri regex": the match's only condition is a uri regex, so the
// Route pointer is stored and the regex runs without touching the RouteEntry.
// "Complete": the prefilter decides the uri condition on its own (exact and
// prefix matchers). "Uri only": the match has no other condition, so a
// passing prefilter is the match and the RouteEntry is never touched.
namespace {
constexpr uint8_t kIgnoreCase = 1, kComplete = 2, kUriOnly = 4, kUriRegex = 8;
}

void CompiledHttpRouteTable::BuildIndex(FlatIndex& index,
                                        const std::vector<std::pair<uint32_t, size_t>>& keys) {
  if (keys.empty()) return;
  size_t capacity = 8;
  while (capacity < keys.size() * 2)
    capacity <<= 1;
  index.slots.assign(capacity, Slot{});
  index.mask = capacity - 1;
  for (const auto& [vhost, skip] : keys) {
    const VhostRef& ref = refs_[vhost];
    const std::string_view name = std::string_view(pool_).substr(
        ref.name_offset + skip, ref.pre_offset - ref.name_offset - skip);
    const uint64_t h = HashKey(name);
    for (uint64_t i = h & index.mask;; i = (i + 1) & index.mask) {
      if (index.slots[i].vhost == UINT32_MAX) {
        index.slots[i] = {h, vhost, static_cast<uint32_t>(ref.name_offset + skip),
                          static_cast<uint32_t>(name.size())};
        break;
      }
    }
  }
}

const CompiledHttpRouteTable::Slot* CompiledHttpRouteTable::Find(const FlatIndex& index,
                                                                 std::string_view key) const {
  if (index.slots.empty()) return nullptr;
  const uint64_t h = HashKey(key);
  for (uint64_t i = h & index.mask;; i = (i + 1) & index.mask) {
    const Slot& s = index.slots[i];
    if (s.vhost == UINT32_MAX) return nullptr;
    if (s.hash == h && s.name_size == key.size() &&
        std::string_view(pool_.data() + s.name_offset, s.name_size) == key)
      return &s;
  }
}

CompiledHttpRouteTable::CompiledHttpRouteTable(std::vector<VirtualHost> vhosts)
    : vhosts_(std::move(vhosts)) {
  std::vector<std::pair<uint32_t, size_t>> exact, suffix;
  refs_.resize(vhosts_.size());
  for (uint32_t i = 0; i < vhosts_.size(); ++i) {
    VirtualHost& vh = vhosts_[i];
    refs_[i].name_offset = static_cast<uint32_t>(pool_.size());
    pool_.append(vh.name);
    refs_[i].pre_offset = static_cast<uint32_t>(pool_.size());
    const auto routes = static_cast<uint32_t>(vh.routes.size());
    pool_.append(reinterpret_cast<const char*>(&routes), sizeof(routes));
    for (const RouteEntry& e : vh.routes) {
      const Prefilter f = MakePrefilter(e.match);
      const bool complete = f.complete;
      const size_t len = std::min<size_t>(f.value.size(), 0xFFFF);
      const bool usable = len == f.value.size();
      pool_.push_back(static_cast<char>(usable ? f.kind : Pre::kNone));
      const HttpMatch& m = e.match;
      const bool uri_only = complete && usable && !m.scheme && !m.method && !m.authority &&
                            m.headers.empty() && m.query_params.empty();
      const bool uri_regex = !uri_only && m.uri && m.uri->kind() == StringMatcher::Kind::kRegex &&
                             !m.scheme && !m.method && !m.authority && m.headers.empty() &&
                             m.query_params.empty();
      pool_.push_back(static_cast<char>((f.ignore_case ? kIgnoreCase : 0) |
                                        (complete && usable ? kComplete : 0) |
                                        (uri_only ? kUriOnly : 0) | (uri_regex ? kUriRegex : 0)));
      pool_.push_back(static_cast<char>(usable ? len & 0xFF : 0));
      pool_.push_back(static_cast<char>(usable ? len >> 8 : 0));
      const void* target = uri_only || uri_regex ? static_cast<const void*>(e.route.get()) : &e;
      pool_.append(reinterpret_cast<const char*>(&target), sizeof(target));
      if (uri_regex) {
        const StringMatcher* matcher = m.uri.get();
        pool_.append(reinterpret_cast<const char*>(&matcher), sizeof(matcher));
      }
      if (usable) pool_.append(f.value);
    }
    if (vh.name == "*") {
      any_ = i;
    } else if (vh.name.starts_with("*.")) {
      suffix.emplace_back(i, 1);  // keyed as ".b.com"
    } else {
      exact.emplace_back(i, 0);
    }
  }
  BuildIndex(exact_, exact);
  BuildIndex(suffix_, suffix);
}

CompiledHttpRouteTable::Hit CompiledHttpRouteTable::Select(std::string_view authority) const {
  const std::string_view raw = StripPort(authority);
  // DNS names are at most 253 characters: a longer one can only hit "*".
  char buf[256];
  if (raw.size() < sizeof(buf)) {
    for (size_t i = 0; i < raw.size(); ++i)
      buf[i] = AsciiLower(raw[i]);
    const std::string_view host(buf, raw.size());
    // A slot's key ends where its vhost's name ends: the block follows.
    if (const Slot* s = Find(exact_, host))
      return {s->vhost, s->name_offset, s->name_offset + s->name_size};
    if (!suffix_.slots.empty()) {
      // Longest suffix first: ".b.c.com", then ".c.com", then ".com".
      for (size_t dot = host.find('.', 1); dot != std::string_view::npos;
           dot = host.find('.', dot + 1)) {
        if (const Slot* s = Find(suffix_, host.substr(dot)))
          return {s->vhost, s->name_offset - 1, s->name_offset + s->name_size};  // "*" + key
      }
    }
  }
  if (any_ < 0) return {};
  const VhostRef& ref = refs_[static_cast<size_t>(any_)];
  return {static_cast<uint32_t>(any_), ref.name_offset, ref.pre_offset};
}

const VirtualHost* CompiledHttpRouteTable::SelectVirtualHost(std::string_view authority) const {
  const Hit hit = Select(authority);
  return hit.vhost == UINT32_MAX ? nullptr : &vhosts_[hit.vhost];
}

HttpRouteResult CompiledHttpRouteTable::Match(const RequestView& request) const {
  HttpRouteResult result;
  const Hit hit = Select(request.authority);
  if (hit.vhost == UINT32_MAX) return result;
  result.host_matched = true;
  result.virtual_host =
      std::string_view(pool_.data() + hit.name_offset, hit.pre_offset - hit.name_offset);
  const std::string_view path = request.path;
  const std::string_view path_only = PathOnly(path);
  const char* p = pool_.data() + hit.pre_offset;
  uint32_t routes;
  std::memcpy(&routes, p, sizeof(routes));
  p += sizeof(routes);
  for (uint32_t k = 0; k < routes; ++k) {
    const auto kind = static_cast<Pre>(p[0]);
    const auto flags = static_cast<uint8_t>(p[1]);
    const size_t len =
        static_cast<uint8_t>(p[2]) | (static_cast<size_t>(static_cast<uint8_t>(p[3])) << 8);
    const void* target;
    std::memcpy(&target, p + 4, sizeof(target));
    const StringMatcher* regex = nullptr;
    p += 4 + sizeof(target);
    if ((flags & kUriRegex) != 0) {
      std::memcpy(&regex, p, sizeof(regex));
      p += sizeof(regex);
    }
    const std::string_view value(p, len);
    p += len;
    const bool ci = (flags & kIgnoreCase) != 0;
    bool pass = true;
    if (kind == Pre::kExact) {
      pass = ci ? AsciiIEquals(path_only, value) : path_only == value;
    } else if (kind == Pre::kPrefix) {
      pass = ci ? AsciiIStartsWith(path, value) : path.starts_with(value);
    }
    if (!pass) continue;
    if ((flags & kUriOnly) != 0) {
      result.route = static_cast<const Route*>(target);
      break;
    }
    if (regex != nullptr) {
      // Exact and regex uri matches read the path alone (FirstFailure).
      if (!regex->Matches(path_only)) continue;
      result.route = static_cast<const Route*>(target);
      break;
    }
    const auto& entry = *static_cast<const RouteEntry*>(target);
    if (FirstFailure(entry.match, request, (flags & kComplete) != 0).matched()) {
      result.route = entry.route.get();
      break;
    }
  }
  return result;
}

bool CompiledHttpRouteTable::CoversHost(std::string_view host) const {
  return SelectVirtualHost(host) != nullptr;
}

}  // namespace gh::routing
