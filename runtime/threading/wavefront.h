// A rows x columns grid of work in which cell (row, column) runs once (row - 1, column) and
// (row, column - 1) are done: a layer x chunk prefill, where layer l + 1 starts a chunk while
// layer l works on the next. Made once and run for every window, so a short prompt pays for no
// graph construction.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "mamba2/threading_context.h"

namespace mamba2 {

class Wavefront {
 public:
  using Cell = std::function<void(int64_t row, int64_t column)>;

  Wavefront(const ThreadingContext& threading, int64_t rows, int64_t columns, Cell cell);
  ~Wavefront();
  Wavefront(const Wavefront&) = delete;
  Wavefront& operator=(const Wavefront&) = delete;

  // Runs every cell once, on the context's threads when called inside its execute(). One thread
  // takes the cells column by column, so a column's data stays in cache from row to row. If a
  // cell throws, cells not yet started are skipped and the exception reaches the caller.
  void run();

 private:
  struct Graph;  // TBB's flow graph, built on the first parallel run()

  void run_diagonals();

  const ThreadingContext& threading_;
  int64_t rows_;
  int64_t columns_;
  Cell cell_;
  std::unique_ptr<Graph> graph_;
};

}  // namespace mamba2
