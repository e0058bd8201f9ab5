#include "runtime/threading/wavefront.h"

#include <tbb/flow_graph.h>

#include <algorithm>
#include <vector>

#include "runtime/threading/plain_threads.h"

namespace mamba2 {

struct Wavefront::Graph {
  using Node = tbb::flow::continue_node<tbb::flow::continue_msg>;

  // Built inside the context's arena, which the graph then runs in.
  Graph(int64_t rows, int64_t columns, const Cell& cell) {
    for (int64_t row = 0; row < rows; ++row) {
      for (int64_t column = 0; column < columns; ++column) {
        nodes.push_back(std::make_unique<Node>(
            graph, [&cell, row, column](const tbb::flow::continue_msg&) { cell(row, column); }));
      }
    }
    auto node = [&](int64_t row, int64_t column) -> Node& {
      return *nodes[row * columns + column];
    };
    for (int64_t row = 0; row < rows; ++row) {
      for (int64_t column = 0; column < columns; ++column) {
        if (row > 0) tbb::flow::make_edge(node(row - 1, column), node(row, column));
        if (column > 0) tbb::flow::make_edge(node(row, column - 1), node(row, column));
      }
    }
  }

  tbb::flow::graph graph;
  std::vector<std::unique_ptr<Node>> nodes;
};

Wavefront::Wavefront(const ThreadingContext& threading, int64_t rows, int64_t columns, Cell cell)
    : threading_(threading), rows_(rows), columns_(columns), cell_(std::move(cell)) {}

Wavefront::~Wavefront() = default;

void Wavefront::run() {
  if (rows_ <= 0 || columns_ <= 0) return;
  if (threading_.threads() == 1) {
    for (int64_t column = 0; column < columns_; ++column) {
      for (int64_t row = 0; row < rows_; ++row) cell_(row, column);
    }
    return;
  }
  if (threading_detail::kPlainThreads) {
    run_diagonals();
    return;
  }
  if (!graph_) graph_ = std::make_unique<Graph>(rows_, columns_, cell_);
  graph_->nodes.front()->try_put(tbb::flow::continue_msg());
  try {
    graph_->graph.wait_for_all();
  } catch (...) {
    graph_.reset();  // a cancelled graph does not run again; the next run() builds a new one
    throw;
  }
}

// Anti-diagonal by anti-diagonal through for_tiles: both of a cell's predecessors are on the
// diagonal before it, so this is one valid order of the graph's.
void Wavefront::run_diagonals() {
  for (int64_t diagonal = 0; diagonal < rows_ + columns_ - 1; ++diagonal) {
    const int64_t first = std::max<int64_t>(0, diagonal - (rows_ - 1));  // first column
    const int64_t last = std::min(columns_ - 1, diagonal);
    threading_.for_tiles(last - first + 1, 1, [&](int64_t begin, int64_t) {
      const int64_t column = first + begin;
      cell_(diagonal - column, column);
    });
  }
}

}  // namespace mamba2
