#include "tls/sni_selector.h"

namespace gh::tls {
namespace {

constexpr size_t kMaxName = 253;

bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::optional<std::string> SniSelector::Normalize(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxName) return std::nullopt;
  std::string out;
  out.reserve(name.size());
  bool label_start = true;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c == '.') {
      if (label_start) return std::nullopt;  // empty label
      label_start = true;
    } else if (IsLabelChar(c)) {
      label_start = false;
    } else {
      return std::nullopt;
    }
    out.push_back(c);
  }
  if (label_start) return std::nullopt;  // "a..", "a." already stripped once
  return out;
}

Status SniSelector::Add(std::string_view name, uint32_t index) {
  auto duplicate = [&](std::string_view what, uint32_t other) {
    return MakeError("server name \"" + std::string(what) + "\" is already served by server #" +
                     std::to_string(other));
  };
  if (name == "*") {
    if (catch_all_) return duplicate(name, *catch_all_);
    catch_all_ = index;
    return Status::Ok();
  }
  if (name.size() > 2 && name.substr(0, 2) == "*.") {
    auto suffix = Normalize(name.substr(2));
    if (!suffix) return MakeError("invalid wildcard server name \"" + std::string(name) + "\"");
    std::string key = "." + *suffix;
    auto [it, inserted] = wildcard_.emplace(std::move(key), index);
    if (!inserted) return duplicate(name, it->second);
    return Status::Ok();
  }
  auto exact = Normalize(name);
  if (!exact)
    return MakeError("invalid server name \"" + std::string(name) +
                     "\" (a wildcard may only be the whole leftmost label)");
  auto [it, inserted] = exact_.emplace(std::move(*exact), index);
  if (!inserted) return duplicate(name, it->second);
  return Status::Ok();
}

std::optional<uint32_t> SniSelector::Select(std::string_view sni) const {
  if (auto owner = Owner(sni)) return owner;
  return default_;
}

std::optional<uint32_t> SniSelector::Owner(std::string_view sni) const {
  if (sni.empty()) return catch_all_;
  auto name = Normalize(sni);
  if (!name) return catch_all_;
  if (auto it = exact_.find(*name); it != exact_.end()) return it->second;
  if (!wildcard_.empty()) {
    // Longest suffix first: ".b.example.com", ".example.com", ".com".
    std::string_view n = *name;
    for (size_t dot = n.find('.'); dot != std::string_view::npos; dot = n.find('.', dot + 1)) {
      if (auto it = wildcard_.find(n.substr(dot)); it != wildcard_.end()) return it->second;
    }
  }
  return catch_all_;
}

}  // namespace gh::tls
