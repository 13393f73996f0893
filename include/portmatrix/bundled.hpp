// Files compiled into the binary: the bundled matrices (data/matrices/*.yaml,
// kind "matrices") and the example sites (examples/*.yaml, kind "examples").
#pragma once
#include <span>
#include <string_view>

namespace portmatrix::bundled {

struct Entry {
  std::string_view kind;  // "matrices" or "examples"
  std::string_view name;  // file name without extension, e.g. "cms-r20" (so never holding '/')
  std::string_view text;  // file contents
};

// Every embedded file, in build order.
std::span<const Entry> entries();
// The contents of one embedded file, or an empty view when there is none (and so
// for every name with a '/': a path is never a bundled name).
std::string_view find(std::string_view kind, std::string_view name);

}  // namespace portmatrix::bundled
