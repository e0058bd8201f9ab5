#include "mamba2/npy.h"

#include <gtest/gtest.h>

#include <fstream>

#include "mamba2/error.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

TEST(Npy, ReadsFixtureLogits) {
  const NpyArray logits = read_npy(testing::fixture_dir("tiny") / "logits_p4.npy");
  EXPECT_EQ(logits.shape, (std::vector<int64_t>{40, 256}));
  ASSERT_EQ(logits.data.size(), 40u * 256u);
}

TEST(Npy, WriteThenReadRoundTrips) {
  const auto path = testing::scratch_dir() / "a.npy";
  const std::vector<int64_t> shape = {2, 3};
  const std::vector<float> data = {1, 2, 3, 4, 5, -6.5f};
  write_npy(path, shape, data);
  const NpyArray back = read_npy(path);
  EXPECT_EQ(back.shape, shape);
  EXPECT_EQ(back.data, data);

  const std::vector<int64_t> vector_shape = {6};
  write_npy(path, vector_shape, data);
  EXPECT_EQ(read_npy(path).shape, vector_shape);
}

TEST(Npy, RejectsTruncatedAndForeignFiles) {
  const auto dir = testing::scratch_dir();
  std::ofstream(dir / "text.npy") << "hello";
  EXPECT_THROW(read_npy(dir / "text.npy"), Error);

  const std::vector<int64_t> shape = {4, 4};
  const std::vector<float> data(16, 1.0f);
  write_npy(dir / "full.npy", shape, data);
  std::filesystem::resize_file(dir / "full.npy", std::filesystem::file_size(dir / "full.npy") - 4);
  EXPECT_THROW(read_npy(dir / "full.npy"), Error);
  EXPECT_THROW(read_npy(dir / "missing.npy"), Error);
}

}  // namespace
}  // namespace mamba2
