// Classifier benchmark on the ClassBench rule sets: every portmatrix variant,
// the linear scan and DPDK's rte_acl (every algorithm this CPU runs) in the
// same run, after checking that all of them give the linear scan's answer for
// every header of the trace. Reports lookups per second on one core, build
// time and memory, then a summary with the ratios.
//
//   bench_classifier [--sets=acl1_10k,fw1_10k] [google-benchmark flags]
//   PM_CLASSBENCH=DIR  where the rule sets are (default: ../shared/classbench)
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <benchmark/benchmark.h>

#include "portmatrix/classbench.hpp"
#include "portmatrix/classifier.hpp"
#include "portmatrix/fileio.hpp"

#if PM_HAVE_RTE_ACL
#include <rte_acl.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#endif

using namespace portmatrix;

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// One lookup engine under test: build stats and a batch classify.
struct Engine {
  std::string name;
  double build_ms = 0;
  std::size_t memory = 0;
  std::function<void(std::vector<std::int32_t>&)> run;  // classifies the whole trace
};

#if PM_HAVE_RTE_ACL
// rte_acl over the 5-tuple, laid out as DPDK's examples do: the protocol byte
// first (the first field must be one byte), then addresses, then both ports in
// one 4-byte input word. Input is in network byte order, rules in host order.
struct AclInput {
  std::uint8_t proto;
  std::uint8_t pad[3];
  std::uint32_t src, dst;
  std::uint16_t sport, dport;
};
RTE_ACL_RULE_DEF(AclRule, 5);

class RteAcl {
 public:
  RteAcl(const std::vector<ClassRule>& rules, const std::string& name) {
    rte_malloc_socket_stats before{}, after{};
    rte_malloc_get_socket_stats(0, &before);
    const auto t0 = Clock::now();
    rte_acl_param param{};
    param.name = name.c_str();
    param.socket_id = 0;
    param.rule_size = RTE_ACL_RULE_SZ(5);
    param.max_rule_num = static_cast<std::uint32_t>(rules.size());
    ctx_ = rte_acl_create(&param);
    if (!ctx_) fail("rte_acl_create");
    std::vector<AclRule> acl(rules.size());
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const ClassRule& r = rules[i];
      AclRule& a = acl[i];
      a.data.category_mask = 1;
      a.data.priority = static_cast<std::int32_t>(rules.size() - i);  // first rule wins
      a.data.userdata = static_cast<std::uint32_t>(i + 1);            // 0 means no match
      a.field[0].value.u8 = r.proto;
      a.field[0].mask_range.u8 = r.proto_mask;
      a.field[1].value.u32 = r.src_lo;
      a.field[1].mask_range.u32 = prefix_len(r.src_lo, r.src_hi);
      a.field[2].value.u32 = r.dst_lo;
      a.field[2].mask_range.u32 = prefix_len(r.dst_lo, r.dst_hi);
      a.field[3].value.u16 = r.sport_lo;
      a.field[3].mask_range.u16 = r.sport_hi;
      a.field[4].value.u16 = r.dport_lo;
      a.field[4].mask_range.u16 = r.dport_hi;
    }
    if (rte_acl_add_rules(ctx_, reinterpret_cast<const rte_acl_rule*>(acl.data()), static_cast<std::uint32_t>(acl.size())))
      fail("rte_acl_add_rules");
    rte_acl_config cfg{};
    cfg.num_categories = 1;
    cfg.num_fields = 5;
    cfg.defs[0] = {RTE_ACL_FIELD_TYPE_BITMASK, 1, 0, 0, offsetof(AclInput, proto)};
    cfg.defs[1] = {RTE_ACL_FIELD_TYPE_MASK, 4, 1, 1, offsetof(AclInput, src)};
    cfg.defs[2] = {RTE_ACL_FIELD_TYPE_MASK, 4, 2, 2, offsetof(AclInput, dst)};
    cfg.defs[3] = {RTE_ACL_FIELD_TYPE_RANGE, 2, 3, 3, offsetof(AclInput, sport)};
    cfg.defs[4] = {RTE_ACL_FIELD_TYPE_RANGE, 2, 4, 3, offsetof(AclInput, dport)};
    cfg.max_size = 0;
    if (int rc = rte_acl_build(ctx_, &cfg)) fail("rte_acl_build", rc);
    build_ms = ms_since(t0);
    rte_malloc_get_socket_stats(0, &after);
    memory = after.heap_allocsz_bytes - before.heap_allocsz_bytes;
  }
  ~RteAcl() { rte_acl_free(ctx_); }
  RteAcl(const RteAcl&) = delete;
  RteAcl& operator=(const RteAcl&) = delete;

  // Network-order inputs for the trace, made once (a real data path reads them from packets).
  void load(const std::vector<ClassKey>& keys) {
    in_.resize(keys.size());
    ptrs_.resize(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      in_[i] = {keys[i].proto, {0, 0, 0}, htonl(keys[i].src), htonl(keys[i].dst), htons(keys[i].sport), htons(keys[i].dport)};
      ptrs_[i] = reinterpret_cast<const std::uint8_t*>(&in_[i]);
    }
    res_.resize(keys.size());
  }
  bool use(enum rte_acl_classify_alg alg) { return rte_acl_set_ctx_classify(ctx_, alg) == 0; }
  void classify(std::vector<std::int32_t>& out) {
    rte_acl_classify(ctx_, ptrs_.data(), res_.data(), static_cast<std::uint32_t>(res_.size()), 1);
    for (std::size_t i = 0; i < res_.size(); ++i) out[i] = static_cast<std::int32_t>(res_[i]) - 1;
  }

  double build_ms = 0;
  std::size_t memory = 0;

 private:
  static std::uint32_t prefix_len(std::uint32_t lo, std::uint32_t hi) {
    return static_cast<std::uint32_t>(32 - std::popcount(lo ^ hi));
  }
  [[noreturn]] static void fail(const char* what, int rc = 0) {
    std::fprintf(stderr, "bench_classifier: %s failed (%d)\n", what, rc);
    std::exit(2);
  }
  rte_acl_ctx* ctx_ = nullptr;
  std::vector<AclInput> in_;
  std::vector<const std::uint8_t*> ptrs_;
  std::vector<std::uint32_t> res_;
};

struct AclAlg {
  enum rte_acl_classify_alg alg;
  const char* name;
};
constexpr AclAlg kAclAlgs[] = {{RTE_ACL_CLASSIFY_SCALAR, "scalar"},
                               {RTE_ACL_CLASSIFY_SSE, "sse"},
                               {RTE_ACL_CLASSIFY_AVX2, "avx2"},
                               {RTE_ACL_CLASSIFY_AVX512X16, "avx512x16"},
                               {RTE_ACL_CLASSIFY_AVX512X32, "avx512x32"}};
#endif

// Everything for one rule set; kept alive for the whole run.
struct Workload {
  std::string set;
  std::vector<ClassRule> rules;
  std::vector<ClassKey> keys;
  std::vector<std::int32_t> expected;  // the linear scan's answers
  std::vector<std::unique_ptr<Classifier>> ours;
#if PM_HAVE_RTE_ACL
  std::unique_ptr<RteAcl> acl;
#endif
  std::vector<Engine> engines;
};

std::string classbench_dir() {
  const char* env = std::getenv("PM_CLASSBENCH");
  return env ? env : std::string(PM_SOURCE_DIR) + "/../shared/classbench";
}

template <class T>
T parse_or_die(Parsed<T> p) {
  if (!p) {
    for (const auto& d : p.diags.items()) std::fprintf(stderr, "bench_classifier: %s\n", d.format().c_str());
    std::exit(2);
  }
  return std::move(*p.value);
}

std::unique_ptr<Workload> load(const std::string& set) {
  auto w = std::make_unique<Workload>();
  w->set = set;
  const std::string dir = classbench_dir();
  auto rules_text = read_file(dir + "/" + set);
  auto trace_text = read_file(dir + "/" + set + "_trace");
  if (!rules_text || !trace_text) {
    std::fprintf(stderr, "bench_classifier: %s: rule set or trace missing under %s; skipped\n", set.c_str(), dir.c_str());
    return nullptr;
  }
  w->rules = parse_or_die(parse_classbench_rules(*rules_text, dir + "/" + set));
  w->keys = parse_or_die(parse_classbench_trace(*trace_text, dir + "/" + set + "_trace")).keys;

  for (const ClassifierVariant& v : classifier_variants()) {
    if (!v.available()) continue;
    const auto t0 = Clock::now();
    auto c = build_classifier(w->rules, &v);
    const double ms = ms_since(t0);
    Classifier* cp = c.get();
    const auto* keys = &w->keys;
    w->engines.push_back({std::string(v.name), ms, c->memory_bytes(),
                          [cp, keys](std::vector<std::int32_t>& out) { cp->classify(*keys, out); }});
    w->ours.push_back(std::move(c));
  }
  // The reference answers (the linear scan, one key at a time).
  w->expected.resize(w->keys.size());
  for (std::size_t i = 0; i < w->keys.size(); ++i) w->expected[i] = w->ours.front()->classify(w->keys[i]);

#if PM_HAVE_RTE_ACL
  w->acl = std::make_unique<RteAcl>(w->rules, "pm_" + set);
  w->acl->load(w->keys);
  for (const AclAlg& a : kAclAlgs) {
    if (!w->acl->use(a.alg)) continue;
    RteAcl* acl = w->acl.get();
    const auto alg = a.alg;
    w->engines.push_back({std::string("rte_acl-") + a.name, acl->build_ms, acl->memory,
                          [acl, alg](std::vector<std::int32_t>& out) {
                            acl->use(alg);
                            acl->classify(out);
                          }});
  }
#endif
  // Every engine must give the linear scan's answer for every header.
  std::vector<std::int32_t> got(w->keys.size());
  for (Engine& e : w->engines) {
    std::fill(got.begin(), got.end(), -2);
    e.run(got);
    for (std::size_t i = 0; i < got.size(); ++i)
      if (got[i] != w->expected[i]) {
        std::fprintf(stderr, "bench_classifier: %s: %s differs from the linear scan at trace line %zu: %d, expected %d\n",
                     set.c_str(), e.name.c_str(), i + 1, got[i], w->expected[i]);
        std::exit(1);
      }
  }
  std::fprintf(stderr, "bench_classifier: %s: %zu rules, %zu headers, %zu engines agree with the linear scan\n",
               set.c_str(), w->rules.size(), w->keys.size(), w->engines.size());
  return w;
}

void bench_engine(benchmark::State& state, Workload* w, Engine* e) {
  std::vector<std::int32_t> out(w->keys.size());
  for (auto _ : state) {
    e->run(out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(w->keys.size()));
  state.counters["build_ms"] = e->build_ms;
  state.counters["memory_bytes"] = static_cast<double>(e->memory);
  state.counters["rules"] = static_cast<double>(w->rules.size());
}

// Collects lookups/s per (set, engine) to print the ratios after the table.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  SummaryReporter() : ConsoleReporter(OO_Tabular) {}  // no colour codes: the output is kept in bench/runs/
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") continue;
      const std::string name = r.run_name.function_name;  // "set/engine"
      auto it = r.counters.find("items_per_second");
      if (it == r.counters.end()) continue;
      rates_[name] = it->second.value;
    }
  }
  void print(const std::vector<std::unique_ptr<Workload>>& sets) const {
    std::printf("\nSummary (lookups per second on one core; median of the repetitions):\n");
    std::printf("%-10s %8s %14s %14s %14s %10s %10s  %s\n", "set", "rules", "ours", "rte_acl", "linear", "ours/acl",
                "ours/lin", "(ours = fastest portmatrix variant, rte_acl = fastest algorithm)");
    for (const auto& w : sets) {
      std::string best_ours, best_acl;
      double ours = 0, acl = 0;
      for (const Engine& e : w->engines) {
        auto it = rates_.find(w->set + "/" + e.name);
        if (it == rates_.end() || e.name == "linear") continue;
        const bool is_acl = e.name.rfind("rte_acl", 0) == 0;
        double& slot = is_acl ? acl : ours;
        if (it->second > slot) slot = it->second, (is_acl ? best_acl : best_ours) = e.name;
      }
      auto lin = rates_.find(w->set + "/linear");
      const double linear = lin == rates_.end() ? 0 : lin->second;
      std::printf("%-10s %8zu %14.0f %14.0f %14.0f %10.2f %10.1f  %s vs %s\n", w->set.c_str(), w->rules.size(), ours, acl,
                  linear, acl > 0 ? ours / acl : 0.0, linear > 0 ? ours / linear : 0.0, best_ours.c_str(),
                  best_acl.empty() ? "(no rte_acl result)" : best_acl.c_str());
    }
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> sets = {"acl1_1k", "acl1_10k", "fw1_10k", "ipc1_10k", "acl1_100k"};
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--sets=", 7) == 0) {
      sets.clear();
      std::string list = argv[i] + 7;
      for (std::size_t p = 0; p <= list.size();) {
        const std::size_t c = std::min(list.find(',', p), list.size());
        if (c > p) sets.push_back(list.substr(p, c - p));
        p = c + 1;
      }
      continue;
    }
    args.push_back(argv[i]);
  }
#if PM_HAVE_RTE_ACL
  // No hugepages or devices needed; allow 512-bit vectors so rte_acl may use AVX-512.
  const char* eal[] = {"bench_classifier", "--no-huge", "--no-pci", "--no-shconf", "-m", "4096", "-l", "0",
                       "--force-max-simd-bitwidth=512", "--log-level=lib.eal:error"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) {
    std::fprintf(stderr, "bench_classifier: rte_eal_init failed\n");
    return 2;
  }
#endif
  int bargc = static_cast<int>(args.size());
  benchmark::Initialize(&bargc, args.data());

  std::vector<std::unique_ptr<Workload>> loaded;
  for (const std::string& s : sets)
    if (auto w = load(s)) loaded.push_back(std::move(w));
  for (auto& w : loaded)
    for (Engine& e : w->engines) {
      auto* b = benchmark::RegisterBenchmark((w->set + "/" + e.name).c_str(), bench_engine, w.get(), &e);
      // Rates are per second of CPU time: on a shared machine, wall time would
      // also count the time other processes held the core.
      b->Unit(benchmark::kMillisecond);
      // The linear scan on large sets is slow; its rate is stable after one pass.
      if (e.name == "linear" && w->rules.size() > 20000) b->Iterations(1);
      else b->MinTime(1.0);
    }
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print(loaded);
  benchmark::Shutdown();
#if PM_HAVE_RTE_ACL
  loaded.clear();
  rte_eal_cleanup();
#endif
  return 0;
}
