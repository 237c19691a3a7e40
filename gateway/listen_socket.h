// Listening sockets, opened by Gatehouse itself (libuv 1.44 has no
// reuse-port flag): one SO_REUSEPORT socket per worker per listener, so the
// kernel spreads connections and each worker accepts on its own fd.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace gh::gateway {

struct ListenSockets {
  std::vector<int> fds;  // one per worker
  uint16_t port = 0;     // the bound port (resolved when 0 was asked)
};

// Binds `count` reuse-port sockets to bind:port. Port 0 picks a free port for
// the first socket and binds the others to the same one.
Result<ListenSockets> OpenListenSockets(const std::string& bind, uint16_t port, uint32_t count);
void CloseAll(ListenSockets& sockets);

}  // namespace gh::gateway
