// The configuration Gatehouse runs with when started without -c: a quick
// start that explains itself. Embedded TOML; it passes validation (tested).
#pragma once

#include <string_view>

#include "control/compile.h"

namespace gh::control {

std::string_view DefaultConfigToml();
SourceFile DefaultConfigSource();  // name "<default config>"

}  // namespace gh::control
