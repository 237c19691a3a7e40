// /logging: changing and listing the application log levels at runtime.
#include "admin/api.h"
#include "base/log.h"
#include "base/strings.h"

namespace gh::admin {

std::string ApplyLogging(const Request& request) {
  // Validate everything first: a request with one bad item changes nothing.
  std::string errors;
  std::vector<std::pair<std::optional<log::Component>, log::Level>> changes;  // nullopt: all
  auto add = [&](std::optional<std::string_view> component, std::string_view level) {
    std::optional<log::Component> c;
    if (component.has_value()) {
      c = log::ParseComponent(*component);
      if (!c) errors += "unknown component '" + std::string(*component) + "'\n";
    }
    const std::optional<log::Level> l = log::ParseLevel(level);
    if (!l) errors += "unknown level '" + std::string(level) + "'\n";
    if (l && (c || !component.has_value())) changes.emplace_back(c, *l);
  };
  for (const auto& [key, value] : request.query) {
    if (key == "level") {
      add(std::nullopt, value);
    } else if (key == "paths") {
      for (std::string_view item : SplitList(value)) {
        const size_t colon = item.find(':');
        if (colon == std::string_view::npos) {
          errors += "bad paths item '" + std::string(item) + "': use component:level\n";
          continue;
        }
        add(TrimOws(item.substr(0, colon)), TrimOws(item.substr(colon + 1)));
      }
    } else {
      add(std::string_view(key), value);
    }
  }
  if (!errors.empty()) {
    errors.pop_back();
    return errors;
  }
  for (const auto& [component, level] : changes) {
    if (component.has_value()) {
      log::SetLevel(*component, level);
    } else {
      log::SetAllLevels(level);
    }
  }
  return "";
}

std::string DescribeLogLevels() {
  std::string out = "active loggers:\n";
  for (size_t i = 0; i < static_cast<size_t>(log::Component::kCount); ++i) {
    const auto c = static_cast<log::Component>(i);
    out +=
        "  " + std::string(log::Name(c)) + ": " + std::string(log::Name(log::GetLevel(c))) + "\n";
  }
  return out;
}

}  // namespace gh::admin
