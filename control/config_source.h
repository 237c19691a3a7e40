// Reads `-c PATH`: one TOML file, or a directory whose *.toml files merge in
// name order. The only file I/O of the config half of control/.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "control/compile.h"

namespace gh::control {

Result<std::vector<SourceFile>> ReadConfigSource(const std::string& path);

}  // namespace gh::control
