// `gatehouse check --diff OLD NEW`: what a config change adds, removes and
// changes, by host (virtual host per listener), route and cluster. Pure.
#pragma once

#include <string>
#include <vector>

#include "routing/model.h"

namespace gh::control {

struct ConfigChange {
  enum class Kind : char { kAdded = '+', kRemoved = '-', kChanged = '~' };
  Kind kind = Kind::kAdded;
  std::string what;  // "host", "route", "cluster", "listener"
  std::string key;   // e.g. "0.0.0.0_80 shop.example.com"
  std::string detail;
  std::string ToString() const;
};

std::vector<ConfigChange> DiffConfigs(const routing::Config& before, const routing::Config& after);

}  // namespace gh::control
