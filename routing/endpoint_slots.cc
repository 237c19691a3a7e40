#include "routing/endpoint_slots.h"

#include <map>
#include <utility>

namespace gh::routing {

SlotPlan PlanSlots(std::span<const SlotView> slots, std::span<const Endpoint> next) {
  SlotPlan plan;
  plan.slot_count = slots.size();
  plan.slot_of.assign(next.size(), SIZE_MAX);
  // Present slots by address:port; each can be claimed once.
  std::map<std::pair<std::string, uint16_t>, size_t> present;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].present) present.emplace(std::make_pair(slots[i].address, slots[i].port), i);
  }
  std::vector<bool> kept(slots.size(), false);
  for (size_t e = 0; e < next.size(); ++e) {
    auto it = present.find({next[e].address, next[e].port});
    if (it == present.end()) continue;
    plan.slot_of[e] = it->second;
    kept[it->second] = true;
    present.erase(it);
  }
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].present && !kept[i]) plan.retired.push_back(i);
  }
  // New addresses: the first idle empty slot (lowest index keeps the list
  // short), else a new slot. Slots retired just now still have pools to wind
  // down, so they are not reused in the same update.
  size_t free = 0;
  for (size_t e = 0; e < next.size(); ++e) {
    if (plan.slot_of[e] != SIZE_MAX) continue;
    while (free < slots.size() && (slots[free].present || !slots[free].idle))
      ++free;
    plan.slot_of[e] = free < slots.size() ? free++ : plan.slot_count++;
  }
  return plan;
}

}  // namespace gh::routing
