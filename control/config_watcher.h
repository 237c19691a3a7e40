// Watches the config path (`[proxy] watch_config = true`) on the main loop:
// uv_fs_event on the directory that holds the config (the file's parent, or
// the config directory itself), so editors that write a temp file and
// rename it, and Kubernetes ConfigMap symlink swaps ("..data"), are seen.
// Events are debounced: `changed` runs once the path has been quiet for
// `debounce_ms` (or `max_delay_ms` after the first event, under a constant
// stream of writes). Deciding whether to reload is the caller's business.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"
#include "gateway/dispatcher.h"
#include "gateway/timer_queue.h"

namespace gh::control {

class ConfigWatcher {
 public:
  ConfigWatcher(gateway::Dispatcher& dispatcher, std::string path, std::function<void()> changed,
                uint64_t debounce_ms = 250, uint64_t max_delay_ms = 2000);
  ~ConfigWatcher();
  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;

  Status Start();
  // Stops watching (before the loop ends).
  void Close();
  // Whether an event named `filename` concerns the config (pure; tested).
  static bool Relevant(const std::string& config_path, bool is_directory, const char* filename);

 private:
  static void OnEvent(uv_fs_event_t* handle, const char* filename, int events, int status);
  void Fire();

  gateway::Dispatcher& dispatcher_;
  std::string path_;
  bool is_directory_ = false;
  std::function<void()> changed_;
  uint64_t debounce_ms_;
  uint64_t max_delay_ms_;
  uint64_t first_event_ms_ = 0;
  uv_fs_event_t* handle_ = nullptr;
  gateway::Timer timer_;
};

}  // namespace gh::control
