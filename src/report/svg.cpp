// DOT to SVG through Graphviz's library (libgvc): the dot layout engine and the
// core SVG renderer, in process, no external program.
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <memory>
#include <mutex>
#include <string>

#include "portmatrix/report.hpp"

namespace portmatrix::report {
namespace {

// Graphviz reports errors through one process-wide callback; calls are serialised
// so each call collects only its own messages.
std::mutex g_graphviz_mutex;
std::string* g_graphviz_messages = nullptr;

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

  std::unique_ptr<GVC_t, ContextDeleter> gvc(gvContext());
  if (!gvc) return graphviz_error("graphviz: cannot create a context", messages);
  const std::string text(dot);  // agmemread needs a terminating NUL
  std::unique_ptr<Agraph_t, GraphDeleter> graph(agmemread(text.c_str()));
  if (!graph) return graphviz_error("graphviz: cannot read the diagram", messages);
  if (gvLayout(gvc.get(), graph.get(), "dot") != 0)
    return graphviz_error("graphviz: layout failed (is the dot layout plugin of libgvc installed?)", messages);
  char* data = nullptr;
  unsigned int length = 0;
  int rc = gvRenderData(gvc.get(), graph.get(), "svg", &data, &length);
  std::string svg = rc == 0 && data ? std::string(data, length) : std::string();
  if (data) gvFreeRenderData(data);
  gvFreeLayout(gvc.get(), graph.get());
  if (rc != 0 || svg.empty()) return graphviz_error("graphviz: SVG rendering failed", messages);
  return svg;
}

Expected<std::string> render_svg(const Input& in) { return svg_from_dot(render_dot(in)); }

}  // namespace portmatrix::report
