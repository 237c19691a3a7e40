// A header name or value as llhttp hands it over: nearly always in one piece
// inside the buffer being parsed, so it is kept as a view into that buffer
// and copied only when it arrives split across reads. Saves a copy of every
// header name and value on the request path.
#pragma once

#include <string>
#include <string_view>

namespace gh::gateway {

class ParsedToken {
 public:
  void Append(std::string_view piece) {
    if (view_.empty() && owned_.empty()) {
      view_ = piece;
      return;
    }
    Persist();
    owned_.append(piece);
  }
  std::string_view get() const { return view_.empty() ? std::string_view(owned_) : view_; }
  // Before the parsed buffer goes away: copy a token still being received.
  void Persist() {
    if (view_.empty()) return;
    owned_.assign(view_);
    view_ = {};
  }
  void clear() {
    view_ = {};
    owned_.clear();
  }

 private:
  std::string_view view_;  // into the buffer being parsed
  std::string owned_;      // a token split across buffers
};

}  // namespace gh::gateway
