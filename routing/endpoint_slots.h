// Where the endpoints of a re-resolved cluster live in a worker's per-endpoint
// state. In-flight requests hold endpoint indices, so an index never changes
// meaning while used: an address that stays keeps its slot (and its warm
// connection pools), one that disappears is retired in place, and a new one
// takes a slot nothing uses any more or a new one at the end. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "routing/model.h"

namespace gh::routing {

// One existing slot, as the planner needs to see it.
struct SlotView {
  std::string address;  // IP literal
  uint16_t port = 0;
  bool present = false;  // holds an endpoint of the current list
  bool idle = false;     // no request or connection uses it: reusable
};

struct SlotPlan {
  std::vector<size_t> slot_of;  // per endpoint of the new list: its slot
  size_t slot_count = 0;        // slots after the update (>= the old count)
  std::vector<size_t> retired;  // slots present before and not any more
};

SlotPlan PlanSlots(std::span<const SlotView> slots, std::span<const Endpoint> next);

}  // namespace gh::routing
