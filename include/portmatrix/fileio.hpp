// Whole-file reading and atomic writing (temporary file + rename), so an output
// file is either the old one or the complete new one, never half written.
#pragma once
#include <string>
#include <string_view>

#include "portmatrix/diag.hpp"

namespace portmatrix {

// True when path names a regular file (after following links).
bool is_regular_file(const std::string& path);
// Reads a whole file; "-" reads standard input.
Expected<std::string> read_file(const std::string& path);
// Writes content to path atomically; "-" writes to standard output.
Status write_file_atomic(const std::string& path, std::string_view content);

}  // namespace portmatrix
