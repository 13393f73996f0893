// A site file binds a matrix to one deployment: the addresses of each system,
// the host's interfaces, which optional rows are enabled, the ports actually
// configured, logging and the default action (docs/site-format.md). Binding a
// matrix to a site gives the Policy IR.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "portmatrix/address.hpp"
#include "portmatrix/diag.hpp"
#include "portmatrix/model.hpp"
#include "portmatrix/policy.hpp"

namespace portmatrix {

// Per-row settings of a site, by row id.
struct FlowOverride {
  std::optional<bool> enabled;
  std::optional<PortSet> source_ports;
  std::optional<PortSet> destination_ports;
  std::optional<ProtocolSet> protocols;  // for rows whose protocol the matrix leaves unknown
  SourceLoc loc;                         // the row id key
  SourceLoc destination_ports_loc, source_ports_loc, protocols_loc, enabled_loc;
};

struct SiteSystem {
  std::string name;
  AddrSet addresses;  // AddrSet::any() for "any"
  SourceLoc loc;
};

struct SiteInterface {
  std::string name;                  // e.g. eth0
  std::vector<std::string> systems;  // systems reached over it
  SourceLoc loc;
};

struct Site {
  std::string file;
  std::string matrix;  // bundled name or path, as written
  SourceLoc matrix_loc;
  std::string host;    // the system whose firewall this is
  SourceLoc host_loc;
  SourceLoc systems_loc;  // the 'systems' key, or the start of the file when there is none
  PortRange ephemeral = kDefaultEphemeral;
  std::vector<SiteSystem> systems;
  std::vector<SiteInterface> interfaces;
  std::map<std::string, FlowOverride, std::less<>> flows;
  bool log_dropped = false;
  std::string log_rate = "10/minute";
  std::string log_prefix = "portmatrix drop: ";
  Action default_action = Action::drop;
  bool allow_echo = false;

  const SiteSystem* find_system(std::string_view system) const;
};

Parsed<Site> read_site_yaml(std::string_view text, std::string_view file);
// Loads a site file by path, or a bundled example site by name ("cms-site").
Parsed<Site> load_site(std::string_view name_or_path);
// The bundled example site of a bundled matrix ("cms-r20" -> "cms-site"), or "" if none.
std::string default_site_for(std::string_view matrix);

// Whether a row is enabled at a site: add-on rows are off unless the site turns
// them on; other rows are on unless the site turns them off.
bool row_enabled(const Flow& f, const Site& s);

// Matrix + site -> Policy (see policy.hpp for the rule order). Reports unknown
// row ids and system names, systems an enabled row needs but without addresses,
// and port overrides outside the row's documented ports (warning) as diagnostics.
Parsed<Policy> bind_policy(const Matrix& m, const Site& s);

}  // namespace portmatrix

namespace portmatrix {

struct LoadedPolicy {
  Matrix matrix;
  Site site;
  Policy policy;
};

// Loads matrix and site and binds them. An empty matrix_arg takes the site's
// `matrix:` (relative to the site file), else cms-r20; an empty site_arg takes
// the bundled example site of the matrix.
Parsed<LoadedPolicy> load_policy(std::string_view matrix_arg, std::string_view site_arg);

}  // namespace portmatrix
