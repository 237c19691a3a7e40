#include "control/toml_reader.h"

#include <algorithm>
#include <cmath>

#include "base/strings.h"

namespace gh::control {

Where WhereOf(const toml::node& node, uint32_t file, std::string path) {
  Where w;
  w.file = file;
  w.line = node.source().begin.line;
  w.column = node.source().begin.column;
  w.path = std::move(path);
  return w;
}

namespace {

// `"key"`: built by appending (GCC 12 warns falsely on "lit" + std::string).
std::string Q(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  out.append(s);
  out.push_back('"');
  return out;
}

std::string TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    default:
      return "a date/time";
  }
}

std::string SnakeCase(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c >= 'A' && c <= 'Z') {
      if (!out.empty()) out.push_back('_');
      out.push_back(static_cast<char>(c + 32));
    } else {
      out.push_back(c == '-' ? '_' : c);
    }
  }
  return out;
}

}  // namespace

std::string Suggest(std::string_view key, const std::vector<std::string>& known) {
  return Suggest(key, std::vector<std::string_view>(known.begin(), known.end()));
}

std::string Suggest(std::string_view key, const std::vector<std::string_view>& known) {
  const std::string snake = SnakeCase(key);
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (std::string_view k : known) {
    if (k == snake) return std::string(k);
    const size_t d = EditDistance(AsciiLowered(key), k);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(k);
    }
  }
  const size_t limit = std::max<size_t>(2, key.size() / 3);
  return best_distance <= limit ? best : std::string();
}

Obj::Obj(const toml::table& table, uint32_t file, DiagnosticSink& sink,
         routing::MatcherCache& cache, uint32_t line_offset, size_t index_base)
    : table_(table),
      file_(file),
      line_offset_(line_offset),
      index_base_(index_base),
      sink_(sink),
      cache_(cache) {}

Obj::Obj(const toml::table& table, const Obj* parent, std::string segment)
    : table_(table),
      file_(parent->file_),
      line_offset_(parent->line_offset_),
      parent_(parent),
      segment_(std::move(segment)),
      sink_(parent->sink_),
      cache_(parent->cache_) {}

Where Obj::Locate(const toml::node& node, std::string path) const {
  Where w = WhereOf(node, file_, std::move(path));
  if (w.line != 0) w.line += line_offset_;
  return w;
}

std::string Obj::path() const {
  if (!renamed_.empty()) return renamed_;
  std::string out = parent_ != nullptr ? parent_->path() : std::string();
  if (!out.empty() && !segment_.empty()) out.push_back('.');
  out.append(segment_);
  return out;
}

Where Obj::where() const {
  return Locate(table_, path());
}

std::string Obj::PathOf(std::string_view key) const {
  std::string out = path();
  if (!out.empty()) out.push_back('.');
  out.append(key);
  return out;
}

bool Obj::Has(std::string_view key) const {
  return table_.contains(key);
}

void Obj::Rename(std::string path) {
  renamed_ = std::move(path);
}

Where Obj::At(std::string_view key) const {
  if (const toml::node* node = table_.get(key)) return Locate(*node, PathOf(key));
  Where w = where();
  w.path = PathOf(key);
  return w;
}

const toml::node* Obj::Get(std::string_view key, bool required) {
  known_.push_back(key);
  const toml::node* node = table_.get(key);
  if (node == nullptr && required) {
    sink_.Error(where(), "missing required key " + Q(key));
  }
  return node;
}

void Obj::TypeError(std::string_view key, const toml::node& node, std::string_view expected) {
  sink_.Error(Locate(node, PathOf(key)),
              Q(key) + " must be " + std::string(expected) + ", not " + TypeName(node));
}

void Obj::BadEnum(std::string_view key, std::string_view value,
                  const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& n : names)
    list += (list.empty() ? "" : ", ") + n;
  std::string message = "invalid value \"" + std::string(value) + "\" for \"" + std::string(key) +
                        "\": expected one of " + list;
  for (const std::string& n : names) {
    if (AsciiIEquals(n, value)) {
      message += " (did you mean \"" + n + "\"?)";
      break;
    }
  }
  sink_.Error(At(key), std::move(message));
}

std::optional<std::string> Obj::Str(std::string_view key, bool required) {
  const toml::node* node = Get(key, required);
  if (node == nullptr) return std::nullopt;
  if (const auto* s = node->as_string()) return s->get();
  TypeError(key, *node, "a string");
  return std::nullopt;
}

std::optional<int64_t> Obj::Int(std::string_view key, int64_t min, int64_t max, bool required) {
  const toml::node* node = Get(key, required);
  if (node == nullptr) return std::nullopt;
  const auto* i = node->as_integer();
  if (i == nullptr) {
    TypeError(key, *node, "an integer");
    return std::nullopt;
  }
  const int64_t v = i->get();
  if (v < min || v > max) {
    sink_.Error(At(key), Q(key) + " must be between " + std::to_string(min) + " and " +
                             std::to_string(max) + ", got " + std::to_string(v));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> Obj::Bool(std::string_view key) {
  const toml::node* node = Get(key, false);
  if (node == nullptr) return std::nullopt;
  if (const auto* b = node->as_boolean()) return b->get();
  TypeError(key, *node, "a boolean");
  return std::nullopt;
}

std::optional<double> Obj::Number(std::string_view key, double min, double max) {
  const toml::node* node = Get(key, false);
  if (node == nullptr) return std::nullopt;
  double v = 0;
  if (const auto* f = node->as_floating_point()) {
    v = f->get();
  } else if (const auto* i = node->as_integer()) {
    v = static_cast<double>(i->get());
  } else {
    TypeError(key, *node, "a number");
    return std::nullopt;
  }
  if (!std::isfinite(v) || v < min || v > max) {
    sink_.Error(At(key), Q(key) + " must be between " + std::to_string(static_cast<int64_t>(min)) +
                             " and " + std::to_string(static_cast<int64_t>(max)));
    return std::nullopt;
  }
  return v;
}

std::optional<std::chrono::milliseconds> Obj::Duration(std::string_view key,
                                                       std::chrono::milliseconds min,
                                                       bool allow_zero) {
  const auto text = Str(key);
  if (!text) return std::nullopt;
  const auto parsed = ParseDuration(*text);
  if (!parsed) {
    sink_.Error(At(key), "invalid duration \"" + *text + "\" for \"" + std::string(key) +
                             "\": expected a number with a unit (h, m, s, ms, us, ns), e.g. "
                             "\"5s\" or \"250ms\"");
    return std::nullopt;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
  if (parsed->count() == 0) {
    if (allow_zero) return ms;
    sink_.Error(At(key), Q(key) + " must be greater than zero");
    return std::nullopt;
  }
  if (ms < min) {
    sink_.Error(At(key), Q(key) + " must be at least " + std::to_string(min.count()) + "ms");
    return std::nullopt;
  }
  return ms;
}

std::optional<Obj> Obj::Table(std::string_view key, bool required) {
  const toml::node* node = Get(key, required);
  if (node == nullptr) return std::nullopt;
  if (const auto* t = node->as_table()) return Obj(*t, this, std::string(key));
  TypeError(key, *node, "a table");
  return std::nullopt;
}

std::vector<Obj> Obj::Tables(std::string_view key, bool required) {
  std::vector<Obj> out;
  const toml::node* node = Get(key, required);
  if (node == nullptr) return out;
  const auto* arr = node->as_array();
  if (arr == nullptr) {
    TypeError(key, *node, "an array of tables");
    return out;
  }
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::node& el = *arr->get(i);
    std::string segment(key);
    segment.push_back('[');
    segment.append(std::to_string(index_base_ + i));
    segment.push_back(']');
    if (const auto* t = el.as_table()) {
      out.push_back(Obj(*t, this, std::move(segment)));
    } else {
      sink_.Error(Locate(el, PathOf(segment)),
                  "elements of " + Q(key) + " must be tables, not " + TypeName(el));
    }
  }
  return out;
}

std::vector<std::string> Obj::Strings(std::string_view key, std::vector<Where>* where) {
  std::vector<std::string> out;
  const toml::node* node = Get(key, false);
  if (node == nullptr) return out;
  const auto* arr = node->as_array();
  if (arr == nullptr) {
    TypeError(key, *node, "an array of strings");
    return out;
  }
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::node& el = *arr->get(i);
    const std::string path = PathOf(key) + "[" + std::to_string(i) + "]";
    if (const auto* s = el.as_string()) {
      out.push_back(s->get());
      if (where != nullptr) where->push_back(Locate(el, path));
    } else {
      sink_.Error(Locate(el, path),
                  "elements of \"" + std::string(key) + "\" must be strings, not " + TypeName(el));
    }
  }
  return out;
}

std::map<std::string, std::string> Obj::StringMap(std::string_view key) {
  std::map<std::string, std::string> out;
  const toml::node* node = Get(key, false);
  if (node == nullptr) return out;
  const auto* t = node->as_table();
  if (t == nullptr) {
    TypeError(key, *node, "a table of strings");
    return out;
  }
  for (auto&& [k, v] : *t) {
    if (const auto* s = v.as_string()) {
      out.emplace(std::string(k.str()), s->get());
    } else {
      sink_.Error(Locate(v, PathOf(key) + "." + std::string(k.str())),
                  "values of \"" + std::string(key) + "\" must be strings, not " + TypeName(v));
    }
  }
  return out;
}

std::vector<std::pair<std::string, Obj>> Obj::TableMap(std::string_view key) {
  std::vector<std::pair<std::string, Obj>> out;
  const toml::node* node = Get(key, false);
  if (node == nullptr) return out;
  const auto* t = node->as_table();
  if (t == nullptr) {
    TypeError(key, *node, "a table");
    return out;
  }
  for (auto&& [k, v] : *t) {
    std::string segment(key);
    segment.push_back('.');
    segment.append(Q(k.str()));
    if (const auto* sub = v.as_table()) {
      out.emplace_back(std::string(k.str()), Obj(*sub, this, std::move(segment)));
    } else {
      sink_.Error(Locate(v, PathOf(segment)),
                  "values of \"" + std::string(key) + "\" must be tables, not " + TypeName(v));
    }
  }
  return out;
}

void Obj::IgnoreWithWarning(std::string_view key, std::string_view why) {
  if (Get(key, false) != nullptr) {
    sink_.Warning(At(key), Q(key) + " is ignored: " + std::string(why));
  }
}

void Obj::Unsupported(std::string_view key, std::string_view why) {
  if (Get(key, false) != nullptr) {
    sink_.Error(At(key), Q(key) + " is not supported yet: " + std::string(why));
  }
}

void Obj::Finish() {
  for (auto&& [k, v] : table_) {
    const std::string_view name = k.str();
    if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
    Where w;
    w.file = file_;
    w.line = k.source().begin.line;
    if (w.line != 0) w.line += line_offset_;
    w.column = k.source().begin.column;
    w.path = PathOf(name);
    std::string message = "unknown key \"" + std::string(name) + "\"";
    const std::string suggestion = Suggest(name, known_);
    if (!suggestion.empty()) message += "; did you mean \"" + suggestion + "\"?";
    sink_.Error(w, std::move(message));
  }
}

}  // namespace gh::control
