// Loading the fixtures' checkpoints (safetensors and torch .bin) into ModelWeights, and the errors
// for damaged safetensors files and for tensors the config does not predict.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mamba2/model_weights.h"
#include "runtime/formats/checkpoint_dir.h"
#include "runtime/formats/safetensors.h"
#include "runtime/formats/torch_zip.h"
#include "runtime/io/mapped_file.h"
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

// The fixture's config and model.safetensors in a fresh directory, ready to be damaged.
fs::path copy_fixture(const char* name, bool with_bin = false) {
  const fs::path dir = scratch_dir() / name;
  fs::create_directories(dir);
  fs::copy_file(fixture_dir(name) / "config.json", dir / "config.json");
  fs::copy_file(fixture_dir(name) / "model.safetensors", dir / "model.safetensors");
  if (with_bin) fs::copy_file(fixture_dir(name) / "pytorch_model.bin", dir / "pytorch_model.bin");
  return dir;
}

ModelWeights load(const fs::path& dir, const char* weights = "model.safetensors") {
  return load_checkpoint_files(dir / "config.json", dir / weights, "test");
}

// Every present slot, with its bytes.
std::vector<std::pair<std::string, TensorView>> present_tensors(ModelWeights& weights) {
  std::vector<std::pair<std::string, TensorView>> out;
  for_each_tensor(weights, [&](TensorSlot& slot) {
    if (slot.present) out.emplace_back(slot.name, *slot.view);
  });
  return out;
}

bool bytes_equal(const TensorView& view, std::span<const std::byte> raw) {
  return view.nbytes == raw.size() && std::memcmp(view.data, raw.data(), raw.size()) == 0;
}

class FixtureCheckpoint : public ::testing::TestWithParam<const char*> {};

TEST_P(FixtureCheckpoint, SafetensorsAndTorchBinGiveBitIdenticalTensors) {
  const fs::path dir = fixture_dir(GetParam());
  ModelWeights from_safetensors = load(dir, "model.safetensors");
  ModelWeights from_torch = load(dir, "pytorch_model.bin");
  const auto a = present_tensors(from_safetensors);
  const auto b = present_tensors(from_torch);
  ASSERT_EQ(a.size(), b.size());
  // token_embd, 9 per layer (no biases but conv1d's), output_norm; the tied output is no slot.
  ASSERT_EQ(a.size(), 1 + 9 * from_safetensors.config.n_layer + 1);
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(a[i].first);
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.dtype, DType::kF32);
    EXPECT_EQ(a[i].second.dtype, b[i].second.dtype);
    EXPECT_EQ(a[i].second.shape, b[i].second.shape);
    ASSERT_EQ(a[i].second.nbytes, b[i].second.nbytes);
    EXPECT_EQ(std::memcmp(a[i].second.data, b[i].second.data, a[i].second.nbytes), 0);
  }
  // Tied: the output is the embedding itself.
  EXPECT_EQ(from_safetensors.lm_head.data, from_safetensors.embedding.data);
  EXPECT_EQ(from_torch.lm_head.data, from_torch.embedding.data);
}

TEST_P(FixtureCheckpoint, TensorsMatchTheRawFile) {
  const fs::path dir = fixture_dir(GetParam());
  const RawSafetensors raw = RawSafetensors::read(dir / "model.safetensors");
  ModelWeights weights = load(dir);
  const ModelConfig& c = weights.config;
  EXPECT_TRUE(bytes_equal(weights.embedding, raw.tensor("backbone.embedding.weight")));
  EXPECT_TRUE(bytes_equal(weights.norm_f, raw.tensor("backbone.norm_f.weight")));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "backbone.layers." + std::to_string(l) + ".";
    const LayerWeights& layer = weights.layers[static_cast<size_t>(l)];
    EXPECT_TRUE(bytes_equal(layer.in_proj, raw.tensor(p + "mixer.in_proj.weight")));
    EXPECT_TRUE(bytes_equal(layer.out_proj, raw.tensor(p + "mixer.out_proj.weight")));
    EXPECT_TRUE(bytes_equal(layer.conv1d, raw.tensor(p + "mixer.conv1d.weight")));
    EXPECT_EQ(layer.conv1d.shape, (TensorShape{c.conv_dim, c.d_conv}));
    EXPECT_TRUE(bytes_equal(layer.D, raw.tensor(p + "mixer.D")));
    EXPECT_EQ(layer.D.shape, (TensorShape{c.nheads, 1}));
    EXPECT_TRUE(bytes_equal(layer.gated_norm, raw.tensor(p + "mixer.norm.weight")));
    EXPECT_EQ(layer.gated_norm.shape, (TensorShape{c.ngroups, c.d_ssm / c.ngroups}));

    const auto a_log = raw.tensor(p + "mixer.A_log");
    ASSERT_EQ(layer.A.shape, (TensorShape{c.nheads, 1}));
    const auto A = layer.A.f32();
    for (int64_t h = 0; h < c.nheads; ++h) {
      float value;
      std::memcpy(&value, a_log.data() + h * 4, 4);
      const float expected = -std::exp(value);
      EXPECT_EQ(std::memcmp(&A[static_cast<size_t>(h)], &expected, 4), 0) << "head " << h;
    }
  }
}

TEST_P(FixtureCheckpoint, UntouchedTensorsAreViewsOfTheMappedFile) {
  const fs::path dir = fixture_dir(GetParam());
  for (const char* file : {"model.safetensors", "pytorch_model.bin"}) {
    SCOPED_TRACE(file);
    const CheckpointTensors tensors = std::string(file).ends_with(".bin")
                                          ? read_torch_zip(dir / file)
                                          : read_safetensors(dir / file);
    ASSERT_EQ(tensors.storage.size(), 1u);  // the mapping and nothing else
    const auto mapped = static_cast<const MappedFile*>(tensors.storage[0].get())->bytes();
    for (const auto& tensor : tensors.tensors) {
      EXPECT_GE(tensor.bytes.data(), mapped.data()) << tensor.name;
      EXPECT_LE(tensor.bytes.data() + tensor.bytes.size(), mapped.data() + mapped.size());
    }
  }
}

TEST_P(FixtureCheckpoint, LoadsTheDirectoryByName) {
  ModelWeights weights = load_checkpoint_directory(fixture_dir(GetParam()));
  EXPECT_EQ(weights.name, GetParam());
  EXPECT_EQ(weights.layers.size(), static_cast<size_t>(weights.config.n_layer));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureCheckpoint, ::testing::Values("tiny", "small_groups"));

TEST(CheckpointDirectory, FallsBackToPytorchModelBin) {
  const fs::path dir = copy_fixture("small_groups", true);
  fs::remove(dir / "model.safetensors");
  ModelWeights weights = load_checkpoint_directory(dir);
  EXPECT_EQ(weights.config.ngroups, 2);
  fs::remove(dir / "pytorch_model.bin");
  EXPECT_ERROR_MENTIONS(load_checkpoint_directory(dir), "has no model.safetensors");
  fs::remove(dir / "config.json");
  EXPECT_ERROR_MENTIONS(load_checkpoint_directory(dir), "has no config.json");
}

TEST(CheckpointDirectory, LoadsTheTokenizerBesideTheWeights) {
  const fs::path dir = copy_fixture("tiny");
  EXPECT_FALSE(load_checkpoint_directory(dir).tokenizer.has_value());
  fs::copy_file(testing::data_dir() / "gpt-neox-20b-tokenizer.json", dir / "tokenizer.json");
  ModelWeights weights = load_checkpoint_directory(dir);
  ASSERT_TRUE(weights.tokenizer.has_value());
  EXPECT_GT(weights.tokenizer->tokens.size(), 50000u);
  EXPECT_EQ(weights.tokenizer->tokens.size(), weights.tokenizer->token_types.size());
}

// Mamba-Codestral ships its tokenizer as SentencePiece's tokenizer.model.v3, and a chat template
// may come in tokenizer_config.json.
TEST(CheckpointDirectory, LoadsASentencePieceModelAndTheChatTemplate) {
  const fs::path dir = copy_fixture("tiny");
  fs::copy_file(testing::data_dir() / "mistral-v3-tokenizer.model", dir / "tokenizer.model.v3");
  std::ofstream(dir / "tokenizer_config.json") << R"({"chat_template": "[INST]"})";
  ModelWeights weights = load_checkpoint_directory(dir);
  ASSERT_TRUE(weights.tokenizer.has_value());
  EXPECT_EQ(weights.tokenizer->model, "llama");
  EXPECT_EQ(weights.tokenizer->tokens.size(), 32768u);
  EXPECT_FALSE(weights.tokenizer->sentencepiece_model.empty());
  EXPECT_EQ(weights.tokenizer->chat_template, "[INST]");
  // tokenizer.json comes first when both are there.
  fs::copy_file(testing::data_dir() / "gpt-neox-20b-tokenizer.json", dir / "tokenizer.json");
  EXPECT_EQ(load_checkpoint_directory(dir).tokenizer->model, "gpt2");
}

TEST(CheckpointDirectory, ReadsShardedSafetensors) {
  const fs::path dir = copy_fixture("tiny");
  const RawSafetensors whole = RawSafetensors::read(dir / "model.safetensors");
  fs::remove(dir / "model.safetensors");

  // Layer 1 in the second shard, everything else in the first.
  RawSafetensors shards[2];
  json weight_map = json::object();
  for (const auto& [name, entry] : whole.header.items()) {
    if (name == "__metadata__") continue;
    const int shard = name.starts_with("backbone.layers.1.") ? 1 : 0;
    const auto bytes = whole.tensor(name);
    json moved = entry;
    const size_t begin = shards[shard].data.size();
    moved["data_offsets"] = {begin, begin + bytes.size()};
    shards[shard].header[name] = moved;
    shards[shard].data.insert(shards[shard].data.end(), bytes.begin(), bytes.end());
    weight_map[name] = "model-0000" + std::to_string(shard + 1) + "-of-00002.safetensors";
  }
  shards[0].write(dir / "model-00001-of-00002.safetensors");
  shards[1].write(dir / "model-00002-of-00002.safetensors");
  const std::string index =
      json{{"metadata", {{"total_size", 1}}}, {"weight_map", weight_map}}.dump();
  write_bytes(dir / "model.safetensors.index.json", index.data(), index.size());

  ModelWeights sharded = load_checkpoint_directory(dir);
  ModelWeights reference = load(fixture_dir("tiny"));
  const auto a = present_tensors(sharded);
  const auto b = present_tensors(reference);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].second.nbytes, b[i].second.nbytes);
    EXPECT_EQ(std::memcmp(a[i].second.data, b[i].second.data, a[i].second.nbytes), 0) << a[i].first;
  }

  // An index that sends a tensor to a shard without it, or outside the directory.
  weight_map["backbone.norm_f.weight"] = "model-00002-of-00002.safetensors";
  std::string bad = json{{"weight_map", weight_map}}.dump();
  write_bytes(dir / "model.safetensors.index.json", bad.data(), bad.size());
  EXPECT_ERROR_MENTIONS(load_checkpoint_directory(dir), "'backbone.norm_f.weight'");
  weight_map["backbone.norm_f.weight"] = "../model-00001-of-00002.safetensors";
  bad = json{{"weight_map", weight_map}}.dump();
  write_bytes(dir / "model.safetensors.index.json", bad.data(), bad.size());
  EXPECT_ERROR_MENTIONS(load_checkpoint_directory(dir), "not a plain file name");
}

TEST(CheckpointTied, ADifferentLmHeadWinsOverTheEmbedding) {
  const fs::path dir = copy_fixture("tiny");
  RawSafetensors raw = RawSafetensors::read(dir / "model.safetensors");
  const auto& offsets = raw.header["lm_head.weight"]["data_offsets"];
  const auto begin = offsets[0].get<size_t>();
  raw.data[begin] ^= std::byte{0x55};
  raw.write(dir / "model.safetensors");
  ModelWeights weights = load(dir);
  EXPECT_TRUE(bytes_equal(weights.embedding, raw.tensor("lm_head.weight")));
  EXPECT_EQ(weights.lm_head.data, weights.embedding.data);
}

// --- damaged safetensors files ---

class DamagedSafetensors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = copy_fixture("tiny");
    raw_ = RawSafetensors::read(dir_ / "model.safetensors");
  }
  std::string load_error() {
    raw_.write(dir_ / "model.safetensors");
    return testing::error_message([&] { load(dir_); });
  }
  json& entry(const std::string& name) { return raw_.header[name]; }

  fs::path dir_;
  RawSafetensors raw_;
};

TEST_F(DamagedSafetensors, TruncatedFile) {
  auto bytes = read_bytes(dir_ / "model.safetensors");
  bytes.resize(5);
  write_bytes(dir_ / "model.safetensors", bytes);
  EXPECT_ERROR_MENTIONS(load(dir_), "too short for a safetensors header");

  bytes = read_bytes(fixture_dir("tiny") / "model.safetensors");
  bytes.resize(bytes.size() - 100);
  write_bytes(dir_ / "model.safetensors", bytes);
  EXPECT_ERROR_MENTIONS(load(dir_), "beyond the end of the file");
}

TEST_F(DamagedSafetensors, HeaderLengthBeyondTheFile) {
  auto bytes = read_bytes(dir_ / "model.safetensors");
  const uint64_t huge = uint64_t{1} << 40;
  std::memcpy(bytes.data(), &huge, 8);
  write_bytes(dir_ / "model.safetensors", bytes);
  EXPECT_ERROR_MENTIONS(load(dir_), "header length 1099511627776 is larger than the file");

  std::memcpy(bytes.data(), "\x10\0\0\0\0\0\0\0", 8);  // 16 bytes of header: cut JSON
  write_bytes(dir_ / "model.safetensors", bytes);
  EXPECT_ERROR_MENTIONS(load(dir_), "header is not valid JSON");
}

TEST_F(DamagedSafetensors, OffsetsBeyondTheFile) {
  const uint64_t size = raw_.data.size();
  entry("backbone.norm_f.weight")["data_offsets"] = {size - 128, size + 128};
  EXPECT_NE(load_error().find("tensor 'backbone.norm_f.weight' has data_offsets"),
            std::string::npos);
  entry("backbone.norm_f.weight")["data_offsets"] = {uint64_t{1} << 63, (uint64_t{1} << 63) + 256};
  EXPECT_NE(load_error().find("beyond the end of the file"), std::string::npos);
}

TEST_F(DamagedSafetensors, ShapeWhoseSizeOverflows) {
  // 2^80 elements overflow the element count; 2^62 F32 elements overflow the byte size only.
  entry("backbone.norm_f.weight")["shape"] = {uint64_t{1} << 40, uint64_t{1} << 40};
  EXPECT_NE(load_error().find("has a shape whose size overflows"), std::string::npos);
  entry("backbone.norm_f.weight")["dtype"] = "F32";
  entry("backbone.norm_f.weight")["shape"] = {uint64_t{1} << 31, uint64_t{1} << 31};
  EXPECT_NE(load_error().find("has a shape whose size overflows"), std::string::npos);
}

TEST_F(DamagedSafetensors, OverlappingTensors) {
  entry("backbone.norm_f.weight")["data_offsets"] =
      entry("backbone.layers.0.norm.weight")["data_offsets"];
  const std::string error = load_error();
  EXPECT_NE(error.find("overlap"), std::string::npos) << error;
  EXPECT_NE(error.find("backbone.norm_f.weight"), std::string::npos) << error;
}

TEST_F(DamagedSafetensors, UnknownDtype) {
  entry("backbone.layers.0.mixer.D")["dtype"] = "I64";
  const std::string error = load_error();
  EXPECT_NE(error.find("tensor 'backbone.layers.0.mixer.D' has dtype I64"), std::string::npos)
      << error;
}

TEST_F(DamagedSafetensors, SizeThatDisagreesWithTheOffsets) {
  entry("backbone.norm_f.weight")["shape"] = {65};
  EXPECT_NE(load_error().find("holding 256 bytes, but F32 65 elements take 260"),
            std::string::npos);
}

TEST_F(DamagedSafetensors, ShapeTheConfigDoesNotPredict) {
  entry("backbone.norm_f.weight")["shape"] = {32, 2};
  const std::string error = load_error();
  EXPECT_NE(error.find("tensor 'backbone.norm_f.weight' has shape [32, 2], the config predicts "
                       "[64]"),
            std::string::npos)
      << error;
}

TEST_F(DamagedSafetensors, ExtraTensors) {
  // Bytes of their own, so that only the name is wrong.
  json extra = entry("backbone.norm_f.weight");
  const size_t begin = raw_.data.size();
  raw_.data.resize(begin + 256);
  extra["data_offsets"] = {begin, begin + 256};
  raw_.header["backbone.layers.0.mixer.rotary.weight"] = extra;
  std::string error = load_error();
  EXPECT_NE(error.find("'backbone.layers.0.mixer.rotary.weight' is not a Mamba-2 weight"),
            std::string::npos)
      << error;
  raw_.header.erase("backbone.layers.0.mixer.rotary.weight");

  raw_.header["backbone.layers.2.norm.weight"] = extra;
  error = load_error();
  EXPECT_NE(error.find("'backbone.layers.2.norm.weight' is for a layer this config does not have"),
            std::string::npos)
      << error;
  raw_.header.erase("backbone.layers.2.norm.weight");

  raw_.header["backbone.layers.0.mixer.out_proj.bias"] = extra;
  error = load_error();
  EXPECT_NE(error.find("'backbone.layers.0.mixer.out_proj.bias' is not used by this config"),
            std::string::npos)
      << error;
  raw_.header.erase("backbone.layers.0.mixer.out_proj.bias");

  // The transformers spelling of the embedding as well as the state-spaces one.
  const size_t embedding_bytes = 256 * 64 * 4;
  raw_.data.resize(begin + 256 + embedding_bytes);
  json twin = entry("backbone.embedding.weight");
  twin["data_offsets"] = {begin + 256, begin + 256 + embedding_bytes};
  raw_.header["backbone.embeddings.weight"] = twin;
  error = load_error();
  EXPECT_NE(error.find("appears twice"), std::string::npos) << error;
}

TEST_F(DamagedSafetensors, MissingTensor) {
  raw_.header.erase("backbone.layers.1.mixer.A_log");
  const std::string error = load_error();
  EXPECT_NE(error.find("tensor 'backbone.layers.1.mixer.A_log' is missing"), std::string::npos)
      << error;
}

TEST_F(DamagedSafetensors, MissingEmbeddingIsTakenFromTheTiedLmHead) {
  raw_.header.erase("backbone.embedding.weight");
  raw_.write(dir_ / "model.safetensors");
  ModelWeights weights = load(dir_);
  EXPECT_TRUE(bytes_equal(weights.embedding, raw_.tensor("lm_head.weight")));
}

}  // namespace
}  // namespace mamba2
