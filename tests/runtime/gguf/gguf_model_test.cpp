#include "runtime/gguf/gguf_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "mamba2/error.h"
#include "quant/float16.h"
#include "quant/row_conversion.h"
#include "runtime/gguf/gguf_keys.h"
#include "tests/runtime/gguf/gguf_bytes.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

// A small model with every shape distinct: d_inner 64, 4 heads of 16, 2 groups of d_state 16,
// vocabulary 100 padded to 112 rows.
ModelConfig small_config(bool tied) {
  ModelConfig c;
  c.d_model = 32;
  c.n_layer = 2;
  c.vocab_size = 100;
  c.pad_vocab_size_multiple = 16;
  c.tie_embeddings = tied;
  c.d_state = 16;
  c.headdim = 16;
  c.ngroups = 2;
  c.chunk_size = 16;
  c.norm_eps = 1e-5f;
  c.resolve("test");
  return c;
}

ModelWeights synthetic_weights(const ModelConfig& config, uint32_t seed) {
  ModelWeights weights;
  weights.config = config;
  weights.name = "synthetic";
  weights.layers.resize(static_cast<size_t>(config.n_layer));
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for_each_tensor(weights, [&](TensorSlot& slot) {
    if (!slot.present) return;
    std::vector<float> values(static_cast<size_t>(slot.shape.numel()));
    for (float& v : values) v = normal(rng);
    std::vector<std::byte> bytes(values.size() * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    *slot.view = weights.own(DType::kF32, slot.shape, std::move(bytes));
  });
  check_model_weights(weights, "synthetic");
  return weights;
}

TokenizerData small_tokenizer() {
  TokenizerData tok;
  tok.pre = "olmo";
  for (int i = 0; i < 98; ++i) {
    tok.tokens.push_back(std::string("t").append(std::to_string(i)));
    tok.token_types.push_back(TokenType::kNormal);
  }
  tok.tokens.push_back("<|endoftext|>");
  tok.token_types.push_back(TokenType::kControl);
  tok.tokens.push_back("  ");
  tok.token_types.push_back(TokenType::kUserDefined);
  tok.merges = {"t 1", "t1 0"};
  tok.bos_id = 98;
  tok.eos_id = 98;
  tok.unk_id = 98;
  return tok;
}

std::vector<float> as_f32(const TensorView& view) {
  std::vector<float> out(static_cast<size_t>(view.numel()));
  convert_row_to_f32(view.dtype, view.data, out.data(), view.numel());
  return out;
}

// Visits the slots of two models side by side.
void for_each_pair(
    ModelWeights& a, ModelWeights& b,
    const std::function<void(const TensorSlot&, const TensorView&, const TensorView&)>& visit) {
  std::vector<std::pair<TensorSlot, TensorView>> slots;
  for_each_tensor(a, [&](TensorSlot& slot) { slots.emplace_back(slot, *slot.view); });
  size_t i = 0;
  for_each_tensor(b, [&](TensorSlot& slot) {
    ASSERT_EQ(slots[i].first.name, slot.name);
    visit(slot, slots[i].second, *slot.view);
    ++i;
  });
}

TEST(GgufModel, F32RoundTripIsBitIdentical) {
  for (bool tied : {true, false}) {
    ModelWeights original = synthetic_weights(small_config(tied), 1);
    original.tokenizer = small_tokenizer();
    const auto path = testing::scratch_dir() / "f32.gguf";
    write_gguf_model(original, path);

    ModelWeights loaded = load_gguf_model(path);
    const ModelConfig& c = loaded.config;
    EXPECT_EQ(c.d_model, 32);
    EXPECT_EQ(c.n_layer, 2);
    EXPECT_EQ(c.vocab_padded, 112);
    EXPECT_EQ(c.vocab_size, 112);  // GGUF keeps the padded vocabulary only
    EXPECT_EQ(c.d_state, 16);
    EXPECT_EQ(c.headdim, 16);
    EXPECT_EQ(c.nheads, 4);
    EXPECT_EQ(c.ngroups, 2);
    EXPECT_EQ(c.expand, 2);
    EXPECT_EQ(c.d_ssm, 64);
    EXPECT_EQ(c.chunk_size, 16);
    EXPECT_EQ(c.tie_embeddings, tied);
    EXPECT_EQ(c.norm_eps, 1e-5f);
    EXPECT_EQ(loaded.name, "synthetic");

    int tensors = 0;
    for_each_pair(original, loaded,
                  [&](const TensorSlot& slot, const TensorView& a, const TensorView& b) {
                    if (!slot.present) return;
                    ++tensors;
                    EXPECT_EQ(b.dtype, DType::kF32) << slot.name;
                    EXPECT_EQ(a.shape, b.shape) << slot.name;
                    ASSERT_EQ(a.nbytes, b.nbytes) << slot.name;
                    EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << slot.name;
                    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data) % 32, 0u)
                        << slot.name;  // aligned in the map
                  });
    EXPECT_EQ(tensors, tied ? 1 + 2 * 9 + 1 : 1 + 2 * 9 + 2);
    if (tied) {
      EXPECT_EQ(loaded.lm_head.data, loaded.embedding.data);
    }

    ASSERT_TRUE(loaded.tokenizer);
    const TokenizerData& tok = *loaded.tokenizer;
    ASSERT_EQ(tok.tokens.size(), 112u);  // padded to the embedding rows, as llama.cpp wants
    EXPECT_EQ(tok.tokens[99], "  ");
    EXPECT_EQ(tok.tokens[100], "[PAD100]");
    EXPECT_EQ(tok.token_types[98], TokenType::kControl);
    EXPECT_EQ(tok.token_types[111], TokenType::kUnused);
    EXPECT_EQ(tok.model, "gpt2");
    EXPECT_EQ(tok.pre, "olmo");
    EXPECT_EQ(tok.merges, small_tokenizer().merges);
    EXPECT_EQ(tok.bos_id, 98);
    EXPECT_EQ(tok.eos_id, 98);
    EXPECT_EQ(tok.unk_id, 98);
    EXPECT_EQ(tok.pad_id, -1);
  }
}

TEST(GgufModel, WritesTheKeysLlamaCppReads) {
  ModelWeights original = synthetic_weights(small_config(true), 2);
  const auto path = testing::scratch_dir() / "keys.gguf";
  write_gguf_model(original, path, {{DType::kF16}, {}});
  const GgufFile file = GgufFile::open(path);
  EXPECT_EQ(file.get_string("general.architecture"), "mamba2");
  EXPECT_EQ(file.get_string("general.name"), "synthetic");
  EXPECT_EQ(file.get_int("general.file_type"), 1);  // LLAMA_FTYPE_MOSTLY_F16
  // Every hyper-parameter llama.cpp reads, as uint32 (its loader checks the type).
  const std::pair<const char*, int64_t> expected[] = {
      {"mamba2.context_length", 1 << 20}, {"mamba2.embedding_length", 32},
      {"mamba2.block_count", 2},          {"mamba2.ssm.conv_kernel", 4},
      {"mamba2.ssm.inner_size", 64},      {"mamba2.ssm.state_size", 16},
      {"mamba2.ssm.time_step_rank", 4},   {"mamba2.ssm.group_count", 2},
      {"mamba2.vocab_size", 112}};
  for (const auto& [key, value] : expected) {
    const GgufValue* v = file.find(key);
    ASSERT_NE(v, nullptr) << key;
    EXPECT_EQ(v->type, GgufType::kUint32) << key;
    EXPECT_EQ(v->as_int(), value) << key;
  }
  EXPECT_EQ(file.find("mamba2.attention.layer_norm_rms_epsilon")->type, GgufType::kFloat32);
  // llama.cpp's shapes, ne innermost first: ssm_a {1, n_head} is [n_head, 1] outermost first.
  EXPECT_EQ(file.find_tensor("blk.0.ssm_a")->shape, (TensorShape{4, 1}));
  EXPECT_EQ(file.find_tensor("blk.0.ssm_d")->shape, (TensorShape{4, 1}));
  EXPECT_EQ(file.find_tensor("blk.0.ssm_norm.weight")->shape, (TensorShape{2, 32}));
  EXPECT_EQ(file.find_tensor("blk.0.ssm_conv1d.weight")->shape, (TensorShape{128, 4}));
  EXPECT_EQ(file.find_tensor("blk.1.ssm_in.weight")->shape, (TensorShape{196, 32}));
  EXPECT_EQ(file.find_tensor("blk.1.ssm_out.weight")->shape, (TensorShape{32, 64}));
  // Which tensors change type: the 2-D projections and the embedding, as convert_hf_to_gguf.
  EXPECT_EQ(file.find_tensor("token_embd.weight")->dtype, DType::kF16);
  EXPECT_EQ(file.find_tensor("blk.0.ssm_in.weight")->dtype, DType::kF16);
  EXPECT_EQ(file.find_tensor("blk.0.ssm_out.weight")->dtype, DType::kF16);
  EXPECT_EQ(file.find_tensor("blk.0.ssm_conv1d.weight")->dtype, DType::kF32);
  EXPECT_EQ(file.find_tensor("blk.0.ssm_norm.weight")->dtype, DType::kF32);
  EXPECT_EQ(file.find_tensor("blk.0.attn_norm.weight")->dtype, DType::kF32);
  EXPECT_EQ(file.find_tensor("blk.0.ssm_a")->dtype, DType::kF32);
  EXPECT_EQ(file.find_tensor("output.weight"), nullptr);  // tied
}

// llama.cpp refuses a file without tokenizer.ggml.model ("key not found in model"); "none" gives
// it vocab_size dummy tokens, and is how its files without a vocabulary say so.
TEST(GgufModel, AModelWithoutATokenizerSaysNone) {
  ModelWeights original = synthetic_weights(small_config(true), 7);
  const auto path = testing::scratch_dir() / "no-vocab.gguf";
  write_gguf_model(original, path);
  const GgufFile file = GgufFile::open(path);
  EXPECT_EQ(file.get_string("tokenizer.ggml.model"), "none");
  EXPECT_EQ(file.find("tokenizer.ggml.tokens"), nullptr);
  EXPECT_FALSE(load_gguf_model(file).tokenizer);
  const auto llama_cpp = testing::fixture_dir("llamacpp_quants") / "mamba2-qtest-F32.gguf";
  EXPECT_EQ(GgufFile::open(llama_cpp).get_string("tokenizer.ggml.model"), "none");
  EXPECT_FALSE(load_gguf_model(llama_cpp).tokenizer);
}

// llama.cpp refuses a gpt2 vocabulary without tokenizer.ggml.merges ("cannot find tokenizer merges
// in model file"): a byte-level one, which has no merges, gets an empty array.
TEST(GgufModel, AByteLevelVocabularyHasAnEmptyMergesArray) {
  ModelWeights original = synthetic_weights(small_config(true), 8);
  original.tokenizer = small_tokenizer();
  original.tokenizer->merges.clear();
  const auto path = testing::scratch_dir() / "no-merges.gguf";
  write_gguf_model(original, path);
  const GgufFile file = GgufFile::open(path);
  const GgufValue* merges = file.find("tokenizer.ggml.merges");
  ASSERT_NE(merges, nullptr);
  EXPECT_EQ(merges->type, GgufType::kArray);
  EXPECT_EQ(merges->element_type, GgufType::kString);
  EXPECT_EQ(merges->count, 0u);
  const ModelWeights loaded = load_gguf_model(file);
  ASSERT_TRUE(loaded.tokenizer);
  EXPECT_TRUE(loaded.tokenizer->merges.empty());
  EXPECT_EQ(loaded.tokenizer->tokens.size(), 112u);
}

TEST(GgufModel, HalfAndQ8RoundTripsAreWithinTheirRounding) {
  for (DType type : {DType::kF16, DType::kBF16, DType::kQ8_0}) {
    ModelWeights original = synthetic_weights(small_config(false), 3);
    const auto path = testing::scratch_dir() / "typed.gguf";
    std::vector<std::string> seen;
    write_gguf_model(original, path, {{type}, [&](const GgufWriteProgress& p) {
                                        seen.push_back(std::string(p.name));
                                      }});
    EXPECT_EQ(seen.size(), 1u + 2 * 9 + 2);
    ModelWeights loaded = load_gguf_model(path);
    for_each_pair(original, loaded,
                  [&](const TensorSlot& slot, const TensorView& a, const TensorView& b) {
                    if (!slot.present) return;
                    const bool converted = slot.role != TensorRole::kSmall;
                    EXPECT_EQ(b.dtype, converted ? type : DType::kF32) << slot.name;
                    const auto fa = as_f32(a);
                    const auto fb = as_f32(b);
                    ASSERT_EQ(fa.size(), fb.size());
                    for (size_t i = 0; i < fa.size(); ++i) {
                      if (!converted) {
                        ASSERT_EQ(fa[i], fb[i]) << slot.name;
                      } else if (type == DType::kF16) {
                        ASSERT_EQ(fb[i], f16_to_f32(f32_to_f16(fa[i]))) << slot.name;
                      } else if (type == DType::kBF16) {
                        ASSERT_EQ(fb[i], bf16_to_f32(f32_to_bf16(fa[i]))) << slot.name;
                      } else {
                        // |x| <= amax, step amax/127 -> error <= amax/254 (+ scale rounding); amax
                        // < 6 here.
                        ASSERT_NEAR(fb[i], fa[i], 6.0f / 127.0f) << slot.name;
                      }
                    }
                  });
    // A second pass from the loaded file with the same type copies bytes unchanged.
    const auto again = testing::scratch_dir() / "again.gguf";
    write_gguf_model(loaded, again, {{type}, {}});
    ModelWeights reloaded = load_gguf_model(again);
    for_each_pair(loaded, reloaded,
                  [&](const TensorSlot& slot, const TensorView& a, const TensorView& b) {
                    if (!slot.present) return;
                    ASSERT_EQ(a.nbytes, b.nbytes);
                    EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << slot.name;
                  });
  }
}

TEST(GgufModel, Q8FallsBackToF16ForRowsThatAreNotWholeBlocks) {
  const QuantizationPolicy q8_0{DType::kQ8_0};
  const TensorTypeChoice fallback = q8_0.tensor_type("w", TensorRole::kProjection, {64, 48});
  EXPECT_EQ(fallback.type, DType::kF16);
  EXPECT_EQ(fallback.fallback_from, DType::kQ8_0);
  EXPECT_EQ(q8_0.tensor_type("w", TensorRole::kProjection, {48, 64}).type, DType::kQ8_0);
  EXPECT_EQ(q8_0.tensor_type("w", TensorRole::kSmall, {48, 64}).type, DType::kF32);
  EXPECT_EQ(q8_0.llama_file_type(), 7u);
  EXPECT_EQ(QuantizationPolicy{DType::kBF16}.llama_file_type(), 32u);
}

TEST(GgufModel, WriteRefusesInconsistentWeights) {
  ModelWeights weights = synthetic_weights(small_config(true), 4);
  weights.layers[1].A = TensorView{};
  EXPECT_THROW(write_gguf_model(weights, testing::scratch_dir() / "x.gguf"), Error);
  ModelWeights too_many_tokens = synthetic_weights(small_config(true), 4);
  too_many_tokens.tokenizer = small_tokenizer();
  too_many_tokens.tokenizer->tokens.resize(200, "x");
  too_many_tokens.tokenizer->token_types.resize(200, TokenType::kNormal);
  EXPECT_THROW(write_gguf_model(too_many_tokens, testing::scratch_dir() / "y.gguf"), Error);
}

TEST(GgufModel, WritesEveryBlockTypeTheEngineComputesWith) {
  const ModelWeights weights = synthetic_weights(small_config(true), 4);
  const auto path = testing::scratch_dir() / "q4.gguf";
  write_gguf_model(weights, path, {{.type = DType::kQ4_0, .embedding_type = DType::kIQ4_NL}, {}});
  const ModelWeights q4 = load_gguf_model(path);
  EXPECT_EQ(q4.layers[0].in_proj.dtype, DType::kQ4_0);
  EXPECT_EQ(q4.embedding.dtype, DType::kIQ4_NL);
  // Rows of 32 and 64 are not whole 256-weight K-quant blocks: those fall back to Q5_0, as
  // llama-quantize's do.
  write_gguf_model(weights, path, {{DType::kQ4_K}, {}});
  EXPECT_EQ(load_gguf_model(path).layers[0].out_proj.dtype, DType::kQ5_0);
  std::filesystem::remove(path);
}

// Copies the scalar metadata of `file` (what write_gguf_model writes) into `out`.
void copy_metadata(const GgufFile& file, GgufWriter& out, const std::string& skip_key = "",
                   const std::string& override_arch = "") {
  for (const auto& [key, value] : file.metadata()) {
    if (key == skip_key) continue;
    if (key == "general.architecture" && !override_arch.empty()) {
      out.add_string(key, override_arch);
    } else if (value.type == GgufType::kUint32) {
      out.add_uint32(key, static_cast<uint32_t>(value.uint_value));
    } else if (value.type == GgufType::kFloat32) {
      out.add_float32(key, static_cast<float>(value.float_value));
    } else if (value.type == GgufType::kString) {
      out.add_string(key, value.string);
    }
  }
}

// Rewrites a valid file with one change, by re-emitting the container with GgufWriter.
std::filesystem::path write_variant(
    const std::filesystem::path& source, const std::string& name,
    const std::function<void(GgufWriter&, const GgufFile&)>& add_extra,
    const std::string& skip_key = "", const std::string& skip_tensor = "",
    const std::string& override_arch = "") {
  const GgufFile file = GgufFile::open(source);
  GgufWriter out;
  copy_metadata(file, out, skip_key, override_arch);
  for (const GgufTensorInfo& info : file.tensors()) {
    if (info.name != skip_tensor) out.add_tensor(info.name, file.view(info));
  }
  add_extra(out, file);
  const auto path = testing::scratch_dir() / name;
  out.write(path);
  return path;
}

void expect_load_error(const std::filesystem::path& path, const std::string& fragment) {
  try {
    load_gguf_model(path);
    FAIL() << "loaded a file that should fail with '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(GgufModel, RejectsFilesThatAreNotThisModel) {
  ModelWeights weights = synthetic_weights(small_config(true), 5);
  const auto good = testing::scratch_dir() / "good.gguf";
  write_gguf_model(weights, good);
  const auto none = [](GgufWriter&, const GgufFile&) {};

  // A tensor the config does not predict.
  const float extra[4] = {};
  expect_load_error(
      write_variant(good, "extra.gguf",
                    [&](GgufWriter& out, const GgufFile&) {
                      out.add_tensor(
                          "blk.2.ssm_a",
                          TensorView{
                              DType::kF32, {4, 1}, reinterpret_cast<const std::byte*>(extra), 16});
                    }),
      "tensor 'blk.2.ssm_a' is not part of a mamba2 model");
  // A missing tensor, a missing key, another architecture.
  expect_load_error(write_variant(good, "missing.gguf", none, "", "blk.1.ssm_dt.bias"),
                    "tensor 'blk.1.ssm_dt.bias' is missing");
  expect_load_error(write_variant(good, "nokey.gguf", none, "mamba2.ssm.state_size"),
                    "metadata key 'mamba2.ssm.state_size' is missing");
  expect_load_error(write_variant(good, "llama.gguf", none, "", "", "llama"),
                    "architecture is 'llama', expected 'mamba2'");
  // A shape the config does not predict: ssm_a stored as a vector.
  expect_load_error(
      write_variant(
          good, "shape.gguf",
          [&](GgufWriter& out, const GgufFile&) {
            out.add_tensor(
                "blk.0.ssm_a",
                TensorView{DType::kF32, {4}, reinterpret_cast<const std::byte*>(extra), 16});
          },
          "", "blk.0.ssm_a"),
      "tensor 'blk.0.ssm_a' has shape [4], the config predicts [4, 1]");
}

// ggml leaves trailing dimensions of 1 out of the files it writes (ne {512, 1} becomes {512}), and
// llama.cpp's loader compares shapes padded with 1s: a one-group, one-head model from
// llama-quantize stores ssm_norm, ssm_a and ssm_d with fewer dimensions than the config predicts.
TEST(GgufModel, ShapesCompareAsGgmlDoesIgnoringTrailingOnes) {
  ModelConfig config = small_config(true);
  config.headdim = 64;  // one head
  config.ngroups = 1;
  config.D_has_hdim = true;
  config.resolve("test");
  ModelWeights original = synthetic_weights(config, 6);
  const auto ours = testing::scratch_dir() / "ours.gguf";
  write_gguf_model(original, ours);

  // Every tensor as ggml writes it (outermost 1s dropped), and one norm with a 1 too many.
  const GgufFile file = GgufFile::open(ours);
  GgufWriter out;
  copy_metadata(file, out);
  int dropped = 0;
  for (const GgufTensorInfo& info : file.tensors()) {
    TensorView view = file.view(info);
    if (info.name == "blk.1.attn_norm.weight") {
      view.shape = {1, view.shape[0]};
    } else if (view.shape.rank == 2 && view.shape[0] == 1) {
      view.shape = {view.shape[1]};
      ++dropped;
    }
    out.add_tensor(info.name, view);
  }
  EXPECT_EQ(dropped, 2 * 3);  // ssm_norm [1, 64], ssm_d [1, 64], ssm_a [1, 1] per layer
  const auto path = testing::scratch_dir() / "ggml_shapes.gguf";
  out.write(path);

  ModelWeights loaded = load_gguf_model(path);
  EXPECT_EQ(loaded.config.nheads, 1);
  EXPECT_EQ(loaded.config.ngroups, 1);
  EXPECT_TRUE(loaded.config.D_has_hdim);
  for_each_pair(original, loaded,
                [&](const TensorSlot& slot, const TensorView& a, const TensorView& b) {
                  if (!slot.present) return;
                  EXPECT_EQ(b.shape, slot.shape) << slot.name;  // the config's rank again
                  ASSERT_EQ(a.nbytes, b.nbytes) << slot.name;
                  EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << slot.name;
                });
}

}  // namespace
}  // namespace mamba2
