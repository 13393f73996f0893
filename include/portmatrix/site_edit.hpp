// Editing a site file in place for `portmatrix firewall allow|deny|ports`: one
// setting changes, every other byte (comments, order, spacing) stays as it was.
#pragma once
#include <string>
#include <string_view>

#include "portmatrix/diag.hpp"

namespace portmatrix {

// Sets flows.<row>.<key> to value, a YAML value written in flow style (`true`,
// `[5001, 5002]`). The result is read back and checked before it is returned.
Expected<std::string> edit_site_flow(std::string_view text, std::string_view file, std::string_view row,
                                     std::string_view key, std::string_view value);

}  // namespace portmatrix
