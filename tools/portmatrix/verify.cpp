// portmatrix verify: prove the compiled policy with real packets in network namespaces.
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "portmatrix/verify.hpp"

namespace pmcli {
namespace {

struct VerifyCliOptions {
  std::string matrix, site, target = "nftables", format;
  int parallel = 48;
  unsigned seed = 20231;
  bool no_ipv4 = false, no_ipv6 = false;
  int block_ms = 400, allow_ms = 2000;
};

int run_verify(const VerifyCliOptions& o) {
  const portmatrix::Backend* b = portmatrix::find_backend(o.target);
  if (!b) {
    std::cerr << fmt::format("portmatrix: error: unknown target '{}'\n", o.target);
    return kUsage;
  }
  auto lp = load_policy_args(o.matrix, o.site);
  if (!lp) return kUsage;
  portmatrix::VerifyOptions vo;
  vo.parallel = o.parallel;
  vo.seed = o.seed;
  vo.ipv4 = !o.no_ipv4;
  vo.ipv6 = !o.no_ipv6;
  vo.block_timeout = std::chrono::milliseconds(o.block_ms);
  vo.allow_timeout = std::chrono::milliseconds(o.allow_ms);
  if (stderr_is_tty())
    vo.progress = [](std::size_t done, std::size_t total) {
      std::cerr << fmt::format("\rverify: {}/{} probes", done, total) << (done == total ? "\n" : "") << std::flush;
    };
  auto rep = portmatrix::verify_policy(lp->policy, *b, vo);
  if (!rep) {
    std::cerr << "portmatrix: error: " << rep.error().message << "\n";
    return rep.error().kind == portmatrix::Error::Kind::permission || rep.error().kind == portmatrix::Error::Kind::input ||
                   rep.error().kind == portmatrix::Error::Kind::unsupported
               ? kUsage
               : kFindings;
  }
  std::cout << (o.format == "json" ? portmatrix::verify_json(*rep) : portmatrix::verify_table(*rep));
  return rep->ok() ? kOk : kFindings;
}

void setup_verify(CLI::App& app) {
  auto o = std::make_shared<VerifyCliOptions>();
  auto* sub = app.add_subcommand("verify", "Prove the policy with real packets through the kernel in network namespaces (root)");
  add_policy_options(sub, o->matrix, o->site);
  sub->add_option("-t,--target", o->target, "Host firewall target to load (nftables, iptables, firewalld)")->capture_default_str();
  add_format_option(sub, o->format, {"text", "json"});
  sub->add_option("--parallel", o->parallel, "Probes in flight")->capture_default_str()->check(CLI::Range(1, 512));
  sub->add_option("--seed", o->seed, "Seed for sampled ports and addresses")->capture_default_str();
  sub->add_option("--block-timeout", o->block_ms, "Milliseconds to wait on probes expected to be blocked")->capture_default_str();
  sub->add_option("--allow-timeout", o->allow_ms, "Milliseconds to wait on probes expected to connect")->capture_default_str();
  sub->add_flag("--no-ipv4", o->no_ipv4, "Skip IPv4 probes");
  sub->add_flag("--no-ipv6", o->no_ipv6, "Skip IPv6 probes");
  sub->callback([o] { set_exit(run_verify(*o)); });
}

const Registrar register_verify(50, setup_verify);

}  // namespace
}  // namespace pmcli
