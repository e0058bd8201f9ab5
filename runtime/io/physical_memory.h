// How much memory this machine has: the bound for allocations sized by a user's flags, so an
// absurd size is a clear error up front rather than an out-of-memory kill halfway through.
#pragma once

#include <cstdint>

namespace mamba2 {

// Bytes of physical memory, or UINT64_MAX when the system does not say.
uint64_t physical_memory_bytes();

}  // namespace mamba2
