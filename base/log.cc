#include "base/log.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace gh::log {
namespace {

constexpr std::array<std::string_view, 6> kLevelNames = {"trace",   "debug", "info",
                                                         "warning", "error", "off"};
constexpr std::array<std::string_view, static_cast<size_t>(Component::kCount)> kComponentNames = {
    "main", "config", "worker", "http", "upstream", "tls", "admin", "control"};

struct LevelTable {
  LevelTable() {
    for (auto& l : levels)
      l.store(Level::kInfo);
  }
  std::array<std::atomic<Level>, static_cast<size_t>(Component::kCount)> levels;
};

std::array<std::atomic<Level>, static_cast<size_t>(Component::kCount)>& Levels() {
  static LevelTable table;
  return table.levels;
}

}  // namespace

std::string_view Name(Level level) {
  return kLevelNames[static_cast<size_t>(level)];
}
std::string_view Name(Component component) {
  return kComponentNames[static_cast<size_t>(component)];
}

std::optional<Level> ParseLevel(std::string_view text) {
  if (text == "warn") return Level::kWarn;
  for (size_t i = 0; i < kLevelNames.size(); ++i) {
    if (kLevelNames[i] == text) return static_cast<Level>(i);
  }
  return std::nullopt;
}

std::optional<Component> ParseComponent(std::string_view text) {
  for (size_t i = 0; i < kComponentNames.size(); ++i) {
    if (kComponentNames[i] == text) return static_cast<Component>(i);
  }
  return std::nullopt;
}

bool Enabled(Component component, Level level) {
  return level >= Levels()[static_cast<size_t>(component)].load(std::memory_order_relaxed);
}

void SetLevel(Component component, Level level) {
  Levels()[static_cast<size_t>(component)].store(level, std::memory_order_relaxed);
}

void SetAllLevels(Level level) {
  for (auto& l : Levels())
    l.store(level, std::memory_order_relaxed);
}

Level GetLevel(Component component) {
  return Levels()[static_cast<size_t>(component)].load(std::memory_order_relaxed);
}

void Write(Component component, Level level, std::string_view message) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t secs = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[80];  // wide enough for any int fields: -Werror=format-truncation
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  std::string line;
  line.reserve(message.size() + 64);
  line.append(stamp).append(" [").append(Name(level)).append("] ");
  line.append(Name(component)).append(": ").append(message).push_back('\n');
  // stderr: the access log owns stdout.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace gh::log
