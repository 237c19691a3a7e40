// /reload: compile and publish the config, or with ?dry_run=1 only list what
// would change.
#include "admin/api_internal.h"

namespace gh::admin::api_internal {
namespace {

bool Truthy(const std::string* value) {
  return value != nullptr &&
         (value->empty() || *value == "1" || *value == "true" || *value == "yes");
}

}  // namespace

void HandleReload(Backend& backend, const Request& request, Reply reply) {
  if (Truthy(request.Param("dry_run"))) {
    Result<std::vector<control::ConfigChange>> changes = backend.DryRun();
    if (!changes.ok()) {
      reply(Response::Text(
          400, "invalid config; nothing would change:\n" + changes.error().message + "\n"));
      return;
    }
    std::string body;
    for (const control::ConfigChange& c : *changes)
      body += c.ToString() + "\n";
    body += std::to_string(changes->size()) + (changes->size() == 1 ? " change" : " changes") +
            " (dry run: nothing applied)\n";
    reply(Response::Text(200, std::move(body)));
    return;
  }
  if (backend.Info().state == "DRAINING" || backend.Info().state == "STOPPED") {
    reply(Response::Text(503, "draining: reload refused\n"));
    return;
  }
  Result<uint64_t> version = backend.Reload();
  if (!version.ok()) {
    reply(Response::Text(400, "reload rejected; still running version " +
                                  std::to_string(backend.Info().desired_version) + ":\n" +
                                  version.error().message + "\n"));
    return;
  }
  reply(Response::Text(200, "published config version " + std::to_string(*version) + "\n"));
}

}  // namespace gh::admin::api_internal
