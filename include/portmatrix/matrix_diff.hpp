// Differences between two matrices, rows matched by what they say (systems,
// ports, protocols), not by their ids: typically the documented matrix against
// the one `learn` read off a capture.
#pragma once
#include <string>
#include <vector>

#include "portmatrix/model.hpp"

namespace portmatrix {

struct FieldChange {
  std::string field;  // "sources", "destination_ports", "protocols", "state", ...
  std::string a, b;   // the values, as text
};

struct RowChange {
  const Flow* a = nullptr;
  const Flow* b = nullptr;
  std::vector<FieldChange> changes;
};

struct MatrixDiff {
  std::vector<const Flow*> removed;  // only in A
  std::vector<const Flow*> added;    // only in B
  std::vector<RowChange> changed;    // matched, some facts differ
  std::size_t same = 0;              // matched with the same facts
  bool empty() const { return removed.empty() && added.empty() && changed.empty(); }
};

// Compares the rows of a and b (the matrices must outlive the result).
MatrixDiff diff_matrices(const Matrix& a, const Matrix& b);

std::string diff_text(const MatrixDiff& d);
std::string diff_json(const MatrixDiff& d);

}  // namespace portmatrix
