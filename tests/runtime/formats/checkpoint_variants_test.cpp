// Checkpoints the fixtures do not cover directly, derived from them: half-precision weights,
// unaligned data, transformers names; and damaged files of every kind, which must fail with an
// Error and nothing worse.
#include <gtest/gtest.h>
#include <zip.h>

#include <cmath>
#include <cstring>
#include <random>

#include "mamba2/model_weights.h"
#include "quant/row_conversion.h"
#include "runtime/formats/checkpoint_dir.h"
#include "runtime/formats/checkpoint_names.h"
#include "runtime/formats/pickle.h"
#include "runtime/formats/safetensors.h"
#include "runtime/formats/torch_zip.h"
#include "tests/runtime/formats/format_test_util.h"
#include "tests/runtime/formats/raw_safetensors.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::fixture_dir;
using testing::RawSafetensors;
using testing::read_bytes;
using testing::scratch_dir;
using testing::write_bytes;

fs::path directory_with(const fs::path& config_from, const RawSafetensors& weights,
                        size_t misalign = 0) {
  const fs::path dir = scratch_dir();
  fs::copy_file(config_from, dir / "config.json");
  weights.write(dir / "model.safetensors", misalign);
  return dir;
}

std::vector<std::pair<std::string, TensorView>> present_tensors(ModelWeights& weights) {
  std::vector<std::pair<std::string, TensorView>> out;
  for_each_tensor(weights, [&](TensorSlot& slot) {
    if (slot.present) out.emplace_back(slot.name, *slot.view);
  });
  return out;
}

void expect_same_tensors(ModelWeights& a, ModelWeights& b) {
  const auto x = present_tensors(a);
  const auto y = present_tensors(b);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    SCOPED_TRACE(x[i].first);
    EXPECT_EQ(x[i].second.dtype, y[i].second.dtype);
    EXPECT_EQ(x[i].second.shape, y[i].second.shape);
    ASSERT_EQ(x[i].second.nbytes, y[i].second.nbytes);
    EXPECT_EQ(std::memcmp(x[i].second.data, y[i].second.data, x[i].second.nbytes), 0);
  }
}

class HalfPrecision : public ::testing::TestWithParam<DType> {};

TEST_P(HalfPrecision, KeepsTheTypeAndComputesAInF32) {
  const DType type = GetParam();
  const RawSafetensors f32 = RawSafetensors::read(fixture_dir("tiny") / "model.safetensors");
  RawSafetensors half;
  for (const auto& [name, entry] : f32.header.items()) {
    if (name == "__metadata__") continue;
    const auto src = f32.tensor(name);
    const auto n = static_cast<int64_t>(src.size() / 4);
    std::vector<float> values(static_cast<size_t>(n));
    std::memcpy(values.data(), src.data(), src.size());
    const size_t begin = half.data.size();
    half.data.resize(begin + static_cast<size_t>(n) * 2);
    convert_row_from_f32(type, values.data(), half.data.data() + begin, n);
    json converted = entry;
    converted["dtype"] = type == DType::kF16 ? "F16" : "BF16";
    converted["data_offsets"] = {begin, half.data.size()};
    half.header[name] = converted;
  }
  const fs::path dir = directory_with(fixture_dir("tiny") / "config.json", half);
  ModelWeights weights = load_checkpoint_directory(dir);

  for (const auto& [name, view] : present_tensors(weights)) {
    EXPECT_EQ(view.dtype, name.ends_with("ssm_a") ? DType::kF32 : type) << name;
  }
  EXPECT_EQ(std::memcmp(weights.embedding.data, half.tensor("backbone.embedding.weight").data(),
                        weights.embedding.nbytes),
            0);
  for (int l = 0; l < 2; ++l) {
    const auto a_log = half.tensor("backbone.layers." + std::to_string(l) + ".mixer.A_log");
    const auto A = weights.layers[static_cast<size_t>(l)].A.f32();
    ASSERT_EQ(A.size(), 8u);
    for (size_t h = 0; h < A.size(); ++h) {
      float value;
      convert_row_to_f32(type, a_log.data() + 2 * h, &value, 1);
      const float expected = -std::exp(value);
      EXPECT_EQ(std::memcmp(&A[h], &expected, 4), 0) << "layer " << l << " head " << h;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, HalfPrecision, ::testing::Values(DType::kF16, DType::kBF16),
                         [](const auto& type) { return std::string(dtype_name(type.param)); });

TEST(CheckpointVariants, UnalignedDataIsCopiedToAlignedBuffers) {
  const RawSafetensors raw = RawSafetensors::read(fixture_dir("tiny") / "model.safetensors");
  const fs::path dir = directory_with(fixture_dir("tiny") / "config.json", raw, 1);
  ModelWeights unaligned = load_checkpoint_directory(dir);
  ModelWeights reference = load_checkpoint_directory(fixture_dir("tiny"));
  expect_same_tensors(unaligned, reference);
  for (const auto& [name, view] : present_tensors(unaligned)) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.data) % 4, 0u) << name;
  }
  EXPECT_FLOAT_EQ(unaligned.norm_f.f32()[3], reference.norm_f.f32()[3]);
}

TEST(CheckpointVariants, TransformersNamesAndConfig) {
  RawSafetensors raw = RawSafetensors::read(fixture_dir("tiny") / "model.safetensors");
  raw.header["backbone.embeddings.weight"] = raw.header["backbone.embedding.weight"];
  raw.header.erase("backbone.embedding.weight");
  raw.header.erase("lm_head.weight");
  const fs::path dir = scratch_dir();
  raw.write(dir / "model.safetensors");
  const std::string config = R"({
    "model_type": "mamba2", "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 256,
    "num_heads": 8, "head_dim": 16, "n_groups": 1, "state_size": 16, "expand": 2,
    "conv_kernel": 4, "chunk_size": 16, "tie_word_embeddings": true,
    "time_step_limit": [0.0, Infinity], "layer_norm_epsilon": 1e-05})";
  write_bytes(dir / "config.json", config.data(), config.size());

  ModelWeights hf = load_checkpoint_directory(dir);
  ModelWeights reference = load_checkpoint_directory(fixture_dir("tiny"));
  expect_same_tensors(hf, reference);
  EXPECT_EQ(hf.lm_head.data, hf.embedding.data);
}

TEST(CheckpointVariants, UntiedModelsNeedTheirLmHead) {
  RawSafetensors raw = RawSafetensors::read(fixture_dir("tiny") / "model.safetensors");
  std::string config = R"({"d_model": 64, "n_layer": 2, "vocab_size": 256,
    "pad_vocab_size_multiple": 16, "tie_embeddings": false, "ssm_cfg": {"layer": "Mamba2",
    "d_state": 16, "headdim": 16, "chunk_size": 16}})";
  const fs::path dir = scratch_dir();
  write_bytes(dir / "config.json", config.data(), config.size());
  raw.write(dir / "model.safetensors");
  ModelWeights untied = load_checkpoint_directory(dir);
  EXPECT_NE(untied.lm_head.data, untied.embedding.data);
  EXPECT_EQ(
      std::memcmp(untied.lm_head.data, raw.tensor("lm_head.weight").data(), untied.lm_head.nbytes),
      0);

  raw.header.erase("lm_head.weight");
  raw.write(dir / "model.safetensors");
  EXPECT_ERROR_MENTIONS(load_checkpoint_directory(dir), "tensor 'lm_head.weight' is missing");
}

TEST(CheckpointNames, MapEverySpellingToItsGgufName) {
  const std::pair<const char*, const char*> pairs[] = {
      {"backbone.embedding.weight", "token_embd.weight"},
      {"backbone.embeddings.weight", "token_embd.weight"},
      {"backbone.norm_f.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
      {"backbone.layers.0.norm.weight", "blk.0.attn_norm.weight"},
      {"backbone.layers.12.mixer.in_proj.weight", "blk.12.ssm_in.weight"},
      {"backbone.layers.3.mixer.in_proj.bias", "blk.3.ssm_in.bias"},
      {"backbone.layers.3.mixer.conv1d.weight", "blk.3.ssm_conv1d.weight"},
      {"backbone.layers.3.mixer.conv1d.bias", "blk.3.ssm_conv1d.bias"},
      {"backbone.layers.3.mixer.dt_bias", "blk.3.ssm_dt.bias"},
      {"backbone.layers.3.mixer.A_log", "blk.3.ssm_a"},
      {"backbone.layers.3.mixer.D", "blk.3.ssm_d"},
      {"backbone.layers.3.mixer.norm.weight", "blk.3.ssm_norm.weight"},
      {"backbone.layers.3.mixer.out_proj.weight", "blk.3.ssm_out.weight"},
      {"backbone.layers.3.mixer.out_proj.bias", "blk.3.ssm_out.bias"},
  };
  for (const auto& [checkpoint, gguf] : pairs) {
    EXPECT_EQ(gguf_name_of_checkpoint_tensor(checkpoint), std::optional<std::string>(gguf));
  }
  for (const char* unknown : {"backbone.layers.03.norm.weight", "backbone.layers.-1.norm.weight",
                              "backbone.layers.x.norm.weight", "backbone.layers.0.mixer.A",
                              "model.embed_tokens.weight", "backbone.layers.0"}) {
    EXPECT_EQ(gguf_name_of_checkpoint_tensor(unknown), std::nullopt) << unknown;
  }
}

// --- damaged files must fail with Error, never crash or throw anything else ---

std::vector<std::byte> fixture_pickle() {
  int error = 0;
  zip_t* zip = zip_open((fixture_dir("tiny") / "pytorch_model.bin").c_str(), ZIP_RDONLY, &error);
  EXPECT_NE(zip, nullptr);
  zip_stat_t st;
  zip_stat(zip, "pytorch_model/data.pkl", 0, &st);
  std::vector<std::byte> bytes(st.size);
  zip_file_t* file = zip_fopen(zip, "pytorch_model/data.pkl", 0);
  EXPECT_EQ(zip_fread(file, bytes.data(), bytes.size()), static_cast<zip_int64_t>(bytes.size()));
  zip_fclose(file);
  zip_discard(zip);
  return bytes;
}

TEST(DamagedFiles, EveryByteOfThePickleFlipped) {
  const auto pickle = fixture_pickle();
  ASSERT_EQ(parse_state_dict_pickle(pickle, "x").size(), 21u);
  int failures = 0;
  for (size_t i = 0; i < pickle.size(); ++i) {
    for (uint8_t mask : {0x01, 0x10, 0x80, 0xff}) {
      auto damaged = pickle;
      damaged[i] ^= std::byte{mask};
      try {
        parse_state_dict_pickle(damaged, "x");
      } catch (const Error&) {
        ++failures;
      }
    }
  }
  EXPECT_GT(failures, 0);
}

TEST(DamagedFiles, EveryPrefixOfThePickleIsTruncated) {
  const auto pickle = fixture_pickle();
  for (size_t size = 0; size < pickle.size(); ++size) {
    const std::span<const std::byte> prefix(pickle.data(), size);
    const std::string message =
        testing::error_message([&] { parse_state_dict_pickle(prefix, "x"); });
    ASSERT_NE(message.find("pickle: truncated"), std::string::npos) << size << ": " << message;
  }
}

TEST(DamagedFiles, SafetensorsHeaderBytesFlipped) {
  const auto bytes = read_bytes(fixture_dir("tiny") / "model.safetensors");
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  const fs::path path = scratch_dir() / "model.safetensors";
  std::mt19937 random(7);
  for (int trial = 0; trial < 300; ++trial) {
    auto damaged = bytes;
    const size_t at = random() % (8 + header);
    damaged[at] = static_cast<std::byte>(random());
    write_bytes(path, damaged);
    try {
      read_safetensors(path);
    } catch (const Error&) {
    }
  }
}

TEST(DamagedFiles, TorchZipStructureBytesFlipped) {
  const auto bytes = read_bytes(fixture_dir("tiny") / "pytorch_model.bin");
  const fs::path path = scratch_dir() / "pytorch_model.bin";
  std::mt19937 random(11);
  for (int trial = 0; trial < 300; ++trial) {
    auto damaged = bytes;
    // The local headers and pickle at the start, the central directory at the end.
    const size_t span = 4096;
    const size_t offset = random() % span;
    const size_t at = trial % 2 ? offset : bytes.size() - 1 - offset;
    damaged[at] = static_cast<std::byte>(random());
    write_bytes(path, damaged);
    try {
      read_torch_zip(path);
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace mamba2
