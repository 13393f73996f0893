// Human views of a matrix: a terminal table, CSV and Markdown.
#pragma once
#include <string>
#include <vector>

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

// The columns of matrix_csv() and matrix_markdown(), and one flow's cells in that
// order, for views that add columns of their own (report.hpp).
const std::vector<std::string>& matrix_columns();
std::vector<std::string> matrix_cells(const Flow& f);
// The Markdown title line of matrix_markdown(), and its notes section ("" without notes).
std::string markdown_title(const Matrix& m);
std::string markdown_notes(const Matrix& m);

}  // namespace portmatrix
