// The `check` and `explain` subcommands, for gateway/main.cc to call. argv[0]
// is the subcommand itself, so main can pass (argc - 1, argv + 1). Output goes
// to `out`, diagnostics and usage errors to `err`. Exit codes: 0 ok, 1 the
// configuration has errors, 2 usage error.
#pragma once

#include <ostream>

namespace gh::control {

// gatehouse check [-c PATH]                 (no -c: the built-in default config)
// gatehouse check --diff OLD NEW
int RunCheck(int argc, char** argv, std::ostream& out, std::ostream& err);

// gatehouse explain [-c PATH] --request 'METHOD URL' [-H 'name: value']...
//                   [--sni NAME] [--source-ip IP] [--port N] [--json]
int RunExplain(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace gh::control
