// Splits a large TOML file into independently parseable pieces at top-level
// `[[kind]]` headers, so the compiler can parse, decode and free one small
// toml++ tree at a time instead of holding the whole file's tree (about 13x
// the text) next to the decoded resources. Internal to control/; pure.
//
// A split is only offered when it cannot change the result: the head (text
// before the first split header) holds every root key / [table]; each piece
// starts with `[[kind]]` and holds only headers under that same kind, so its
// tree is exactly those array elements. Anything else (a header under another
// key after the first split point, a quoted first key, unbalanced brackets)
// returns nullopt and the caller parses the file whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace gh::control {

struct TomlPiece {
  std::string_view text;     // starts at a line start with `[[kind]]`
  std::string_view kind;     // the top-level array of tables it appends to
  uint32_t line_offset = 0;  // lines of the file before `text`
  size_t index_base = 0;     // elements of `kind` in earlier pieces
};

struct TomlSplit {
  std::string_view head;          // from the start of the file; may be empty
  std::vector<TomlPiece> pieces;  // in file order; each kind's pieces in order
};

// `kinds`: the array-of-tables keys that may start a piece. Consecutive
// elements of one kind are grouped into pieces of about `piece_bytes`.
std::optional<TomlSplit> SplitToml(std::string_view text, size_t piece_bytes,
                                   const std::vector<std::string_view>& kinds);

}  // namespace gh::control
