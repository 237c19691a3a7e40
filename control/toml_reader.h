// A schema walker over a toml++ table: typed getters that report wrong types,
// ranges and enum values with file:line:col and key path, remember which keys
// were read, and report every other key as unknown with a "did you mean".
// Internal to control/; pure (the TOML text was parsed by the caller).
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/diagnostics.h"
#include "routing/matchers.h"

namespace gh::control {

Where WhereOf(const toml::node& node, uint32_t file, std::string path);

// "did you mean" candidate: the closest of `known` to `key`, or "".
std::string Suggest(std::string_view key, const std::vector<std::string_view>& known);
std::string Suggest(std::string_view key, const std::vector<std::string>& known);

// A table being read. Its key path is built only when needed (a diagnostic,
// or a Where kept for later), from the parent chain: a child must not outlive
// the Obj it came from (they are used as nested locals).
class Obj {
 public:
  // The root of a file, or of a piece of one (control/toml_split.h):
  // `line_offset` lines precede the piece; its root arrays of tables number
  // their elements from `index_base` (the elements in earlier pieces).
  Obj(const toml::table& table, uint32_t file, DiagnosticSink& sink, routing::MatcherCache& cache,
      uint32_t line_offset = 0, size_t index_base = 0);
  Obj(Obj&&) = default;
  Obj& operator=(Obj&&) = delete;

  Where where() const;
  // Where without the key path (cheap; for IR the compiler re-paths).
  Where position() const { return Locate(table_, std::string()); }
  // Where `node` (a node of this file's tree) is, with the given key path.
  Where Locate(const toml::node& node, std::string path) const;
  std::string path() const;
  // Where `key` is (its value), or this table when absent.
  Where At(std::string_view key) const;
  std::string PathOf(std::string_view key) const;
  bool Has(std::string_view key) const;
  void Rename(std::string path);  // e.g. after reading `name`
  DiagnosticSink& sink() { return sink_; }
  routing::MatcherCache& cache() { return cache_; }
  uint32_t file() const { return file_; }
  const toml::table& table() const { return table_; }

  // Each getter marks `key` as known. Absent -> nullopt; wrong type -> error
  // and nullopt; `required` reports an absent key.
  std::optional<std::string> Str(std::string_view key, bool required = false);
  std::optional<int64_t> Int(std::string_view key, int64_t min, int64_t max, bool required = false);
  std::optional<bool> Bool(std::string_view key);
  std::optional<double> Number(std::string_view key, double min, double max);
  // Istio duration string ("5s", "250ms"); `min` is inclusive unless zero.
  std::optional<std::chrono::milliseconds> Duration(std::string_view key,
                                                    std::chrono::milliseconds min = {},
                                                    bool allow_zero = true);
  std::optional<Obj> Table(std::string_view key, bool required = false);
  // An array of tables (`[[x]]` or `[{...}]`); non-table elements are errors.
  std::vector<Obj> Tables(std::string_view key, bool required = false);
  // An array of strings; with `where` the place of each element.
  std::vector<std::string> Strings(std::string_view key, std::vector<Where>* where = nullptr);
  // A table of string -> string (labels).
  std::map<std::string, std::string> StringMap(std::string_view key);
  // A table of sub-tables keyed by name (headers = { "x-a" = { exact = "1" } }).
  std::vector<std::pair<std::string, Obj>> TableMap(std::string_view key);

  template <class E>
  std::optional<E> Enum(std::string_view key,
                        std::initializer_list<std::pair<std::string_view, E>> values,
                        bool required = false) {
    const auto text = Str(key, required);
    if (!text) return std::nullopt;
    std::vector<std::string> names;
    for (const auto& [name, value] : values) {
      if (name == *text) return value;
      names.emplace_back(name);
    }
    BadEnum(key, *text, names);
    return std::nullopt;
  }

  // Accepts and ignores a key that Istio has but Gatehouse does not apply.
  void IgnoreWithWarning(std::string_view key, std::string_view why);
  // A key Istio has that Gatehouse does not implement yet: an error if present.
  void Unsupported(std::string_view key, std::string_view why);
  // Marks a key known without reading it (read by some other means). `key`
  // must outlive this Obj (a literal).
  void Known(std::string_view key) { known_.push_back(key); }

  // Reports every key not read as unknown. Call once, after all getters.
  void Finish();

 private:
  const toml::node* Get(std::string_view key, bool required);
  void TypeError(std::string_view key, const toml::node& node, std::string_view expected);
  void BadEnum(std::string_view key, std::string_view value, const std::vector<std::string>& names);

  Obj(const toml::table& table, const Obj* parent, std::string segment);

  const toml::table& table_;
  uint32_t file_;
  uint32_t line_offset_ = 0;
  size_t index_base_ = 0;  // root only
  const Obj* parent_ = nullptr;
  std::string segment_;  // "uri", "servers[0]", "headers.\"x-a\""
  std::string renamed_;  // replaces the whole path when set
  DiagnosticSink& sink_;
  routing::MatcherCache& cache_;
  std::vector<std::string_view> known_;
};

}  // namespace gh::control
