// Shared glue for the portmatrix subcommands: registration, output, diagnostics.
// Subcommands hold flags and glue only; the work is in the library.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "portmatrix/diag.hpp"

namespace pmcli {

// Exit codes: 0 ok, 1 findings, 2 usage or input error.
inline constexpr int kOk = 0;
inline constexpr int kFindings = 1;
inline constexpr int kUsage = 2;

// A subcommand adds itself to the app; its callback stores its exit code with set_exit().
using Setup = void (*)(CLI::App& app);
struct Registrar {
  Registrar(int order, Setup setup);
};
std::vector<std::pair<int, Setup>>& registry();
void set_exit(int code);
int exit_code();

// Prints every diagnostic as "portmatrix: FILE:LINE:COL: error: message" on stderr.
void print_diags(const portmatrix::Diagnostics& d);
// Prints a library error on stderr; returns the exit code that fits it.
int report(const portmatrix::Error& e);
// Writes a command's result to FILE atomically, or to stdout when path is empty or "-".
int emit(const std::string& path, std::string_view content);
// True when standard output (fd 1) or error (fd 2) is a terminal.
bool stdout_is_tty();
bool stderr_is_tty();

}  // namespace pmcli

#include "portmatrix/model.hpp"

namespace pmcli {

inline constexpr const char* kDefaultMatrix = "cms-r20";

// Adds --matrix NAME|FILE to a subcommand.
CLI::Option* add_matrix_option(CLI::App* sub, std::string& matrix);
// Adds --format with the given choices; the first is the default.
CLI::Option* add_format_option(CLI::App* sub, std::string& format, std::vector<std::string> choices);
// Loads a matrix (bundled name or path), printing diagnostics; nullopt on error.
std::optional<portmatrix::Matrix> load_matrix_arg(const std::string& name_or_path);

}  // namespace pmcli

#include "portmatrix/site.hpp"

namespace pmcli {

// Adds --matrix and --site for commands that work on a bound policy.
void add_policy_options(CLI::App* sub, std::string& matrix, std::string& site);
// Loads and binds matrix and site, printing diagnostics; nullopt on error.
std::optional<portmatrix::LoadedPolicy> load_policy_args(const std::string& matrix, const std::string& site);

}  // namespace pmcli
