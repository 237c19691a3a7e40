#include "routing/http_route_table.h"

#include <cstring>
#include <optional>

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
// route: kind (1 byte: Pre), flags (1 byte, below), prefilter length (2
// bytes, little endian), the Route pointer (8 bytes), the prefilter bytes,
// then, unless kUriOnly, its conditions: their length (2 bytes), a mask byte
// (uri, scheme, method, authority) with a StringMatcher pointer for each bit
// set, the header count (1 byte) and per header its matcher, negate byte,
// name length (1 byte) and name, then the query parameter count and per
// parameter its matcher, name length and name. So a lookup reads one slot
// and this block, never a VirtualHost, RouteEntry or HttpMatch; a match the
// layout cannot hold (a name over 255 bytes, over 255 conditions) stores its
// RouteEntry pointer instead (kEntry) and is checked with FirstFailure.
// "Complete": the prefilter decides the uri condition on its own (exact and
// prefix matchers). "Uri only": the match has no other condition.
namespace {
constexpr uint8_t kIgnoreCase = 1, kComplete = 2, kUriOnly = 4, kEntry = 8;
constexpr uint8_t kHasUri = 1, kHasScheme = 2, kHasMethod = 4, kHasAuthority = 8;

template <class T>
void AppendRaw(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <class T>
T ReadRaw(const char*& p) {
  T value;
  std::memcpy(&value, p, sizeof(value));
  p += sizeof(value);
  return value;
}

// The conditions of `m` other than a complete uri, or nullopt when they do
// not fit the packed layout.
std::optional<std::string> PackConditions(const HttpMatch& m, bool uri_decided) {
  std::string out;
  const StringMatcher* uri = uri_decided ? nullptr : m.uri.get();
  const uint8_t mask = (uri != nullptr ? kHasUri : 0) | (m.scheme ? kHasScheme : 0) |
                       (m.method ? kHasMethod : 0) | (m.authority ? kHasAuthority : 0);
  out.push_back(static_cast<char>(mask));
  for (const StringMatcher* x : {uri, m.scheme.get(), m.method.get(), m.authority.get()}) {
    if (x != nullptr) AppendRaw(out, x);
  }
  if (m.headers.size() > 0xFF || m.query_params.size() > 0xFF) return std::nullopt;
  out.push_back(static_cast<char>(m.headers.size()));
  for (const HeaderCondition& c : m.headers) {
    if (c.name.size() > 0xFF) return std::nullopt;
    AppendRaw(out, c.matcher.get());
    out.push_back(c.negate ? 1 : 0);
    out.push_back(static_cast<char>(c.name.size()));
    out.append(c.name);
  }
  out.push_back(static_cast<char>(m.query_params.size()));
  for (const QueryCondition& c : m.query_params) {
    if (c.name.size() > 0xFF) return std::nullopt;
    AppendRaw(out, c.matcher.get());
    out.push_back(static_cast<char>(c.name.size()));
    out.append(c.name);
  }
  if (out.size() > 0xFFFF) return std::nullopt;
  return out;
}

// Checks packed conditions (PackConditions), in FirstFailure's order.
bool ConditionsHold(const char* p, const RequestView& request) {
  const auto mask = static_cast<uint8_t>(*p++);
  if ((mask & kHasUri) != 0 && !UriConditionHolds(*ReadRaw<const StringMatcher*>(p), request.path))
    return false;
  if ((mask & kHasScheme) != 0 && !ReadRaw<const StringMatcher*>(p)->Matches(request.scheme))
    return false;
  if ((mask & kHasMethod) != 0 && !ReadRaw<const StringMatcher*>(p)->Matches(request.method))
    return false;
  if ((mask & kHasAuthority) != 0 && !ReadRaw<const StringMatcher*>(p)->Matches(request.authority))
    return false;
  std::string scratch;
  for (auto n = static_cast<uint8_t>(*p++); n > 0; --n) {
    const auto* matcher = ReadRaw<const StringMatcher*>(p);
    const bool negate = *p++ != 0;
    const auto len = static_cast<uint8_t>(*p++);
    const std::string_view name(p, len);
    p += len;
    if (!HeaderConditionHolds(request, name, *matcher, negate, scratch)) return false;
  }
  for (auto n = static_cast<uint8_t>(*p++); n > 0; --n) {
    const auto* matcher = ReadRaw<const StringMatcher*>(p);
    const auto len = static_cast<uint8_t>(*p++);
    const std::string_view name(p, len);
    p += len;
    if (!QueryConditionHolds(request, name, *matcher)) return false;
  }
  return true;
}

}  // namespace

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
    AppendRaw(pool_, static_cast<uint32_t>(vh.routes.size()));
    for (const RouteEntry& e : vh.routes) {
      const Prefilter f = MakePrefilter(e.match);
      const size_t len = std::min<size_t>(f.value.size(), 0xFFFF);
      const bool usable = len == f.value.size();
      const bool complete = f.complete && usable;
      const HttpMatch& m = e.match;
      const bool uri_only = complete && !m.scheme && !m.method && !m.authority &&
                            m.headers.empty() && m.query_params.empty();
      std::optional<std::string> conditions;
      if (!uri_only) conditions = PackConditions(m, complete);
      const bool entry = !uri_only && !conditions;
      pool_.push_back(static_cast<char>(usable ? f.kind : Pre::kNone));
      pool_.push_back(static_cast<char>((f.ignore_case ? kIgnoreCase : 0) |
                                        (complete ? kComplete : 0) | (uri_only ? kUriOnly : 0) |
                                        (entry ? kEntry : 0)));
      AppendRaw(pool_, static_cast<uint16_t>(usable ? len : 0));
      AppendRaw(pool_, entry ? static_cast<const void*>(&e) : e.route.get());
      if (usable) pool_.append(f.value);
      if (conditions) {
        AppendRaw(pool_, static_cast<uint16_t>(conditions->size()));
        pool_.append(*conditions);
      }
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
  for (auto routes = ReadRaw<uint32_t>(p); routes > 0; --routes) {
    const auto kind = static_cast<Pre>(p[0]);
    const auto flags = static_cast<uint8_t>(p[1]);
    p += 2;
    const auto len = ReadRaw<uint16_t>(p);
    const void* target = ReadRaw<const void*>(p);
    const std::string_view value(p, len);
    p += len;
    const char* conditions = nullptr;
    if ((flags & (kUriOnly | kEntry)) == 0) {
      const auto size = ReadRaw<uint16_t>(p);
      conditions = p;
      p += size;
    }
    const bool ci = (flags & kIgnoreCase) != 0;
    bool pass = true;
    if (kind == Pre::kExact) {
      pass = ci ? AsciiIEquals(path_only, value) : path_only == value;
    } else if (kind == Pre::kPrefix) {
      pass = ci ? AsciiIStartsWith(path, value) : path.starts_with(value);
    }
    if (!pass) continue;
    if ((flags & kEntry) != 0) {
      const auto& entry = *static_cast<const RouteEntry*>(target);
      if (!FirstFailure(entry.match, request, (flags & kComplete) != 0).matched()) continue;
      result.route = entry.route.get();
      break;
    }
    if (conditions != nullptr && !ConditionsHold(conditions, request)) continue;
    result.route = static_cast<const Route*>(target);
    break;
  }
  return result;
}

bool CompiledHttpRouteTable::CoversHost(std::string_view host) const {
  return SelectVirtualHost(host) != nullptr;
}

}  // namespace gh::routing
