// portmatrix completion (hidden): a bash completion script generated from the
// CLI's own definition, so it lists exactly the commands and options that exist;
// the command list the man page test checks; and the row ids of a matrix, which
// the script asks for at completion time.
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli.hpp"
#include "portmatrix/backend.hpp"
#include "portmatrix/bundled.hpp"
#include "portmatrix/classifier.hpp"
#include "portmatrix/matrix_io.hpp"
#include "portmatrix/site.hpp"
#include "portmatrix/texttable.hpp"

namespace pmcli {
namespace {

// One command of the tree, as the completion script and the man test see it.
struct Command {
  std::string path;  // "" for the top level, "firewall enable" for a nested one
  const CLI::App* app = nullptr;
};

bool visible(const CLI::App* a) { return !a->get_group().empty(); }
bool visible(const CLI::Option* o) { return !o->get_group().empty(); }

std::vector<Command> commands(const CLI::App& root) {
  std::vector<Command> out{{"", &root}};
  for (std::size_t i = 0; i < out.size(); ++i)
    for (const CLI::App* sub : out[i].app->get_subcommands([](const CLI::App* s) { return visible(s); }))
      out.push_back({out[i].path.empty() ? sub->get_name() : out[i].path + " " + sub->get_name(), sub});
  return out;
}

std::vector<const CLI::Option*> options(const CLI::App* app) {
  return app->get_options([](const CLI::Option* o) { return visible(o); });
}

// "-m --matrix": every name of a named option.
std::vector<std::string> names(const CLI::Option* o) {
  std::vector<std::string> out;
  for (const auto& s : o->get_snames()) out.push_back("-" + s);
  for (const auto& l : o->get_lnames()) out.push_back("--" + l);
  return out;
}

// Words as the script lists them.
std::string words(const std::vector<std::string>& v) { return portmatrix::join(v, " "); }

// The values of an IsMember check. CLI11 describes such a check as "{a,b,c}"
// and keeps no other record of the set.
std::vector<std::string> choices(const CLI::Option* o) {
  auto* opt = const_cast<CLI::Option*>(o);  // CLI11 2.1 has no const access to validators
  for (int i = 0;; ++i) {
    CLI::Validator* v = nullptr;
    try {
      v = opt->get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      return {};
    }
    if (!v) return {};
    std::string d = v->get_description();
    if (d.size() < 2 || d.front() != '{' || d.back() != '}') continue;
    std::vector<std::string> out;
    std::stringstream ss(d.substr(1, d.size() - 2));
    for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
    return out;
  }
}

// How the script completes the value of an option, by its long name.
std::string value_completion(const CLI::Option* o) {
  auto c = choices(o);
  if (!c.empty()) return fmt::format("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))", words(c));
  const auto& l = o->get_lnames();
  auto has = [&](std::string_view n) { return std::find(l.begin(), l.end(), n) != l.end(); };
  if (has("matrix")) return "_portmatrix_matrices";
  if (has("site")) return "_portmatrix_sites";
  if (has("target")) {
    std::vector<std::string> targets;
    for (const auto* b : portmatrix::backends()) targets.emplace_back(b->name());
    return fmt::format("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))", words(targets));
  }
  if (has("variant")) {
    std::vector<std::string> variants;
    for (const auto& v : portmatrix::classifier_variants()) variants.emplace_back(v.name);
    return fmt::format("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))", words(variants));
  }
  if (has("output") || has("replay") || has("rules") || has("trace")) return "_portmatrix_files";
  if (has("iface")) return "COMPREPLY=($(compgen -W \"$(ls /sys/class/net 2>/dev/null)\" -- \"$cur\"))";
  return "COMPREPLY=()";
}

// How the script completes a positional argument, by its name or what it describes.
std::string positional_completion(const CLI::Option* o) {
  std::string n = o->get_name(true);
  if (n == "row") return "_portmatrix_rows";
  if (n == "host") return "COMPREPLY=($(compgen -A hostname -- \"$cur\"))";
  if (n == "list") return "COMPREPLY=()";
  if (o->get_description().find("matrix") != std::string::npos) return "_portmatrix_matrices";
  return "_portmatrix_files";
}

std::string bash_script(const CLI::App& root) {
  auto cmds = commands(root);
  std::string subs, opts, takes, values, positionals;
  for (const auto& c : cmds) {
    std::vector<std::string> children;
    for (const CLI::App* s : c.app->get_subcommands([](const CLI::App* x) { return visible(x); }))
      children.push_back(s->get_name());
    if (!children.empty()) subs += fmt::format("    \"{}\") echo \"{}\" ;;\n", c.path, words(children));
    std::vector<std::string> all;
    int index = 0;
    for (const CLI::Option* o : options(c.app)) {
      if (o->get_positional() && !o->nonpositional()) {
        // A positional that takes any number of values (captures...) completes every later word alike.
        std::string at = o->get_items_expected_max() > 1 ? "*" : std::to_string(index);
        positionals += fmt::format("    \"{} {}\") {} ;;\n", c.path, at, positional_completion(o));
        ++index;
        continue;
      }
      auto n = names(o);
      all.insert(all.end(), n.begin(), n.end());
      if (o->get_expected_max() == 0) continue;  // a flag
      std::vector<std::string> cases;
      for (const auto& x : n) cases.push_back(fmt::format("\"{} {}\"", c.path, x));
      takes += fmt::format("    {}) return 0 ;;\n", portmatrix::join(cases, "|"));
      values += fmt::format("    {}) {} ;;\n", portmatrix::join(cases, "|"), value_completion(o));
    }
    opts += fmt::format("    \"{}\") echo \"{}\" ;;\n", c.path, words(all));
  }
  std::vector<std::string> matrices = portmatrix::bundled_matrix_names(), sites;
  for (const auto& e : portmatrix::bundled::entries())
    if (e.kind == "examples") sites.emplace_back(e.name);

  return fmt::format(R"bash(# bash completion for portmatrix                            -*- shell-script -*-
# Generated by `portmatrix completion bash` ({version}) from the command's own
# definition: regenerate it rather than edit it.

# The subcommands of a command path ("" is the top level).
_portmatrix_commands() {{
  case "$1" in
{subs}  esac
}}

# The options of a command path.
_portmatrix_options() {{
  case "$1" in
{opts}  esac
}}

# Succeeds when option $2 of command path $1 takes a value.
_portmatrix_takes_value() {{
  case "$1 $2" in
{takes}  esac
  return 1
}}

# Completes $cur as the value of option $2 of command path $1.
_portmatrix_value() {{
  case "$1 $2" in
{values}  esac
}}

# Completes $cur as positional argument $2 (0-based) of command path $1.
_portmatrix_positional() {{
  case "$1 $2" in
{positionals}    *) COMPREPLY=() ;;
  esac
}}

_portmatrix_files() {{
  compopt -o filenames 2>/dev/null
  COMPREPLY=($(compgen -f -- "$cur"))
}}

# Bundled matrices by name, or matrix files.
_portmatrix_matrices() {{
  compopt -o filenames 2>/dev/null
  COMPREPLY=($(compgen -W "{matrices}" -- "$cur") $(compgen -f -- "$cur"))
}}

# Bundled example sites by name, or site files.
_portmatrix_sites() {{
  compopt -o filenames 2>/dev/null
  COMPREPLY=($(compgen -W "{sites}" -- "$cur") $(compgen -f -- "$cur"))
}}

# The row ids of the matrix the command line names (--matrix, --site), asked of
# the portmatrix being completed.
_portmatrix_rows() {{
  local i args=()
  for ((i = 1; i < ${{#words[@]}}; i++)); do
    case "${{words[i]}}" in
      -m|--matrix|-s|--site) args+=("${{words[i]}}" "${{words[i+1]}}") ;;
      --matrix=*|--site=*) args+=("${{words[i]}}") ;;
    esac
  done
  COMPREPLY=($(compgen -W "$("${{words[0]}}" completion rows "${{args[@]}}" 2>/dev/null)" -- "$cur"))
}}

_portmatrix() {{
  local cur prev words cword
  if declare -F _init_completion >/dev/null 2>&1; then
    _init_completion -n = || return
  else
    # Without bash-completion: readline splits "--opt=value" into "--opt" "=" "value"; join them again.
    words=()
    cword=-1
    local i=0 n=${{#COMP_WORDS[@]}}
    while ((i < n)); do
      if [[ ${{COMP_WORDS[i]}} == "=" && ${{#words[@]}} -gt 0 && ${{words[-1]}} == --* ]]; then
        words[-1]+="="
        ((i == COMP_CWORD)) && cword=$((${{#words[@]}} - 1))
        if ((i + 1 < n && i + 1 <= COMP_CWORD)); then
          ((i++))
          words[-1]+=${{COMP_WORDS[i]}}
          ((i == COMP_CWORD)) && cword=$((${{#words[@]}} - 1))
        fi
      else
        ((i == COMP_CWORD)) && cword=${{#words[@]}}
        words+=("${{COMP_WORDS[i]}}")
      fi
      ((i++))
    done
    ((cword < 0)) && cword=$((${{#words[@]}} - 1))
    cur=${{words[cword]}}
    prev=${{words[cword-1]}}
  fi

  # The command path and the number of positional arguments before the cursor.
  local path="" npos=0 j=1 x
  while ((j < cword)); do
    x=${{words[j]}}
    case "$x" in
      --*=*) ;;
      -*) _portmatrix_takes_value "$path" "$x" && ((j++)) ;;
      *)
        if [[ " $(_portmatrix_commands "$path") " == *" $x "* ]]; then
          path=${{path:+$path }}$x
          npos=0
        else
          ((npos++))
        fi
        ;;
    esac
    ((j++))
  done

  if [[ $cur == --*=* ]]; then
    local opt=${{cur%%=*}}
    cur=${{cur#*=}}
    _portmatrix_value "$path" "$opt"
    return
  fi
  if [[ $prev == -* ]] && _portmatrix_takes_value "$path" "$prev"; then
    _portmatrix_value "$path" "$prev"
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_portmatrix_options "$path")" -- "$cur"))
    return
  fi
  local subcommands
  subcommands=$(_portmatrix_commands "$path")
  if [[ -n $subcommands ]]; then
    COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
    return
  fi
  _portmatrix_positional "$path" "$npos"
  [[ ${{#COMPREPLY[@]}} -eq 0 ]] && _portmatrix_positional "$path" "*"
  return 0
}}
complete -F _portmatrix portmatrix
)bash",
                     fmt::arg("version", std::string("portmatrix ") + PORTMATRIX_VERSION_STRING), fmt::arg("subs", subs),
                     fmt::arg("opts", opts), fmt::arg("takes", takes), fmt::arg("values", values),
                     fmt::arg("positionals", positionals), fmt::arg("matrices", words(matrices)),
                     fmt::arg("sites", words(sites)));
}

// "show: --help --matrix --format --output", one line per command (the man page test reads it).
std::string command_list(const CLI::App& root) {
  std::string out;
  for (const auto& c : commands(root)) {
    if (c.path.empty()) continue;
    std::vector<std::string> longs;
    for (const CLI::Option* o : options(c.app))
      for (const auto& l : o->get_lnames()) longs.push_back("--" + l);
    out += c.path + ":" + (longs.empty() ? "" : " " + words(longs)) + "\n";
  }
  return out;
}

int row_ids(const std::string& matrix, const std::string& site) {
  std::optional<portmatrix::Matrix> m;
  if (!site.empty()) {
    auto lp = load_policy_args(matrix, site);
    if (lp) m = std::move(lp->matrix);
  } else {
    m = load_matrix_arg(matrix.empty() ? kDefaultMatrix : matrix);
  }
  if (!m) return kUsage;
  for (const auto& f : m->flows) std::cout << f.id << "\n";
  return kOk;
}

struct CompletionOptions {
  std::string output, matrix, site;
};

void setup_completion(CLI::App& app) {
  auto o = std::make_shared<CompletionOptions>();
  auto* sub = app.add_subcommand("completion", "Shell completion, generated from the command definitions");
  sub->group("");  // for packagers and the completion script itself, not for the command list
  sub->require_subcommand(1);
  const CLI::App* root = &app;
  auto* bash = sub->add_subcommand("bash", "The bash completion script");
  bash->add_option("-o,--output", o->output, "Write to FILE (atomically) instead of standard output");
  bash->callback([o, root] { set_exit(emit(o->output, bash_script(*root))); });
  auto* list = sub->add_subcommand("commands", "Every command and its long options, one command per line");
  list->callback([root] { set_exit(emit("", command_list(*root))); });
  auto* rows = sub->add_subcommand("rows", "The row ids of a matrix");
  rows->add_option("-m,--matrix", o->matrix, "Bundled matrix name or YAML file");
  rows->add_option("-s,--site", o->site, "Site file");
  rows->callback([o] { set_exit(row_ids(o->matrix, o->site)); });
}

// The script is generated when the command runs, after every command has registered.
const Registrar register_completion(1000, setup_completion);

}  // namespace
}  // namespace pmcli
