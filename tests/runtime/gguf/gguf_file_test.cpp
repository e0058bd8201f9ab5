#include "runtime/gguf/gguf_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "mamba2/error.h"
#include "runtime/gguf/gguf_writer.h"
#include "tests/runtime/gguf/gguf_bytes.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using testing::GgufBytes;

std::vector<unsigned char> read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Expects opening `bytes` to fail with a message containing `fragment`.
void expect_rejected(const GgufBytes& bytes, const std::string& fragment) {
  const auto path = bytes.save(testing::scratch_dir() / "bad.gguf");
  try {
    GgufFile::open(path);
    FAIL() << "accepted a file that should fail with '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.gguf"), std::string::npos) << e.what();
  }
}

TEST(GgufWriter, HeaderBytesHandComputed) {
  GgufWriter writer;
  writer.add_uint32("a", 7);
  const float values[2] = {1.0f, -2.0f};
  TensorView view{DType::kF32, {2}, reinterpret_cast<const std::byte*>(values), 8};
  writer.add_tensor("t", view);
  const auto path = testing::scratch_dir() / "hand.gguf";
  const uint64_t size = writer.write(path);

  // magic(4) version(4) n_tensors(8) n_kv(8) | key len(8) "a"(1) type(4) value(4)
  // | name len(8) "t"(1) n_dims(4) ne0(8) type(4) offset(8) = 24 + 17 + 33 = 74 -> pad to 96
  // | data 8 bytes -> pad to 128.
  const std::vector<unsigned char> expected_head = {
      'G', 'G', 'U', 'F', 3, 0, 0, 0,                               // magic, version 3
      1,   0,   0,   0,   0, 0, 0, 0, 1,   0, 0, 0, 0, 0, 0, 0,     // 1 tensor, 1 key
      1,   0,   0,   0,   0, 0, 0, 0, 'a', 4, 0, 0, 0, 7, 0, 0, 0,  // "a": uint32 7
      1,   0,   0,   0,   0, 0, 0, 0, 't', 1, 0, 0, 0,              // "t", 1 dim
      2,   0,   0,   0,   0, 0, 0, 0, 0,   0, 0, 0,                 // ne0 = 2, f32
      0,   0,   0,   0,   0, 0, 0, 0};                              // offset 0
  const auto bytes = read_all(path);
  ASSERT_EQ(size, 128u);
  ASSERT_EQ(bytes.size(), 128u);
  ASSERT_EQ(expected_head.size(), 74u);
  EXPECT_TRUE(std::equal(expected_head.begin(), expected_head.end(), bytes.begin()));
  for (size_t i = 74; i < 96; ++i) EXPECT_EQ(bytes[i], 0) << i;
  const std::vector<unsigned char> data = {0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0};  // 1.0f, -2.0f
  EXPECT_TRUE(std::equal(data.begin(), data.end(), bytes.begin() + 96));
  for (size_t i = 104; i < 128; ++i) EXPECT_EQ(bytes[i], 0) << i;
}

TEST(GgufWriter, MetadataAndTensorsReadBack) {
  GgufWriter writer(64);
  writer.add_uint32("general.alignment", 64);
  writer.add_string("s", "hello");
  writer.add_float32("f", 0.5f);
  writer.add_bool("b", true);
  writer.add_int32("i", -3);
  writer.add_uint64("u", 1ull << 40);
  const std::vector<std::string> strings = {"x", "", "yz"};
  writer.add_string_array("sa", strings);
  const std::vector<int32_t> ints = {5, -6, 7};
  writer.add_int32_array("ia", ints);
  std::vector<float> a(6), b(3);
  for (int i = 0; i < 6; ++i) a[i] = static_cast<float>(i);
  for (int i = 0; i < 3; ++i) b[i] = static_cast<float>(-i);
  writer.add_tensor("a",
                    TensorView{DType::kF32, {2, 3}, reinterpret_cast<std::byte*>(a.data()), 24});
  writer.add_tensor("b", DType::kF32, {3}, [&](const GgufByteSink& sink) {
    // In two pieces, to check that producers may stream.
    sink({reinterpret_cast<std::byte*>(b.data()), 4});
    sink({reinterpret_cast<std::byte*>(b.data()) + 4, 8});
  });
  std::vector<std::string> progress;
  const auto path = testing::scratch_dir() / "meta.gguf";
  writer.write(path, [&](const GgufWriteProgress& p) {
    progress.push_back(std::string(p.name) + " " + std::to_string(p.index) + "/" +
                       std::to_string(p.count));
  });
  EXPECT_EQ(progress, (std::vector<std::string>{"a 0/2", "b 1/2"}));

  const GgufFile file = GgufFile::open(path);
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.alignment(), 64u);
  EXPECT_EQ(file.data_offset() % 64, 0u);
  EXPECT_EQ(file.get_string("s"), "hello");
  EXPECT_EQ(file.get_float("f"), 0.5);
  EXPECT_EQ(file.find_bool("b"), true);
  EXPECT_EQ(file.get_int("i"), -3);
  EXPECT_EQ(file.get_int("u"), int64_t{1} << 40);
  const auto sa = file.find_string_array("sa");
  ASSERT_TRUE(sa);
  EXPECT_EQ(std::vector<std::string_view>(sa->begin(), sa->end()),
            (std::vector<std::string_view>{"x", "", "yz"}));
  EXPECT_EQ(file.find_int_array("ia"), (std::vector<int64_t>{5, -6, 7}));
  EXPECT_FALSE(file.find_int("missing"));
  EXPECT_THROW(file.get_int("missing"), Error);
  EXPECT_THROW(file.find_int("s"), Error);  // wrong type
  EXPECT_THROW(file.find_string("i"), Error);

  ASSERT_EQ(file.tensors().size(), 2u);
  const GgufTensorInfo* ta = file.find_tensor("a");
  ASSERT_NE(ta, nullptr);
  EXPECT_EQ(ta->shape, (TensorShape{2, 3}));  // outermost first, as written
  EXPECT_EQ(ta->offset % 64, 0u);
  const auto va = file.view(*ta).f32();
  EXPECT_TRUE(std::equal(va.begin(), va.end(), a.begin()));
  const auto vb = file.view(*file.find_tensor("b")).f32();
  EXPECT_TRUE(std::equal(vb.begin(), vb.end(), b.begin()));
}

TEST(GgufWriter, ProducerMustMatchTheSize) {
  GgufWriter writer;
  writer.add_tensor("short", DType::kF32, {4}, [](const GgufByteSink& sink) {
    const std::byte four[4]{};
    sink(four);
  });
  const auto path = testing::scratch_dir() / "short.gguf";
  EXPECT_THROW(writer.write(path), Error);
  EXPECT_FALSE(std::filesystem::exists(path));  // nothing half-written is left behind
}

TEST(GgufWriter, DuplicateKeysAndTensorsAreRefused) {
  GgufWriter writer;
  writer.add_uint32("k", 1);
  EXPECT_THROW(writer.add_string("k", "again"), Error);
  const float x = 0;
  TensorView view{DType::kF32, {1}, reinterpret_cast<const std::byte*>(&x), 4};
  writer.add_tensor("t", view);
  EXPECT_THROW(writer.add_tensor("t", view), Error);
}

TEST(GgufFile, ReadsVersion2NestedArraysAndEveryScalarType) {
  GgufBytes bytes;
  bytes.header(1, 5, 2);
  bytes.str("u8").u32(0).put<uint8_t>(200);
  bytes.str("i16").u32(3).put<int16_t>(-300);
  bytes.str("f64").u32(12).put<double>(2.25);
  // [[1, 2], [3]] as an array of arrays of int8.
  bytes.str("nested").u32(9).u32(9).u64(2);
  bytes.u32(1).u64(2).put<int8_t>(1).put<int8_t>(2);
  bytes.u32(1).u64(1).put<int8_t>(3);
  bytes.kv_str("s", "text");
  bytes.tensor("w", {32}, 8, 0).pad_to(32);  // one Q8_0 block
  bytes.put<uint16_t>(0x3C00);               // d = 1
  for (int j = 0; j < 32; ++j) bytes.put<int8_t>(static_cast<int8_t>(j - 16));
  const auto path = bytes.save(testing::scratch_dir() / "v2.gguf");

  const GgufFile file = GgufFile::open(path);
  EXPECT_EQ(file.version(), 2u);
  EXPECT_EQ(file.get_int("u8"), 200);
  EXPECT_EQ(file.get_int("i16"), -300);
  EXPECT_EQ(file.get_float("f64"), 2.25);
  const GgufValue* nested = file.find("nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->arrays.size(), 2u);
  EXPECT_EQ(nested->arrays[0].int_element(1), 2);
  EXPECT_EQ(nested->arrays[1].int_element(0), 3);
  EXPECT_EQ(file.get_string("s"), "text");
  const GgufTensorInfo& w = file.tensors().at(0);
  EXPECT_EQ(w.dtype, DType::kQ8_0);
  EXPECT_EQ(w.nbytes, 34u);
  // One Q8_0 block by hand: scale bytes 00 3C, then the quants.
  const TensorView view = file.view(w);
  EXPECT_EQ(view.data[0], std::byte{0x00});
  EXPECT_EQ(view.data[1], std::byte{0x3C});
  EXPECT_EQ(view.data[2], std::byte{0xF0});  // -16
  EXPECT_EQ(view.data[33], std::byte{15});
}

TEST(GgufFile, RejectsWrongMagic) {
  GgufBytes bytes;
  bytes.u32(0x46554746).u32(3).u64(0).u64(0);
  expect_rejected(bytes, "not a GGUF file");
}

TEST(GgufFile, RejectsTruncatedHeader) {
  GgufBytes bytes;
  bytes.u32(0x46554747).u32(3).u32(0);  // tensor count cut short
  expect_rejected(bytes, "extends past the end of the file");
  GgufBytes tiny;
  tiny.put<uint16_t>(0x4747);
  expect_rejected(tiny, "extends past the end");
}

TEST(GgufFile, RejectsUnsupportedVersions) {
  GgufBytes v1;
  v1.header(0, 0, 1);
  expect_rejected(v1, "version 1 is not supported");
  GgufBytes big_endian;
  big_endian.header(0, 0, 0x03000000);
  expect_rejected(big_endian, "big-endian");
}

TEST(GgufFile, RejectsStringLengthPastTheEnd) {
  GgufBytes bytes;
  bytes.header(0, 1).str("key").u32(8).u64(1000).zeros(10);
  expect_rejected(bytes, "extends past the end of the file");
}

TEST(GgufFile, RejectsAbsurdCountsBeforeAllocating) {
  GgufBytes kv;
  kv.header(0, uint64_t{1} << 60).zeros(1000);
  expect_rejected(kv, "cannot fit in the remaining");

  GgufBytes tensors;
  tensors.header(uint64_t{1} << 62, 0).zeros(1000);
  expect_rejected(tensors, "cannot fit in the remaining");

  GgufBytes strings;  // an array of 2^60 strings in a 1 KB file
  strings.header(0, 1).str("tokens").u32(9).u32(8).u64(uint64_t{1} << 60).zeros(1000);
  expect_rejected(strings, "cannot fit in the remaining");

  GgufBytes floats;  // count * 4 would overflow 64 bits
  floats.header(0, 1).str("f").u32(9).u32(6).u64(~uint64_t{0} / 2).zeros(64);
  expect_rejected(floats, "cannot fit in the remaining");
}

TEST(GgufFile, RejectsDeepNesting) {
  GgufBytes bytes;
  bytes.header(0, 1).str("deep").u32(9);
  for (int level = 0; level < 20; ++level) bytes.u32(9).u64(1);
  bytes.u32(0).u64(0);
  expect_rejected(bytes, "nests arrays");
}

TEST(GgufFile, RejectsUnknownValueType) {
  GgufBytes bytes;
  bytes.header(0, 1).str("k").u32(13).u32(0);
  expect_rejected(bytes, "unknown value type 13");
}

TEST(GgufFile, RejectsDuplicateKeys) {
  GgufBytes bytes;
  bytes.header(0, 2).kv_u32("k", 1).kv_u32("k", 2);
  expect_rejected(bytes, "appears twice");
}

TEST(GgufFile, RejectsBadAlignment) {
  GgufBytes bytes;
  bytes.header(0, 1).kv_u32("general.alignment", 48);
  expect_rejected(bytes, "general.alignment");
}

TEST(GgufFile, RejectsSevenDimensions) {
  GgufBytes bytes;
  bytes.header(1, 0).tensor("w", {1, 1, 1, 1, 1, 1, 1}, 0, 0).pad_to(32).zeros(32);
  expect_rejected(bytes, "tensor 'w' has 7 dimensions");
}

TEST(GgufFile, RejectsElementCountOverflow) {
  GgufBytes bytes;
  bytes.header(1, 0).tensor("w", {int64_t{1} << 40, int64_t{1} << 40}, 0, 0).pad_to(32);
  expect_rejected(bytes, "tensor 'w' has more elements than fit");
}

TEST(GgufFile, RejectsByteSizeOverflow) {
  // 2^62 f32 elements fit in 64 bits; their 2^64 bytes do not.
  GgufBytes bytes;
  bytes.header(1, 0).tensor("w", {int64_t{1} << 31, int64_t{1} << 31}, 0, 0).pad_to(32);
  expect_rejected(bytes, "tensor 'w' is too large");
}

TEST(GgufFile, RejectsOffsetOutOfRange) {
  GgufBytes bytes;
  bytes.header(1, 0).tensor("w", {8}, 0, 64).pad_to(32).zeros(32);
  expect_rejected(bytes, "tensor 'w' (offset 64, 32 bytes) extends past the end");
  GgufBytes huge;
  huge.header(1, 0).tensor("w", {8}, 0, ~uint64_t{0} - 31).pad_to(32).zeros(32);
  expect_rejected(huge, "extends past the end");
}

TEST(GgufFile, RejectsMisalignedOffset) {
  GgufBytes bytes;
  bytes.header(1, 0).tensor("w", {2}, 0, 4).pad_to(32).zeros(64);
  expect_rejected(bytes, "tensor 'w' has offset 4, not a multiple of the alignment 32");
}

TEST(GgufFile, RejectsUnknownTensorType) {
  GgufBytes bytes;  // 16 is IQ2_XXS
  bytes.header(1, 0).tensor("blk.0.ssm_in.weight", {256}, 16, 0).pad_to(32).zeros(256);
  expect_rejected(bytes,
                  "tensor 'blk.0.ssm_in.weight' is iq2_xxs (ggml type 16), which this "
                  "runtime does not read");
}

TEST(GgufFile, RejectsPartialQ8Blocks) {
  GgufBytes bytes;
  bytes.header(1, 0).tensor("w", {33}, 8, 0).pad_to(32).zeros(128);
  expect_rejected(bytes, "not a multiple of the 32-element q8_0 block");
}

TEST(GgufFile, RejectsPartialKQuantBlocks) {
  GgufBytes bytes;  // 12 is Q4_K: 256-weight blocks
  bytes.header(1, 0).tensor("w", {128, 2}, 12, 0).pad_to(32).zeros(288);
  expect_rejected(bytes,
                  "tensor 'w' has rows of 128 elements, not a multiple of the 256-element "
                  "q4_K block");
}

TEST(GgufFile, RejectsABlockTypeScalar) {
  // No dimensions is one element: a row of 1, not a whole block (rather than "too large").
  GgufBytes bytes;
  bytes.header(1, 0).tensor("w", {}, 14, 0).pad_to(32).zeros(224);  // 14 is Q6_K
  expect_rejected(bytes,
                  "tensor 'w' has rows of 1 elements, not a multiple of the 256-element "
                  "q6_K block");
}

TEST(GgufFile, RejectsTruncatedKQuantData) {
  GgufBytes bytes;  // two Q6_K blocks are 420 bytes; the file holds 416
  bytes.header(1, 0).tensor("w", {512}, 14, 0).pad_to(32).zeros(416);
  expect_rejected(bytes, "tensor 'w' (offset 0, 420 bytes) extends past the end");
}

TEST(GgufFile, RejectsOverlappingTensors) {
  GgufBytes bytes;
  bytes.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).pad_to(32).zeros(128);
  expect_rejected(bytes, "overlap");
}

TEST(GgufFile, RejectsDuplicateTensorNames) {
  GgufBytes bytes;
  bytes.header(2, 0).tensor("a", {8}, 0, 0).tensor("a", {8}, 0, 32).pad_to(32).zeros(64);
  expect_rejected(bytes, "appears twice");
}

TEST(GgufFile, EmptyFileIsRejected) { expect_rejected(GgufBytes{}, "extends past the end"); }

}  // namespace
}  // namespace mamba2
