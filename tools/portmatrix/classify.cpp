// portmatrix classify: a ClassBench trace through a ClassBench rule set.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "portmatrix/classbench.hpp"
#include "portmatrix/classifier.hpp"
#include "portmatrix/fileio.hpp"

namespace {

struct Options {
  std::string rules, trace, format = "text", variant;
};

// Reads and parses one input file; prints diagnostics and returns nullopt on failure.
template <class T, class Parse>
std::optional<T> load(const std::string& path, Parse parse) {
  auto text = portmatrix::read_file(path);
  if (!text) {
    pmcli::report(text.error());
    return std::nullopt;
  }
  auto parsed = parse(*text, path);
  pmcli::print_diags(parsed.diags);
  return std::move(parsed.value);
}

int run(const Options& o) {
  using namespace portmatrix;
  const ClassifierVariant* variant = &default_classifier_variant();
  if (!o.variant.empty()) {
    variant = find_classifier_variant(o.variant);
    if (!variant || !variant->available()) {
      std::string names;
      for (const auto& v : classifier_variants())
        if (v.available()) names += (names.empty() ? "" : ", ") + std::string(v.name);
      std::cerr << "portmatrix: error: classify: " << (variant ? "this CPU cannot run" : "no") << " classifier variant '"
                << o.variant << "' (available: " << names << ")\n";
      return pmcli::kUsage;
    }
  }
  auto rules = load<std::vector<ClassRule>>(o.rules, parse_classbench_rules);
  auto trace = load<ClassBenchTrace>(o.trace, parse_classbench_trace);
  if (!rules || !trace) return pmcli::kUsage;

  const auto t0 = std::chrono::steady_clock::now();
  auto c = build_classifier(*rules, variant);
  const double build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::vector<std::int32_t> out(trace->keys.size());
  c->classify(trace->keys, out);
  const double rate = lookups_per_second(*c, trace->keys);

  std::string text;
  if (o.format == "json") {
    nlohmann::json j = {{"rules", rules->size()}, {"packets", out.size()}, {"variant", c->variant()}, {"matches", out}};
    text = portmatrix::json_text(j) + "\n";
  } else {
    text.reserve(out.size() * 6);
    for (std::int32_t m : out) fmt::format_to(std::back_inserter(text), "{}\n", m);
  }
  if (int rc = pmcli::emit("-", text); rc != pmcli::kOk) return rc;
  std::cerr << fmt::format("classify: rules={} packets={} build_ms={:.3f} lookups_per_s={:.0f} memory_bytes={}\n",
                           rules->size(), out.size(), build_ms, rate, c->memory_bytes());
  return pmcli::kOk;
}

void setup(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "classify",
      "Classify every header of a ClassBench trace against a ClassBench rule set: prints the 0-based index of the first "
      "matching rule (or -1) per trace line; build time, lookup rate and memory on stderr");
  cmd->add_option("--rules", o->rules, "ClassBench rule file")->required();
  cmd->add_option("--trace", o->trace, "ClassBench trace file")->required();
  cmd->add_option("--format", o->format, "Output format: text (one index per line) or json")
      ->check(CLI::IsMember({"text", "json"}));
  std::string names;
  for (const auto& v : portmatrix::classifier_variants()) names += fmt::format("\n  {}: {}", v.name, v.summary);
  cmd->add_option("--variant", o->variant, "Classifier variant (default: the fastest this CPU runs):" + names);
  cmd->callback([o] { pmcli::set_exit(run(*o)); });
}

const pmcli::Registrar registrar(60, setup);

}  // namespace
