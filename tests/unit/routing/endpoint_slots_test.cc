// Re-resolved endpoints keep their slots (warm pools), gone ones retire in
// place, new ones reuse idle slots or append: indices held by in-flight
// requests never change meaning.
#include "routing/endpoint_slots.h"

#include <gtest/gtest.h>

namespace gh::routing {
namespace {

Endpoint Ep(std::string address, uint16_t port = 80) {
  Endpoint e;
  e.address = std::move(address);
  e.port = port;
  return e;
}

SlotView Slot(std::string address, bool present, bool idle, uint16_t port = 80) {
  return SlotView{std::move(address), port, present, idle};
}

TEST(PlanSlots, FirstAnswerFillsNewSlotsInOrder) {
  const std::vector<Endpoint> next = {Ep("10.0.0.1"), Ep("10.0.0.2")};
  const SlotPlan plan = PlanSlots({}, next);
  EXPECT_EQ(plan.slot_of, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(plan.slot_count, 2u);
  EXPECT_TRUE(plan.retired.empty());
}

TEST(PlanSlots, AddressesThatStayKeepTheirSlotWhateverTheOrder) {
  const std::vector<SlotView> slots = {Slot("10.0.0.1", true, false),
                                       Slot("10.0.0.2", true, false)};
  const std::vector<Endpoint> next = {Ep("10.0.0.2"), Ep("10.0.0.1")};
  const SlotPlan plan = PlanSlots(slots, next);
  EXPECT_EQ(plan.slot_of, (std::vector<size_t>{1, 0}));
  EXPECT_EQ(plan.slot_count, 2u);
  EXPECT_TRUE(plan.retired.empty());
}

TEST(PlanSlots, GoneAddressesRetireInPlaceAndNewOnesAppendWhileTheyAreBusy) {
  const std::vector<SlotView> slots = {Slot("10.0.0.1", true, false),
                                       Slot("10.0.0.2", true, false)};
  const std::vector<Endpoint> next = {Ep("10.0.0.2"), Ep("10.0.0.3")};
  const SlotPlan plan = PlanSlots(slots, next);
  EXPECT_EQ(plan.retired, (std::vector<size_t>{0}));
  // Slot 0 was present until now: not reused in the same update.
  EXPECT_EQ(plan.slot_of, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(plan.slot_count, 3u);
}

TEST(PlanSlots, NewAddressesReuseIdleEmptySlotsOnly) {
  const std::vector<SlotView> slots = {Slot("10.0.0.1", false, false),  // still draining
                                       Slot("10.0.0.2", false, true),   // free
                                       Slot("10.0.0.3", true, true)};
  const std::vector<Endpoint> next = {Ep("10.0.0.3"), Ep("10.0.0.4"), Ep("10.0.0.5")};
  const SlotPlan plan = PlanSlots(slots, next);
  EXPECT_EQ(plan.slot_of, (std::vector<size_t>{2, 1, 3}));
  EXPECT_EQ(plan.slot_count, 4u);
  EXPECT_TRUE(plan.retired.empty());
}

TEST(PlanSlots, ThePortIsPartOfTheAddress) {
  const std::vector<SlotView> slots = {Slot("10.0.0.1", true, true, 80)};
  const std::vector<Endpoint> next = {Ep("10.0.0.1", 8080)};
  const SlotPlan plan = PlanSlots(slots, next);
  EXPECT_EQ(plan.retired, (std::vector<size_t>{0}));
  EXPECT_EQ(plan.slot_of, (std::vector<size_t>{1}));
}

TEST(PlanSlots, EmptyAnswerRetiresEverything) {
  const std::vector<SlotView> slots = {Slot("10.0.0.1", true, true), Slot("10.0.0.2", false, true)};
  const SlotPlan plan = PlanSlots(slots, {});
  EXPECT_EQ(plan.retired, (std::vector<size_t>{0}));
  EXPECT_EQ(plan.slot_count, 2u);
  EXPECT_TRUE(plan.slot_of.empty());
}

}  // namespace
}  // namespace gh::routing
