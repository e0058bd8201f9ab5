// The torch.save zip and its pickle: the fixture, hand-made pickles (safe and hostile), and zips
// rewritten by libzip (compressed entries, no data.pkl).
#include "runtime/formats/torch_zip.h"

#include <gtest/gtest.h>
#include <zip.h>

#include <cstring>

#include "runtime/formats/checkpoint_dir.h"
#include "runtime/formats/pickle.h"
#include "tests/runtime/formats/format_test_util.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

namespace fs = std::filesystem;
using testing::fixture_dir;
using testing::read_bytes;
using testing::scratch_dir;

// Writes pickle opcodes by hand, as protocol 2 lays them out.
class PickleWriter {
 public:
  PickleWriter& op(char code) {
    bytes_.push_back(static_cast<std::byte>(code));
    return *this;
  }
  PickleWriter& raw(std::string_view text) {
    for (char c : text) op(c);
    return *this;
  }
  PickleWriter& proto() { return op('\x80').op('\x02'); }
  PickleWriter& global(std::string_view module, std::string_view name) {
    return op('c').raw(module).op('\n').raw(name).op('\n');
  }
  PickleWriter& unicode(std::string_view text) {
    const auto n = static_cast<uint32_t>(text.size());
    op('X');
    for (int i = 0; i < 4; ++i) op(static_cast<char>((n >> (8 * i)) & 0xff));
    return raw(text);
  }
  PickleWriter& int1(uint8_t value) { return op('K').op(static_cast<char>(value)); }
  PickleWriter& mark() { return op('('); }

  // _rebuild_tensor_v2 of a FloatStorage `key` of `numel` elements, 2-D.
  PickleWriter& tensor_2d(std::string_view key, uint8_t numel, uint8_t rows, uint8_t cols,
                          uint8_t row_stride, uint8_t col_stride) {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    mark().unicode("storage").global("torch", "FloatStorage").unicode(key).unicode("cpu");
    int1(numel).op('t').op('Q');
    int1(0).int1(rows).int1(cols).op('\x86').int1(row_stride).int1(col_stride).op('\x86');
    op('\x89').global("collections", "OrderedDict").op(')').op('R');
    return op('t').op('R');
  }

  // OrderedDict{name: tensor}, as torch.save writes a state dict.
  std::vector<std::byte> state_dict(uint8_t row_stride, uint8_t col_stride) {
    proto().global("collections", "OrderedDict").op(')').op('R').mark();
    unicode("w").tensor_2d("0", 6, 2, 3, row_stride, col_stride);
    op('u').op('.');
    return bytes_;
  }

  std::vector<std::byte> bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

TEST(Pickle, ParsesAHandWrittenStateDict) {
  const auto tensors = parse_state_dict_pickle(PickleWriter().state_dict(3, 1), "x.bin");
  ASSERT_EQ(tensors.size(), 1u);
  EXPECT_EQ(tensors[0].name, "w");
  EXPECT_EQ(tensors[0].storage_key, "0");
  EXPECT_EQ(tensors[0].dtype, DType::kF32);
  EXPECT_EQ(tensors[0].storage_numel, 6);
  EXPECT_EQ(tensors[0].storage_offset, 0);
  EXPECT_EQ(tensors[0].shape, (std::vector<int64_t>{2, 3}));
}

TEST(Pickle, RejectsNonContiguousTensors) {
  EXPECT_ERROR_MENTIONS(parse_state_dict_pickle(PickleWriter().state_dict(1, 2), "x.bin"),
                        "x.bin: pickle: a tensor of storage '0' is not contiguous");
}

TEST(Pickle, RefusesGlobalsOtherThanAStateDictsAndExecutesNothing) {
  // The classic payload: os.system("touch <file>") on load.
  const fs::path marker = scratch_dir() / "pwned";
  PickleWriter evil;
  evil.proto()
      .global("os", "system")
      .unicode("touch " + marker.string())
      .op('\x85')
      .op('R')
      .op('.');
  EXPECT_ERROR_MENTIONS(parse_state_dict_pickle(evil.bytes(), "evil.bin"),
                        "evil.bin: pickle: global 'os.system' is not allowed");
  EXPECT_FALSE(fs::exists(marker));

  PickleWriter eval;
  eval.proto().global("builtins", "eval").unicode("1+1").op('\x85').op('R').op('.');
  EXPECT_ERROR_MENTIONS(parse_state_dict_pickle(eval.bytes(), "x"),
                        "global 'builtins.eval' is not allowed");

  // A storage class used as a function.
  PickleWriter storage_call;
  storage_call.proto().global("torch", "FloatStorage").op(')').op('R').op('.');
  EXPECT_ERROR_MENTIONS(parse_state_dict_pickle(storage_call.bytes(), "x"), "REDUCE");
}

TEST(Pickle, RejectsUnknownOpcodesTruncationAndUnderflow) {
  PickleWriter inst;  // INST: protocol 0's way of calling a class
  inst.proto().op('i').raw("os\nsystem\n").op('.');
  EXPECT_ERROR_MENTIONS(parse_state_dict_pickle(inst.bytes(), "x"), "opcode 0x69");

  auto whole = PickleWriter().state_dict(3, 1);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{20}, whole.size() / 2, whole.size() - 1}) {
    const std::vector<std::byte> truncated(whole.begin(),
                                           whole.begin() + static_cast<ptrdiff_t>(cut));
    EXPECT_ERROR_MENTIONS(parse_state_dict_pickle(truncated, "x"), "pickle: truncated");
  }

  PickleWriter underflow;
  underflow.proto().op('R');
  EXPECT_ERROR_MENTIONS(parse_state_dict_pickle(underflow.bytes(), "x"), "stack underflow");
  PickleWriter past_mark;  // TUPLE1 may not take items from before a MARK
  past_mark.proto().int1(1).mark().op('\x85');
  EXPECT_ERROR_MENTIONS(parse_state_dict_pickle(past_mark.bytes(), "x"), "stack underflow");
  PickleWriter memo;
  memo.proto().op('h').op('\x07');
  EXPECT_ERROR_MENTIONS(parse_state_dict_pickle(memo.bytes(), "x"), "memo entry 7 is not set");
  PickleWriter not_dict;
  not_dict.proto().int1(3).op('.');
  EXPECT_ERROR_MENTIONS(parse_state_dict_pickle(not_dict.bytes(), "x"), "not a dict of tensors");
}

TEST(Pickle, SurvivesSelfReferenceAndDeepNesting) {
  // d = {}; d['x'] = d -- a cycle; the dict then is not a state dict.
  PickleWriter cycle;
  cycle.proto().op('}').op('q').op('\0').unicode("x").op('h').op('\0').op('s').op('.');
  EXPECT_ERROR_MENTIONS(parse_state_dict_pickle(cycle.bytes(), "x"), "is not a tensor");

  // 100000 nested tuples: nothing recursive may run out of stack.
  PickleWriter deep;
  deep.proto();
  for (int i = 0; i < 100000; ++i) deep.mark();
  for (int i = 0; i < 100000; ++i) deep.op('t');
  deep.op('.');
  EXPECT_ERROR_MENTIONS(parse_state_dict_pickle(deep.bytes(), "x"), "not a dict of tensors");
}

// Copies every entry of `from` into a new zip at `to`, with `method` compression, leaving out
// entries whose names end in `skip`.
void rewrite_zip(const fs::path& from, const fs::path& to, int32_t method, std::string_view skip) {
  int error = 0;
  zip_t* in = zip_open(from.c_str(), ZIP_RDONLY, &error);
  ASSERT_NE(in, nullptr);
  zip_t* out = zip_open(to.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(out, nullptr);
  for (zip_int64_t i = 0; i < zip_get_num_entries(in, 0); ++i) {
    const std::string name = zip_get_name(in, static_cast<zip_uint64_t>(i), 0);
    if (!skip.empty() && name.ends_with(skip)) continue;
    zip_source_t* source = zip_source_zip(out, in, static_cast<zip_uint64_t>(i), 0, 0, -1);
    ASSERT_NE(source, nullptr);
    const zip_int64_t index = zip_file_add(out, name.c_str(), source, ZIP_FL_ENC_UTF_8);
    ASSERT_GE(index, 0);
    zip_set_file_compression(out, static_cast<zip_uint64_t>(index), method, 9);
  }
  ASSERT_EQ(zip_close(out), 0);
  zip_discard(in);
}

TEST(TorchZip, ReadsTheFixtureWithTiedStorageShared) {
  const CheckpointTensors tensors = read_torch_zip(fixture_dir("tiny") / "pytorch_model.bin");
  ASSERT_EQ(tensors.tensors.size(), 1u + 2 * 9 + 1 + 1);  // with lm_head
  const CheckpointTensor* embedding = nullptr;
  const CheckpointTensor* lm_head = nullptr;
  for (const auto& tensor : tensors.tensors) {
    if (tensor.name == "backbone.embedding.weight") embedding = &tensor;
    if (tensor.name == "lm_head.weight") lm_head = &tensor;
    if (tensor.name == "backbone.layers.0.mixer.conv1d.weight") {
      EXPECT_EQ(tensor.shape, (std::vector<int64_t>{160, 1, 4}));
    }
  }
  ASSERT_TRUE(embedding && lm_head);
  EXPECT_EQ(embedding->shape, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(embedding->bytes.data(), lm_head->bytes.data());  // one storage, mapped once
}

TEST(TorchZip, CompressedEntriesAreInflatedIntoTheSameTensors) {
  const fs::path dir = scratch_dir();
  rewrite_zip(fixture_dir("small_groups") / "pytorch_model.bin", dir / "deflated.bin",
              ZIP_CM_DEFLATE, "");
  const CheckpointTensors deflated = read_torch_zip(dir / "deflated.bin");
  const CheckpointTensors stored =
      read_torch_zip(fixture_dir("small_groups") / "pytorch_model.bin");
  EXPECT_GT(deflated.storage.size(), 1u);  // owned buffers
  ASSERT_EQ(deflated.tensors.size(), stored.tensors.size());
  for (size_t i = 0; i < stored.tensors.size(); ++i) {
    const auto& a = deflated.tensors[i];
    const auto& b = stored.tensors[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.shape, b.shape);
    ASSERT_EQ(a.bytes.size(), b.bytes.size());
    EXPECT_EQ(std::memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size()), 0) << a.name;
  }

  // Stored again (by libzip rather than torch): mapped in place again.
  rewrite_zip(dir / "deflated.bin", dir / "stored.bin", ZIP_CM_STORE, "");
  const CheckpointTensors restored = read_torch_zip(dir / "stored.bin");
  EXPECT_EQ(restored.storage.size(), 1u);
  ASSERT_EQ(restored.tensors.size(), stored.tensors.size());
  for (size_t i = 0; i < stored.tensors.size(); ++i) {
    EXPECT_EQ(std::memcmp(restored.tensors[i].bytes.data(), stored.tensors[i].bytes.data(),
                          stored.tensors[i].bytes.size()),
              0);
  }
}

TEST(TorchZip, RejectsArchivesThatAreNotTorchSaves) {
  const fs::path dir = scratch_dir();
  rewrite_zip(fixture_dir("tiny") / "pytorch_model.bin", dir / "no_pickle.bin", ZIP_CM_STORE,
              "/data.pkl");
  EXPECT_ERROR_MENTIONS(read_torch_zip(dir / "no_pickle.bin"), "has no data.pkl entry");

  rewrite_zip(fixture_dir("tiny") / "pytorch_model.bin", dir / "no_storage.bin", ZIP_CM_STORE,
              "/data/3");
  EXPECT_ERROR_MENTIONS(read_torch_zip(dir / "no_storage.bin"),
                        "has no entry 'pytorch_model/data/3'");

  auto bytes = read_bytes(fixture_dir("tiny") / "pytorch_model.bin");
  bytes.resize(bytes.size() / 2);
  testing::write_bytes(dir / "truncated.bin", bytes);
  EXPECT_ERROR_MENTIONS(read_torch_zip(dir / "truncated.bin"), "not a readable zip archive");

  testing::write_bytes(dir / "text.bin", "hello", 5);
  EXPECT_ERROR_MENTIONS(read_torch_zip(dir / "text.bin"), "not a readable zip archive");
}

TEST(TorchZip, ChecksTheByteOrderWhenRecorded) {
  const fs::path dir = scratch_dir();
  for (const char* order : {"little", "big"}) {
    const fs::path path = dir / (std::string(order) + ".bin");
    rewrite_zip(fixture_dir("tiny") / "pytorch_model.bin", path, ZIP_CM_STORE, "");
    int error = 0;
    zip_t* zip = zip_open(path.c_str(), 0, &error);
    ASSERT_NE(zip, nullptr);
    zip_source_t* source = zip_source_buffer(zip, order, std::strlen(order), 0);
    ASSERT_GE(zip_file_add(zip, "pytorch_model/byteorder", source, 0), 0);
    ASSERT_EQ(zip_close(zip), 0);
  }
  EXPECT_EQ(read_torch_zip(dir / "little.bin").tensors.size(), 21u);
  EXPECT_ERROR_MENTIONS(read_torch_zip(dir / "big.bin"), "'big'-endian");
}

TEST(TorchZip, HostilePickleInsideTheArchive) {
  const fs::path dir = scratch_dir();
  int error = 0;
  zip_t* out = zip_open((dir / "evil.bin").c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(out, nullptr);
  PickleWriter evil;
  evil.proto().global("os", "system").unicode("echo hi").op('\x85').op('R').op('.');
  const auto pickle = evil.bytes();
  zip_source_t* source = zip_source_buffer(out, pickle.data(), pickle.size(), 0);
  ASSERT_GE(zip_file_add(out, "archive/data.pkl", source, 0), 0);
  ASSERT_EQ(zip_close(out), 0);
  EXPECT_ERROR_MENTIONS(read_torch_zip(dir / "evil.bin"),
                        "evil.bin: pickle: global 'os.system' is not allowed");
}

}  // namespace
}  // namespace mamba2
