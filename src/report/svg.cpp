// DOT to SVG through Graphviz's library (libgvc): the dot layout engine and the
// core SVG renderer, in process, no external program, no plugin loading.
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include <graphviz/gvplugin.h>

#include <memory>
#include <mutex>
#include <string>

#include "portmatrix/report.hpp"

// Exported by libgvplugin_core and libgvplugin_dot_layout (see kPlugins).
extern "C" {
extern gvplugin_library_t gvplugin_core_LTX_library;
extern gvplugin_library_t gvplugin_dot_layout_LTX_library;
}

namespace portmatrix::report {
namespace {

// Graphviz reports errors through one process-wide callback; calls are serialised
// so each call collects only its own messages.
std::mutex g_graphviz_mutex;
std::string* g_graphviz_messages = nullptr;

// The two plugins a diagram needs, linked in rather than loaded from Graphviz's
// plugin directory. With demand loading Graphviz also loads its pango text
// layout plugin when installed, which in 2.42 reads freed memory across
// contexts and leaks on every label (both found by ASan), and which sizes text
// with whatever fonts the machine has. Without it, Graphviz sizes text with its
// built-in font metrics: the same layout on every machine.
const lt_symlist_t kPlugins[] = {{"gvplugin_core_LTX_library", &gvplugin_core_LTX_library},
                                 {"gvplugin_dot_layout_LTX_library", &gvplugin_dot_layout_LTX_library},
                                 {nullptr, nullptr}};

int collect_message(char* message) {
  if (g_graphviz_messages && message) *g_graphviz_messages += message;
  return 0;
}

struct ContextDeleter {
  void operator()(GVC_t* c) const { gvFreeContext(c); }
};
struct GraphDeleter {
  void operator()(Agraph_t* g) const { agclose(g); }
};

Error graphviz_error(std::string what, const std::string& messages) {
  if (!messages.empty()) what += ": " + messages;
  while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
  return Error{Error::Kind::internal, what};
}

}  // namespace

Expected<std::string> svg_from_dot(std::string_view dot) {
  std::lock_guard lock(g_graphviz_mutex);
  std::string messages;
  g_graphviz_messages = &messages;
  agusererrf previous = agseterrf(collect_message);
  struct Restore {
    agusererrf previous;
    ~Restore() {
      agseterrf(previous);
      g_graphviz_messages = nullptr;
    }
  } restore{previous};

  std::unique_ptr<GVC_t, ContextDeleter> context(gvContextPlugins(kPlugins, 0));
  GVC_t* gvc = context.get();
  if (!gvc) return graphviz_error("graphviz: cannot create a context", messages);
  const std::string text(dot);  // agmemread needs a terminating NUL
  std::unique_ptr<Agraph_t, GraphDeleter> graph(agmemread(text.c_str()));
  if (!graph) return graphviz_error("graphviz: cannot read the diagram", messages);
  if (gvLayout(gvc, graph.get(), "dot") != 0)
    return graphviz_error("graphviz: layout failed", messages);
  char* data = nullptr;
  unsigned int length = 0;
  int rc = gvRenderData(gvc, graph.get(), "svg", &data, &length);
  std::string svg = rc == 0 && data ? std::string(data, length) : std::string();
  if (data) gvFreeRenderData(data);
  gvFreeLayout(gvc, graph.get());
  if (rc != 0 || svg.empty()) return graphviz_error("graphviz: SVG rendering failed", messages);
  return svg;
}

Expected<std::string> render_svg(const Input& in) { return svg_from_dot(render_dot(in)); }

}  // namespace portmatrix::report
