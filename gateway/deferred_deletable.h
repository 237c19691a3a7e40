// Objects freed by the dispatcher after the current callback chain unwinds.
#pragma once

namespace gh::gateway {

class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

}  // namespace gh::gateway
