#include "engine/huge_pages.hpp"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

using portmatrix::HugePageAllocator;

TEST(HugePageAllocator, LargeBlocksAreAlignedToHugePages) {
  constexpr std::size_t kHuge = HugePageAllocator<int>::kHuge;
  std::vector<std::uint64_t, HugePageAllocator<std::uint64_t>> v(3 * kHuge / sizeof(std::uint64_t) + 5, 7);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % kHuge, 0u);
  EXPECT_EQ(v.back(), 7u);
  v.assign(10, 1);  // shrinks in place
  EXPECT_EQ(v.size(), 10u);
}

TEST(HugePageAllocator, SmallBlocksKeepTheTypesAlignment) {
  struct alignas(64) Line {
    char bytes[64];
  };
  std::vector<Line, HugePageAllocator<Line>> v(3);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % 64, 0u);
  v.resize(100000);  // crosses into the huge-page path and back out when freed
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % HugePageAllocator<Line>::kHuge, 0u);
}
