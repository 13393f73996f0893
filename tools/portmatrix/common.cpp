#include "cli.hpp"
#include "portmatrix/matrix_io.hpp"

namespace pmcli {

CLI::Option* add_matrix_option(CLI::App* sub, std::string& matrix) {
  matrix = kDefaultMatrix;
  return sub->add_option("-m,--matrix", matrix, "Bundled matrix name or YAML file")->capture_default_str();
}

CLI::Option* add_format_option(CLI::App* sub, std::string& format, std::vector<std::string> choices) {
  format = choices.front();
  return sub->add_option("-f,--format", format, "Output format")
      ->check(CLI::IsMember(choices))
      ->capture_default_str();
}

std::optional<portmatrix::Matrix> load_matrix_arg(const std::string& name_or_path) {
  auto parsed = portmatrix::load_matrix(name_or_path);
  print_diags(parsed.diags);
  return std::move(parsed.value);
}

}  // namespace pmcli

namespace pmcli {

void add_policy_options(CLI::App* sub, std::string& matrix, std::string& site) {
  sub->add_option("-m,--matrix", matrix, "Bundled matrix name or YAML file (default: the site's matrix, else cms-r20)");
  sub->add_option("-s,--site", site, "Site file (default: the bundled example site of the matrix)");
}

std::optional<portmatrix::LoadedPolicy> load_policy_args(const std::string& matrix, const std::string& site) {
  auto lp = portmatrix::load_policy(matrix, site);
  print_diags(lp.diags);
  return std::move(lp.value);
}

}  // namespace pmcli
