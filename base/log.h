// Application log: levels per component, changeable at run time (admin).
// Each line is written with a single write(2) so threads never interleave.
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace gh::log {

enum class Level : uint8_t { kTrace, kDebug, kInfo, kWarn, kError, kOff };

enum class Component : uint8_t {
  kMain,
  kConfig,
  kWorker,
  kHttp,
  kUpstream,
  kTls,
  kAdmin,
  kControl,
  kCount,
};

std::string_view Name(Level level);
std::string_view Name(Component component);
std::optional<Level> ParseLevel(std::string_view text);
std::optional<Component> ParseComponent(std::string_view text);

// Reads are relaxed atomic loads: cheap enough for a disabled debug line.
bool Enabled(Component component, Level level);
void SetLevel(Component component, Level level);
void SetAllLevels(Level level);
Level GetLevel(Component component);

void Write(Component component, Level level, std::string_view message);

}  // namespace gh::log

#define GH_LOG(component, level, expr)                                                  \
  do {                                                                                  \
    if (::gh::log::Enabled(::gh::log::Component::component, ::gh::log::Level::level)) { \
      std::ostringstream gh_log_os_;                                                    \
      gh_log_os_ << expr;                                                               \
      ::gh::log::Write(::gh::log::Component::component, ::gh::log::Level::level,        \
                       gh_log_os_.str());                                               \
    }                                                                                   \
  } while (0)
