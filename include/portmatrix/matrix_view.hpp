// Human views of a matrix: a terminal table, CSV and Markdown.
#pragma once
#include <string>

#include "portmatrix/model.hpp"

namespace portmatrix {

// The protocols cell of a row: "tcp", "tcp/udp", or "unknown" for NA.
std::string protocols_label(const ProtocolSet& p);
// A terminal table of the flows, followed by the notes.
std::string matrix_table(const Matrix& m);
// One CSV line per flow with a header line; every field of the model.
std::string matrix_csv(const Matrix& m);
// A Markdown document: the flows table and the notes.
std::string matrix_markdown(const Matrix& m);

}  // namespace portmatrix
