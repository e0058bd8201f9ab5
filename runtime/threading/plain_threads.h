// Whether this build runs parallel work on plain threads instead of TBB's.
#pragma once

namespace mamba2::threading_detail {

// True in a ThreadSanitizer build. TSan cannot see the synchronisation inside libtbb (Debian's is
// not instrumented) and would report TBB handing a task from one thread to another as a race, so
// there the tiles run on plain threads whose start and join it understands, and a wavefront runs
// through the tiles instead of a flow graph: the same work on as many threads, so what TSan
// checks is our code's sharing, not TBB's.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kPlainThreads = true;
#else
inline constexpr bool kPlainThreads = false;
#endif

}  // namespace mamba2::threading_detail
