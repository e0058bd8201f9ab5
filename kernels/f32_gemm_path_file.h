// The f32 GEMM path chosen per K, kept in a file so that every process on a machine computes
// with the same one. The paths round differently; timing them afresh in each process let two
// runs of one command on a busy machine give different bits (a chat saved twice, two outputs of
// one seed). The first process to need a K times both paths and writes the result; the others
// read it. Like FFTW's wisdom, the file is a cache: delete it to time again.
//
// The file holds lines "<machine>\t<K>\t<path>", the machine naming what the timing depends on
// (CPU, SIMD level, OPENBLAS_CORETYPE, sanitizer build), so one file serves every build and CPU
// a home directory meets. It is read as untrusted: lines that do not parse are dropped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "kernels/matmul_f32_panels.h"
#include "mamba2/function_ref.h"

namespace mamba2::kernels {

// (machine, K) -> path.
using F32GemmPathChoices = std::map<std::pair<std::string, int64_t>, F32GemmPath>;

// The well-formed lines of a file's text; at most kMaxF32GemmPathLines of them.
F32GemmPathChoices parse_f32_gemm_path_file(std::string_view text);
std::string format_f32_gemm_path_file(const F32GemmPathChoices& choices);
constexpr size_t kMaxF32GemmPathLines = 4096;

// What this process's timings depend on, as one line without tabs.
std::string f32_gemm_machine_key();

// "$MAMBA2_CACHE_DIR/f32-gemm-paths", else under $XDG_CACHE_HOME/mamba2 or ~/.cache/mamba2;
// nullopt where none of these is set.
std::optional<std::filesystem::path> default_f32_gemm_path_file();

// The path `file` records for (machine, k), else decide()'s, recorded. Processes sharing the file
// agree: the lookup, decide() and the write hold an exclusive lock on "<file>.lock". Where the
// file's directory cannot be made or written, decide()'s answer is returned unrecorded.
F32GemmPath find_or_record_f32_gemm_path(const std::filesystem::path& file,
                                         std::string_view machine, int64_t k,
                                         FunctionRef<F32GemmPath()> decide);

}  // namespace mamba2::kernels
