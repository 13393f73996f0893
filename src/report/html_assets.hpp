// The HTML report's own style sheet and script, inlined into every report (no
// external files, so the page works offline and its CSP can allow exactly them).
#pragma once
#include <string_view>

namespace portmatrix::report::assets {

// The style sheet. Fate colours match the diagram's (dot.cpp).
extern const std::string_view kStyle;
// Sorting and filtering of the flows table, the URL-fragment deep links
// (#q=ssh&proto=tcp&sort=id&dir=desc) and the link between table and diagram.
extern const std::string_view kScript;

}  // namespace portmatrix::report::assets
