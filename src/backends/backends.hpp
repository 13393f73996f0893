// The backend instances, one per file in src/backends/.
#pragma once
#include "portmatrix/backend.hpp"

namespace portmatrix {

const Backend& nftables_backend();

}  // namespace portmatrix
