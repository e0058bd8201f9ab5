// The ways a kernel can run (SimdLevel, Bf16Path, QuantPath) share one shape: each enum lists its
// values once, with the name benchmarks and tests print and a check that this CPU can run it, in
// a table declared beside the enum as
//   std::span<const PathInfo<Path>> path_table(Path);  // the argument only picks the enum
// The functions below read any such table (argument-dependent lookup finds it); each enum keeps
// only its own choice of path (simd_level(), bf16_path(tokens), quant_path()).
#pragma once

#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>

namespace mamba2::kernels {

template <class Path>
struct PathInfo {
  Path path;
  std::string_view name;
  bool (*supported)();  // whether this CPU (and the MAMBA2_SIMD cap) lets the path run
};

// The `supported` of a path every x86-64 CPU runs.
inline bool any_cpu() { return true; }

// The path's name; a value missing from the table gets the first entry's (the fallback's).
template <class Path>
std::string_view path_name(Path path) {
  const auto table = path_table(path);
  for (const PathInfo<Path>& info : table) {
    if (info.path == path) return info.name;
  }
  return table.front().name;
}

// The path of that name (the name a file or flag holds), or nullopt.
template <class Path>
std::optional<Path> path_named(std::string_view name) {
  for (const PathInfo<Path>& info : path_table(Path{})) {
    if (info.name == name) return info.path;
  }
  return std::nullopt;
}

template <class Path>
bool path_supported(Path path) {
  for (const PathInfo<Path>& info : path_table(path)) {
    if (info.path == path) return info.supported();
  }
  return false;
}

// The first of `preferred` (fastest first) this CPU supports, else `fallback`.
template <class Path>
Path first_supported(std::initializer_list<Path> preferred, Path fallback) {
  for (Path path : preferred) {
    if (path_supported(path)) return path;
  }
  return fallback;
}

}  // namespace mamba2::kernels
