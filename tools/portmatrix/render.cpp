// portmatrix render: the matrix (and its site) as an HTML report, Markdown, CSV,
// or a flow diagram (DOT, SVG).
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "cli.hpp"
#include "portmatrix/audit.hpp"
#include "portmatrix/matrix_io.hpp"
#include "portmatrix/replay.hpp"
#include "portmatrix/report.hpp"

namespace pmcli {
namespace {

struct RenderOptions {
  std::string matrix, site, format, output, target;
  std::vector<std::string> replay;
  bool no_site = false, verify = false, audit = false;
  // Any of the options that add a section of results to the HTML report.
  bool sections() const { return !target.empty() || verify || !replay.empty() || audit; }
};

int run_render(const RenderOptions& o) {
  namespace rp = portmatrix::report;
  const bool html = o.format == "html";
  if (!html && o.sections()) {
    std::cerr << "portmatrix: error: --target, --verify, --replay and --audit add sections to the HTML report; use "
                 "--format html\n";
    return kUsage;
  }
  if (o.no_site && (!o.site.empty() || o.sections())) {
    std::cerr << "portmatrix: error: --no-site cannot be combined with --site, --target, --verify, --replay or --audit\n";
    return kUsage;
  }

  // With a site (given, or the bundled example of a bundled matrix) the report
  // shows the binding; without one, the matrix as documented.
  std::optional<portmatrix::LoadedPolicy> lp;
  std::optional<portmatrix::Matrix> bare;
  const std::string matrix = o.matrix.empty() ? std::string(kDefaultMatrix) : o.matrix;
  const bool with_site = !o.no_site && (!o.site.empty() || !portmatrix::default_site_for(matrix).empty());
  if (with_site) {
    lp = load_policy_args(o.matrix, o.site);
    if (!lp) return kUsage;
  } else {
    bare = load_matrix_arg(matrix);
    if (!bare) return kUsage;
    if (o.sections()) {
      std::cerr << fmt::format("portmatrix: error: matrix '{}' has no bundled example site: --target, --verify, --replay "
                               "and --audit need --site\n",
                               matrix);
      return kUsage;
    }
  }

  rp::Input in;
  in.matrix = lp ? &lp->matrix : &*bare;
  in.site = lp ? &lp->site : nullptr;
  in.policy = lp ? &lp->policy : nullptr;
  in.generator = std::string("portmatrix ") + PORTMATRIX_VERSION_STRING;

  const std::string target = o.target.empty() ? "nftables" : o.target;
  const portmatrix::Backend* backend = nullptr;
  if (!o.target.empty() || o.verify) {
    backend = portmatrix::find_backend(target);
    if (!backend) {
      std::cerr << fmt::format("portmatrix: error: unknown target '{}' (see compile --list-targets)\n", target);
      return kUsage;
    }
  }
  std::optional<rp::Ruleset> ruleset;
  if (!o.target.empty()) {
    ruleset = rp::Ruleset{target, backend->compile(lp->policy)};
    in.ruleset = &*ruleset;
  }
  std::optional<portmatrix::VerifyReport> verified;
  if (o.verify) {
    portmatrix::VerifyOptions vo;
    if (stderr_is_tty())
      vo.progress = [](std::size_t done, std::size_t total) {
        std::cerr << fmt::format("\rverify: {}/{} probes", done, total) << (done == total ? "\n" : "") << std::flush;
      };
    auto rep = portmatrix::verify_policy(lp->policy, *backend, vo);
    if (!rep) {
      std::cerr << "portmatrix: error: verify: " << rep.error().message << "\n";
      return rep.error().kind == portmatrix::Error::Kind::internal || rep.error().kind == portmatrix::Error::Kind::kernel
                 ? kFindings
                 : kUsage;
    }
    verified = std::move(*rep);
    in.verify = &*verified;
  }

  std::optional<portmatrix::ReplayResult> replayed;
  if (!o.replay.empty()) {
    auto r = portmatrix::replay_captures(lp->policy, o.replay, {});
    if (!r) return report(r.error());
    replayed = std::move(*r);
    in.replay = &*replayed;
  }
  std::optional<portmatrix::audit::Firewall> firewall;
  std::optional<portmatrix::audit::Report> audited;
  if (o.audit) {
    auto listing = portmatrix::sockets::list_listeners();
    if (!listing) return report(listing.error());
    firewall.emplace(portmatrix::audit::inspect_firewall(lp->policy));
    audited = portmatrix::audit::compare(lp->policy, listing->listeners, *firewall);
    in.audit = &*audited;
    in.firewall = &*firewall;
  }

  std::string text;
  if (o.format == "markdown") {
    text = rp::render_markdown(in);
  } else if (o.format == "csv") {
    text = rp::render_csv(in);
  } else if (o.format == "dot") {
    text = rp::render_dot(in);
  } else {
    auto r = o.format == "svg" ? rp::render_svg(in) : rp::render_html(in);
    if (!r) return report(r.error());
    text = std::move(*r);
  }
  if (int rc = emit(o.output, text)) return rc;
  // As verify, replay and audit do on their own: the report is written, and exit 1 says a section found something.
  bool findings = (verified && !verified->ok()) || (replayed && replayed->summary.blocked) || (audited && !audited->clean());
  return findings ? kFindings : kOk;
}

void setup_render(CLI::App& app) {
  auto o = std::make_shared<RenderOptions>();
  auto* sub = app.add_subcommand("render", "Render the matrix and its site as an HTML report, Markdown, CSV or a diagram");
  add_policy_options(sub, o->matrix, o->site);
  sub->add_flag("--no-site", o->no_site, "Render the matrix alone, as documented, without binding it to a site");
  add_format_option(sub, o->format, {"html", "markdown", "csv", "dot", "svg"});
  sub->add_option("-o,--output", o->output, "Write to FILE (atomically) instead of standard output");
  sub->add_option("-t,--target", o->target, "Add the compiled ruleset for this target to the HTML report");
  sub->add_flag("--verify", o->verify, "Run verify (root) and add its results to the HTML report");
  sub->add_option("--replay", o->replay, "Replay these pcap or pcapng captures and add what would be blocked to the HTML report");
  sub->add_flag("--audit", o->audit, "Audit this host (listening sockets, active firewall) and add the findings to the HTML report");
  sub->callback([o] { set_exit(run_render(*o)); });
}

const Registrar register_render(90, setup_render);

}  // namespace
}  // namespace pmcli
