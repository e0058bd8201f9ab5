#include "runtime/threading/wavefront.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace mamba2 {
namespace {

// Every cell once, each after both of its predecessors: a cell checks that they are done before
// marking itself, so a schedule that ran a cell early fails here.
class WavefrontOrder {
 public:
  WavefrontOrder(int64_t rows, int64_t columns)
      : rows_(rows), columns_(columns), runs_(static_cast<size_t>(rows * columns)) {}

  void cell(int64_t row, int64_t column) {
    if (row > 0 && runs_[index(row - 1, column)].load() != round_) early_.store(true);
    if (column > 0 && runs_[index(row, column - 1)].load() != round_) early_.store(true);
    runs_[index(row, column)].fetch_add(1);
  }

  void expect_round_complete() {
    EXPECT_FALSE(early_.load());
    for (int64_t row = 0; row < rows_; ++row) {
      for (int64_t column = 0; column < columns_; ++column) {
        EXPECT_EQ(runs_[index(row, column)].load(), round_) << "cell " << row << ", " << column;
      }
    }
    ++round_;
  }

 private:
  size_t index(int64_t row, int64_t column) const {
    return static_cast<size_t>(row * columns_ + column);
  }

  int64_t rows_, columns_;
  std::vector<std::atomic<int>> runs_;
  int round_ = 1;  // what a finished cell's count is in the current round
  std::atomic<bool> early_{false};
};

TEST(Wavefront, RunsEveryCellOnceAfterItsPredecessorsOnAnyThreadCount) {
  for (const int threads : {1, 2, 3}) {
    const ThreadingContext threading(threads);
    for (const auto& [rows, columns] :
         {std::pair<int64_t, int64_t>{1, 1}, {1, 5}, {5, 1}, {13, 4}}) {
      SCOPED_TRACE(testing::Message() << threads << " threads, " << rows << " x " << columns);
      WavefrontOrder order(rows, columns);
      Wavefront wavefront(threading, rows, columns,
                          [&](int64_t row, int64_t column) { order.cell(row, column); });
      for (int round = 0; round < 3; ++round) {  // made once, run again for every window
        threading.execute([&] { wavefront.run(); });
        order.expect_round_complete();
      }
    }
  }
}

TEST(Wavefront, OneThreadTakesTheCellsColumnByColumn) {
  const ThreadingContext threading(1);
  std::vector<std::pair<int64_t, int64_t>> order;
  Wavefront wavefront(threading, 3, 2,
                      [&](int64_t row, int64_t column) { order.emplace_back(row, column); });
  wavefront.run();
  const std::vector<std::pair<int64_t, int64_t>> expected = {{0, 0}, {1, 0}, {2, 0},
                                                             {0, 1}, {1, 1}, {2, 1}};
  EXPECT_EQ(order, expected);
}

TEST(Wavefront, ACellsExceptionReachesTheCallerAndTheNextRunStartsOver) {
  const ThreadingContext threading(2);
  std::atomic<bool> fail{true};
  std::atomic<int> cells{0};
  Wavefront wavefront(threading, 4, 3, [&](int64_t row, int64_t column) {
    if (fail.load() && row == 1 && column == 1) throw std::runtime_error("cell failed");
    cells.fetch_add(1);
  });
  EXPECT_THROW(threading.execute([&] { wavefront.run(); }), std::runtime_error);
  EXPECT_LT(cells.load(), 12);  // (1, 1)'s successors did not run
  fail = false;
  cells = 0;
  threading.execute([&] { wavefront.run(); });
  EXPECT_EQ(cells.load(), 12);
}

}  // namespace
}  // namespace mamba2
