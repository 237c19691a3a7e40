#include "control/config_watcher.h"

#include <filesystem>

#include "base/log.h"

namespace gh::control {

ConfigWatcher::ConfigWatcher(gateway::Dispatcher& dispatcher, std::string path,
                             std::function<void()> changed, uint64_t debounce_ms,
                             uint64_t max_delay_ms)
    : dispatcher_(dispatcher),
      path_(std::move(path)),
      changed_(std::move(changed)),
      debounce_ms_(debounce_ms),
      max_delay_ms_(max_delay_ms),
      timer_(dispatcher.timers(), [this] { Fire(); }) {}

ConfigWatcher::~ConfigWatcher() {
  Close();
}

Status ConfigWatcher::Start() {
  namespace fs = std::filesystem;
  std::error_code ec;
  is_directory_ = fs::is_directory(path_, ec);
  std::string dir = path_;
  if (!is_directory_) {
    dir = fs::path(path_).parent_path().string();
    if (dir.empty()) dir = ".";
  }
  handle_ = new uv_fs_event_t;
  uv_fs_event_init(dispatcher_.loop(), handle_);
  handle_->data = this;
  const int rc = uv_fs_event_start(handle_, &ConfigWatcher::OnEvent, dir.c_str(), 0);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(handle_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_fs_event_t*>(h); });
    handle_ = nullptr;
    return MakeError("cannot watch " + dir + ": " + uv_strerror(rc));
  }
  GH_LOG(kConfig, kDebug, "watching " << dir << " for config changes");
  return Status::Ok();
}

void ConfigWatcher::Close() {
  timer_.Cancel();
  if (handle_ == nullptr) return;
  uv_fs_event_stop(handle_);
  uv_close(reinterpret_cast<uv_handle_t*>(handle_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_fs_event_t*>(h); });
  handle_ = nullptr;
}

bool ConfigWatcher::Relevant(const std::string& config_path, bool is_directory,
                             const char* filename) {
  if (filename == nullptr) return true;  // the platform did not say: assume so
  const std::string_view name(filename);
  if (name.starts_with("..")) return true;  // Kubernetes ConfigMap swap
  if (is_directory) return name.ends_with(".toml");
  return name == std::filesystem::path(config_path).filename().string();
}

void ConfigWatcher::OnEvent(uv_fs_event_t* handle, const char* filename, int, int status) {
  auto* self = static_cast<ConfigWatcher*>(handle->data);
  if (status < 0) {
    GH_LOG(kConfig, kWarn, "config watch error: " << uv_strerror(status));
    return;
  }
  if (!Relevant(self->path_, self->is_directory_, filename)) return;
  const uint64_t now = self->dispatcher_.Now();
  if (!self->timer_.armed()) self->first_event_ms_ = now;
  // Debounce, but never wait longer than max_delay_ms after the first event.
  const uint64_t deadline =
      std::min(now + self->debounce_ms_, self->first_event_ms_ + self->max_delay_ms_);
  self->timer_.Arm(deadline > now ? deadline - now : 0);
}

void ConfigWatcher::Fire() {
  if (changed_) changed_();
}

}  // namespace gh::control
