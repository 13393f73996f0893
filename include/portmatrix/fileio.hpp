// Whole-file reading and atomic writing (temporary file + rename), so an output
// file is either the old one or the complete new one, never half written.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "portmatrix/diag.hpp"

namespace portmatrix {

// True when path names a regular file (after following links).
bool is_regular_file(const std::string& path);
// Reads a whole file; "-" reads standard input. Every input file goes through
// here: a directory, an unreadable file or a read error is an io Error, never a throw.
Expected<std::string> read_file(const std::string& path);
// Writes content to path atomically; "-" writes to standard output.
Status write_file_atomic(const std::string& path, std::string_view content);

// One file of a set written together.
struct OutputFile {
  std::string path;
  std::string_view content;
};
// Writes several files all or nothing, as far as the OS allows: every file goes
// to a temporary name and every destination is checked (not a directory) before
// the first rename; on any failure the temporary files are removed and no
// destination is touched. Missing parent directories are created.
Status write_files_atomic(const std::vector<OutputFile>& files);

// The JSON text of j for output (indent < 0: one line). Strings that are not
// valid UTF-8 (a file name, say) get U+FFFD for each bad byte instead of throwing.
std::string json_text(const nlohmann::json& j, int indent = -1);
std::string json_text(const nlohmann::ordered_json& j, int indent = -1);

}  // namespace portmatrix
