// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

namespace wtcachefs {

// "512 bytes", "31.2 MiB": binary units, one decimal past bytes.
std::string HumanBytes(uint64_t bytes);

}  // namespace wtcachefs
