// A downstream connection's protocol handler as its worker sees it: the
// HTTP/1.1 codec, the HTTP/2 session, or the sniffer that picks one of them.
// The worker owns sessions, drains them, and frees them once they report
// OnDownstreamClosed.
#pragma once

#include <cstdint>

#include "gateway/deferred_deletable.h"
#include "gateway/downstream_info.h"

namespace gh::gateway {

enum class DownstreamProtocol : uint8_t { kHttp1, kHttp2 };

class DownstreamSession : public DeferredDeletable {
 public:
  // Graceful drain: finish what is in flight, accept no new requests, close.
  virtual void Drain() = 0;
  // Who the connection is with and which listener accepted it.
  virtual const DownstreamInfo& info() const = 0;
};

}  // namespace gh::gateway
