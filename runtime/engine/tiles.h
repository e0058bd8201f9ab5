// Tile sizes of the engine's parallel loops: coarse enough that scheduling costs little, fine
// enough to load-balance two or more threads on the released model sizes. Tile boundaries depend
// on the problem size only, so 1 and N threads give the same bits.
#pragma once

#include <cstdint>

namespace mamba2 {

inline constexpr int64_t kTokenTile = 16;
inline constexpr int64_t kChannelTile = 512;

}  // namespace mamba2
