#include "portmatrix/classifier.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "support/testing.hpp"

using namespace portmatrix;

namespace {

// The answer every variant must give: the first rule that matches, in order.
template <class Addr>
std::int32_t reference(const std::vector<BasicClassRule<Addr>>& rules, const BasicClassKey<Addr>& k) {
  for (const auto& r : rules)
    if (rule_matches(r, k)) return r.id;
  return -1;
}

// Random rule lists with many overlaps and every kind of boundary: addresses
// come from a few clusters, prefixes range over /0../32 (including /0 and /32),
// ports are full, single, ranges or touch 0 and 65535.
class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {
    for (int i = 0; i < 4; ++i) clusters_.push_back(static_cast<std::uint32_t>(rng_()));
  }

  std::uint32_t pick(std::uint32_t n) { return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < static_cast<std::uint32_t>(percent); }

  std::uint32_t address() {
    if (chance(10)) return chance(50) ? 0u : 0xffffffffu;
    const std::uint32_t base = clusters_[pick(static_cast<std::uint32_t>(clusters_.size()))];
    const int spread = static_cast<int>(pick(33));  // how many low bits vary
    const std::uint32_t noise = spread == 32 ? static_cast<std::uint32_t>(rng_()) : static_cast<std::uint32_t>(rng_()) & ((1u << spread) - 1);
    return base ^ noise;
  }
  void prefix(std::uint32_t& lo, std::uint32_t& hi) {
    const int choice = static_cast<int>(pick(10));
    const int len = choice == 0 ? 0 : choice == 1 ? 32 : static_cast<int>(pick(33));
    const std::uint32_t host = len == 0 ? 0xffffffffu : len == 32 ? 0u : (1u << (32 - len)) - 1;
    lo = address() & ~host;
    hi = lo | host;
  }
  void ports(std::uint16_t& lo, std::uint16_t& hi) {
    switch (pick(6)) {
      case 0: lo = 0, hi = 65535; break;
      case 1: lo = hi = static_cast<std::uint16_t>(port()); break;
      case 2: lo = 0, hi = static_cast<std::uint16_t>(port()); break;
      case 3: lo = static_cast<std::uint16_t>(port()), hi = 65535; break;
      default: {
        std::uint16_t a = static_cast<std::uint16_t>(port()), b = static_cast<std::uint16_t>(port());
        lo = std::min(a, b), hi = std::max(a, b);
      }
    }
  }
  std::uint32_t port() {
    static constexpr std::uint32_t kCommon[] = {0, 1, 22, 53, 80, 443, 1023, 1024, 49152, 65534, 65535};
    return chance(50) ? kCommon[pick(std::size(kCommon))] : pick(65536);
  }

  ClassRule rule(std::int32_t id, bool tags) {
    ClassRule r;
    prefix(r.src_lo, r.src_hi);
    prefix(r.dst_lo, r.dst_hi);
    ports(r.sport_lo, r.sport_hi);
    ports(r.dport_lo, r.dport_hi);
    static constexpr std::uint8_t kProto[] = {6, 17, 1, 58, 0, 255};
    r.proto = kProto[pick(std::size(kProto))];
    const std::uint32_t m = pick(10);
    r.proto_mask = m < 3 ? 0 : m < 9 ? 0xff : static_cast<std::uint8_t>(rng_());  // odd masks now and then
    if (tags) {
      r.direction = chance(40) ? kAnyTag : pick(2);
      r.iface = chance(50) ? kAnyTag : pick(4);
    }
    if (chance(2)) std::swap(r.sport_lo, r.sport_hi);  // an empty range: matches nothing
    r.id = id;
    return r;
  }

  // A key near a rule's corners (just inside and just outside) or anywhere.
  ClassKey key(const std::vector<ClassRule>& rules, bool tags) {
    ClassKey k;
    k.src = address(), k.dst = address();
    k.sport = static_cast<std::uint16_t>(port()), k.dport = static_cast<std::uint16_t>(port());
    static constexpr std::uint8_t kProto[] = {6, 17, 1, 58, 0, 255, 47};
    k.proto = kProto[pick(std::size(kProto))];
    if (tags) k.direction = static_cast<std::uint8_t>(pick(2)), k.iface = pick(5);
    if (!rules.empty() && chance(80)) {
      const ClassRule& r = rules[pick(static_cast<std::uint32_t>(rules.size()))];
      k.src = near(r.src_lo, r.src_hi);
      k.dst = near(r.dst_lo, r.dst_hi);
      k.sport = static_cast<std::uint16_t>(near(r.sport_lo, r.sport_hi) & 0xffff);
      k.dport = static_cast<std::uint16_t>(near(r.dport_lo, r.dport_hi) & 0xffff);
      if (chance(70)) k.proto = r.proto;
    }
    return k;
  }
  std::uint32_t near(std::uint32_t lo, std::uint32_t hi) {
    if (lo > hi) std::swap(lo, hi);  // an empty range's bounds are still good places to look
    switch (pick(6)) {
      case 0: return lo;
      case 1: return hi;
      case 2: return lo - 1;
      case 3: return hi + 1;
      default: return lo + static_cast<std::uint32_t>((std::uint64_t(rng_()) % (std::uint64_t(hi) - lo + 1)));
    }
  }

 private:
  std::mt19937_64 rng_;
  std::vector<std::uint32_t> clusters_;
};

std::string variant_name(const ::testing::TestParamInfo<const ClassifierVariant*>& info) {
  std::string n(info.param->name);
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
}

class EveryVariant : public ::testing::TestWithParam<const ClassifierVariant*> {
 protected:
  void SetUp() override {
    // A variant this CPU cannot run is skipped (not a failure: the table's
    // capability check is what keeps it from being chosen).
    if (!GetParam()->available()) GTEST_SKIP() << GetParam()->name << " needs instructions this CPU lacks";
  }
};

std::vector<const ClassifierVariant*> all_variants() {
  std::vector<const ClassifierVariant*> v;
  for (const auto& x : classifier_variants()) v.push_back(&x);
  return v;
}

// Classifies keys one by one and as a batch (whose length is not a multiple
// of any batch size) and checks both against the reference.
void expect_same(const Classifier& c, const std::vector<ClassRule>& rules, const std::vector<ClassKey>& keys,
                 const std::string& what) {
  std::vector<std::int32_t> batch(keys.size(), -2);
  c.classify(keys, batch);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::int32_t want = reference(rules, keys[i]);
    ASSERT_EQ(c.classify(keys[i]), want) << what << ", key " << i;
    ASSERT_EQ(batch[i], want) << what << ", key " << i << " (batch)";
  }
}

}  // namespace

TEST_P(EveryVariant, AgreesWithLinearScanOnRandomRuleSets) {
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    Generator g(seed);
    const bool tags = seed % 3 == 0;
    // Mostly small lists (many shapes), sometimes big ones (deep trees).
    const std::uint32_t n = seed % 100 == 0 ? 1000 : g.pick(seed % 5 == 0 ? 300 : 40);
    std::vector<ClassRule> rules;
    for (std::uint32_t i = 0; i < n; ++i) rules.push_back(g.rule(static_cast<std::int32_t>(i), tags));
    std::vector<ClassKey> keys;
    for (int i = 0; i < 67; ++i) keys.push_back(g.key(rules, tags));
    auto c = build_classifier(rules, GetParam());
    ASSERT_EQ(c->variant(), GetParam()->name);
    expect_same(*c, rules, keys, "seed " + std::to_string(seed));
  }
}

TEST_P(EveryVariant, StaysCorrectWhenTheMemoryBoundBinds) {
  Generator g(77);
  std::vector<ClassRule> rules;
  for (int i = 0; i < 2000; ++i) rules.push_back(g.rule(i, false));
  std::vector<ClassKey> keys;
  for (int i = 0; i < 3000; ++i) keys.push_back(g.key(rules, false));
  ClassifierOptions small;
  small.max_memory_bytes = 64 * 1024;
  auto bounded = build_classifier(rules, GetParam(), small);
  expect_same(*bounded, rules, keys, "64 KiB bound");
  if (GetParam()->name != "linear") {
    EXPECT_LE(bounded->memory_bytes(), small.max_memory_bytes + 2000 * 64) << "bound plus one leaf of every rule";
    EXPECT_LT(bounded->memory_bytes(), build_classifier(rules, GetParam())->memory_bytes());
  }
}

TEST_P(EveryVariant, EmptyRuleListMatchesNothing) {
  auto c = build_classifier({}, GetParam());
  ClassKey k;
  EXPECT_EQ(c->classify(k), -1);
  std::vector<ClassKey> keys(40, k);
  std::vector<std::int32_t> out(40, 0);
  c->classify(keys, out);
  for (auto v : out) EXPECT_EQ(v, -1);
}

TEST_P(EveryVariant, FirstMatchWinsAndIdsAreReturned) {
  ClassRule narrow;  // 10.0.0.0/8 -> 192.0.2.1 tcp/22
  narrow.src_lo = 0x0a000000, narrow.src_hi = 0x0affffff;
  narrow.dst_lo = narrow.dst_hi = 0xc0000201;
  narrow.dport_lo = narrow.dport_hi = 22;
  narrow.proto = 6, narrow.proto_mask = 0xff;
  narrow.id = 70;
  ClassRule any;
  any.id = 71;
  auto c = build_classifier(std::vector<ClassRule>{narrow, any}, GetParam());
  ClassKey k;
  k.src = 0x0a010203, k.dst = 0xc0000201, k.dport = 22, k.proto = 6;
  EXPECT_EQ(c->classify(k), 70);
  k.dport = 23;
  EXPECT_EQ(c->classify(k), 71);
  auto reversed = build_classifier(std::vector<ClassRule>{any, narrow}, GetParam());
  k.dport = 22;
  EXPECT_EQ(reversed->classify(k), 71);
}

INSTANTIATE_TEST_SUITE_P(Classifier, EveryVariant, ::testing::ValuesIn(all_variants()), variant_name);

TEST(ClassifierTable, ReferenceFirstAndDefaultAvailable) {
  auto v = classifier_variants();
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v.front().name, "linear");
  EXPECT_TRUE(default_classifier_variant().available());
  EXPECT_EQ(find_classifier_variant("linear"), &v.front());
  EXPECT_EQ(find_classifier_variant("no-such-variant"), nullptr);
}

TEST(Classifier6, AgreesWithLinearScan) {
  std::mt19937_64 rng(6);
  auto addr = [&](u128 cluster) {
    const int spread = static_cast<int>(rng() % 129);
    const u128 noise = (u128(rng()) << 64) | rng();
    return spread == 128 ? noise : cluster ^ (noise & ((u128(1) << spread) - 1));
  };
  for (int round = 0; round < 300; ++round) {
    const u128 c1 = (u128(rng()) << 64) | rng(), c2 = (u128(rng()) << 64) | rng();
    std::vector<ClassRule6> rules;
    const int n = static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      ClassRule6 r;
      const int sl = static_cast<int>(rng() % 129), dl = static_cast<int>(rng() % 129);
      const u128 sh = sl == 0 ? ~u128(0) : sl == 128 ? 0 : (u128(1) << (128 - sl)) - 1;
      const u128 dh = dl == 0 ? ~u128(0) : dl == 128 ? 0 : (u128(1) << (128 - dl)) - 1;
      r.src_lo = addr(rng() % 2 ? c1 : c2) & ~sh, r.src_hi = r.src_lo | sh;
      r.dst_lo = addr(rng() % 2 ? c1 : c2) & ~dh, r.dst_hi = r.dst_lo | dh;
      r.dport_lo = r.dport_hi = static_cast<std::uint16_t>(rng() % 4);
      if (rng() % 3 == 0) r.dport_lo = 0, r.dport_hi = 65535;
      r.id = i;
      rules.push_back(r);
    }
    for (const ClassifierVariant& v : classifier_variants()) {
      if (!v.available()) continue;
      Classifier6 c(rules, &v);
      for (int q = 0; q < 100; ++q) {
        ClassKey6 k;
        if (!rules.empty() && rng() % 4) {
          const auto& r = rules[rng() % rules.size()];
          const int corner = static_cast<int>(rng() % 4);
          k.src = corner == 0 ? r.src_lo : corner == 1 ? r.src_hi : corner == 2 ? r.src_lo - 1 : r.src_hi + 1;
          k.dst = rng() % 2 ? r.dst_lo : r.dst_hi;
        } else {
          k.src = addr(c1), k.dst = addr(c2);
        }
        k.dport = static_cast<std::uint16_t>(rng() % 4);
        ASSERT_EQ(c.classify(k), reference(rules, k)) << v.name << " round " << round << " key " << q;
      }
    }
  }
}
