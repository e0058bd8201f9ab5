// NumPy .npz archives: members read as float32 tensors, and a member whose zip entry claims more
// bytes than the archive holds refused before anything that size is allocated.
#include "runtime/formats/npz.h"

#include <gtest/gtest.h>
#include <zip.h>

#include <cstring>

#include "mamba2/npy.h"
#include "tests/runtime/formats/format_test_util.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

namespace fs = std::filesystem;
using testing::read_bytes;
using testing::scratch_dir;

// An .npz of one stored member "w.npy" holding [1, 2, 3]; returns its path.
fs::path write_npz(const std::string& stem) {
  const fs::path dir = scratch_dir() / "npz";
  fs::create_directories(dir);
  const fs::path npy = dir / (stem + ".npy");
  const float values[] = {1.0f, 2.0f, 3.0f};
  const int64_t shape[] = {3};
  write_npy(npy, shape, values);
  const std::vector<std::byte> member = read_bytes(npy);

  const fs::path path = dir / (stem + ".npz");
  int error = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  EXPECT_NE(zip, nullptr);
  zip_source_t* source = zip_source_buffer(zip, member.data(), member.size(), 0);
  const zip_int64_t index = zip_file_add(zip, "w.npy", source, 0);
  EXPECT_GE(index, 0);
  EXPECT_EQ(zip_set_file_compression(zip, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0), 0);
  EXPECT_EQ(zip_close(zip), 0);
  return path;
}

TEST(Npz, ReadsAStoredMember) {
  const CheckpointTensors tensors = read_npz(write_npz("plain"));
  ASSERT_EQ(tensors.tensors.size(), 1u);
  EXPECT_EQ(tensors.tensors[0].name, "w");
  EXPECT_EQ(tensors.tensors[0].shape, (std::vector<int64_t>{3}));
  float values[3];
  ASSERT_EQ(tensors.tensors[0].bytes.size(), sizeof values);
  std::memcpy(values, tensors.tensors[0].bytes.data(), sizeof values);
  EXPECT_EQ(values[2], 3.0f);
}

TEST(Npz, RefusesAMemberClaimingMoreBytesThanTheArchive) {
  const fs::path path = write_npz("claims_64mib");
  std::vector<std::byte> bytes = read_bytes(path);
  // The central directory entry's compressed and uncompressed sizes, at offsets 20 and 24.
  const char signature[] = {'P', 'K', 1, 2};
  size_t at = 0;
  while (at + 28 <= bytes.size() && std::memcmp(&bytes[at], signature, 4) != 0) ++at;
  ASSERT_LE(at + 28, bytes.size());
  const uint32_t claimed = 64u << 20;
  for (size_t field : {size_t{20}, size_t{24}}) {
    for (size_t i = 0; i < 4; ++i) bytes[at + field + i] = std::byte((claimed >> (8 * i)) & 0xff);
  }
  testing::write_bytes(path, bytes);
  EXPECT_ERROR_MENTIONS(read_npz(path), "more than the archive's");
}

}  // namespace
}  // namespace mamba2
