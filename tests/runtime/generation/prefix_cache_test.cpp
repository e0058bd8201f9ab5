#include "mamba2/prefix_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace mamba2 {
namespace {

// A state of `floats` floats, told apart by its position.
SessionState state_at(int64_t position, size_t floats = 4) {
  return SessionState{std::vector<float>(floats / 2, 1.0f), std::vector<float>(floats / 2, 2.0f),
                      position};
}

TEST(PrefixCache, FindsTheLongestProperPrefix) {
  PrefixCache cache(1 << 20);
  cache.insert(std::vector<int32_t>{1, 2}, state_at(2));
  cache.insert(std::vector<int32_t>{1, 2, 3, 4}, state_at(4));
  cache.insert(std::vector<int32_t>{1, 5, 6}, state_at(3));
  const auto hit = cache.find(std::vector<int32_t>{1, 2, 3, 4, 9});
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->length, 4);
  EXPECT_EQ(hit->state->position, 4);
  // The whole prompt is no hit: its last token must still run to give logits.
  const auto whole = cache.find(std::vector<int32_t>{1, 2, 3, 4});
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->length, 2);
  EXPECT_FALSE(cache.find(std::vector<int32_t>{7, 1, 2}));
  EXPECT_FALSE(cache.find(std::vector<int32_t>{}));
}

TEST(PrefixCache, EvictsTheLeastRecentlyUsedToStayInItsBytes) {
  // Each entry: 2 ids (8 bytes) + 4 floats (16 bytes) = 24 bytes; two fit in 50.
  PrefixCache cache(50);
  cache.insert(std::vector<int32_t>{1, 2}, state_at(1));
  cache.insert(std::vector<int32_t>{3, 4}, state_at(2));
  ASSERT_TRUE(cache.find(std::vector<int32_t>{1, 2, 9}));  // {1, 2} is now the most recent
  cache.insert(std::vector<int32_t>{5, 6}, state_at(3));
  EXPECT_EQ(cache.entries(), 2);
  EXPECT_LE(cache.bytes(), 50);
  EXPECT_TRUE(cache.find(std::vector<int32_t>{1, 2, 9}));
  EXPECT_FALSE(cache.find(std::vector<int32_t>{3, 4, 9}));
  // Visited least recent first: inserting in that order rebuilds the same cache.
  std::vector<int64_t> order;
  cache.visit(
      [&](std::span<const int32_t>, const SessionState& s) { order.push_back(s.position); });
  EXPECT_EQ(order, (std::vector<int64_t>{3, 1}));
  // A state larger than the whole cache is not kept.
  cache.insert(std::vector<int32_t>{7, 8}, state_at(4, 64));
  EXPECT_FALSE(cache.find(std::vector<int32_t>{7, 8, 9}));
}

TEST(PrefixCache, ASharedStateIsKeptItselfNotCopied) {
  PrefixCache cache(1 << 20);
  const auto state = std::make_shared<const SessionState>(state_at(2));
  cache.insert(std::vector<int32_t>{1, 2}, state);
  const auto hit = cache.find(std::vector<int32_t>{1, 2, 3});
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->state, state);  // the same object the caller holds
  // Bounds hold as for a copied state.
  PrefixCache small(50);
  small.insert(std::vector<int32_t>{7, 8}, std::make_shared<const SessionState>(state_at(4, 64)));
  EXPECT_EQ(small.entries(), 0);
}

}  // namespace
}  // namespace mamba2
