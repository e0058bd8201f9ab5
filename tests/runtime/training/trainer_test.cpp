// The optimizer, the schedule, data windows, checkpoints, the byte-level tokenizer, and a tiny
// model overfitting a short text.
#include "runtime/training/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "mamba2/data_windows.h"
#include "mamba2/error.h"
#include "mamba2/tokenizer.h"
#include "runtime/training/checkpoint.h"
#include "tests/support/test_paths.h"

namespace mamba2::training {
namespace {

ModelConfig byte_config(int64_t d_model, int64_t n_layer) {
  ModelConfig c;
  c.d_model = d_model;
  c.n_layer = n_layer;
  c.vocab_size = 256;
  c.d_state = 16;
  c.headdim = 16;
  c.chunk_size = 16;
  c.resolve("byte model");
  return c;
}

TEST(TrainingSchedule, WarmupThenCosineToTheFloor) {
  AdamWSettings s;
  s.lr = 1.0;
  s.warmup_steps = 10;
  s.total_steps = 110;
  s.min_lr_ratio = 0.1;
  EXPECT_DOUBLE_EQ(learning_rate(s, 0), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(s, 9), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(s, 10), 1.0);
  EXPECT_NEAR(learning_rate(s, 60), 0.55, 1e-12);
  EXPECT_NEAR(learning_rate(s, 110), 0.1, 1e-12);
  EXPECT_NEAR(learning_rate(s, 500), 0.1, 1e-12);
}

TEST(TrainingOptimizer, ClipsAndDecaysOnlyMatrices) {
  const ParameterLayout layout(byte_config(16, 1));
  AdamWSettings s;
  s.lr = 0.1;
  s.warmup_steps = 0;
  s.total_steps = 1;
  s.min_lr_ratio = 1.0;
  s.weight_decay = 0.5;
  s.clip = 1.0;
  AdamW adam(layout, s);
  std::vector<float> params(layout.total(), 1.0f), grads(layout.total(), 0.0f);
  grads[0] = 3.0f;
  grads[1] = 4.0f;  // norm 5, clipped to 1
  EXPECT_NEAR(adam.update(params.data(), grads.data()), 5.0, 1e-6);
  EXPECT_NEAR(grads[0], 0.6f, 1e-6);
  EXPECT_NEAR(grads[1], 0.8f, 1e-6);
  // The first Adam step moves every parameter with a gradient by lr (m / sqrt(v) = sign).
  EXPECT_NEAR(params[0], 1.0f - 0.1f, 1e-5);
  const ParameterSlot& in_proj = layout.layer_slot(0, ParameterLayout::kInProj);
  const ParameterSlot& norm = layout.layer_slot(0, ParameterLayout::kNorm);
  EXPECT_NEAR(params[in_proj.offset], 1.0f - 0.1f * 0.5f, 1e-6);  // decayed, no gradient
  EXPECT_EQ(params[norm.offset], 1.0f);                           // not decayed
  EXPECT_EQ(adam.step(), 1);
}

TEST(TrainingData, WindowsDependOnlyOnSeedAndStep) {
  std::vector<int32_t> tokens(1000);
  for (int i = 0; i < 1000; ++i) tokens[i] = i;
  const DataWindows a(tokens, 20, 5), b(tokens, 20, 5), c(tokens, 20, 6);
  EXPECT_EQ(a.batch(7, 4), b.batch(7, 4));
  EXPECT_NE(a.batch(7, 4), a.batch(8, 4));
  EXPECT_NE(a.batch(7, 4), c.batch(7, 4));
  const std::vector<int32_t> batch = a.batch(3, 4);
  for (int row = 0; row < 4; ++row) {
    for (int t = 1; t <= 20; ++t) EXPECT_EQ(batch[row * 21 + t], batch[row * 21 + t - 1] + 1);
  }
  EXPECT_THROW(DataWindows(std::vector<int32_t>(20), 20, 1), Error);
}

TEST(TrainingCheckpoint, RoundTripsAndRefusesDamage) {
  const ParameterLayout layout(byte_config(16, 1));
  CheckpointState state;
  state.step = 42;
  state.seed = 9;
  state.params = init_parameters(layout, 1);
  state.m.assign(layout.total(), 0.25f);
  state.v.assign(layout.total(), 0.5f);
  const auto path = mamba2::testing::scratch_dir() / "state.ckpt";
  write_checkpoint(path, layout, state);
  const CheckpointState back = read_checkpoint(path, layout);
  EXPECT_EQ(back.step, 42);
  EXPECT_EQ(back.seed, 9u);
  EXPECT_EQ(back.params, state.params);
  EXPECT_EQ(back.m, state.m);
  EXPECT_EQ(back.v, state.v);

  const ParameterLayout other(byte_config(16, 2));
  EXPECT_THROW(read_checkpoint(path, other), Error);  // size differs
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    file.put('\x7f');
  }
  EXPECT_THROW(read_checkpoint(path, layout), Error);  // checksum
  std::filesystem::resize_file(path, 10);
  EXPECT_THROW(read_checkpoint(path, layout), Error);
  EXPECT_THROW(read_checkpoint(path.string() + ".missing", layout), Error);
}

TEST(ByteTokenizer, EncodesTextToExactlyItsBytes) {
  const Tokenizer tokenizer(byte_level_tokenizer(), "bytes");
  EXPECT_EQ(tokenizer.size(), 256);
  EXPECT_EQ(tokenizer.eos_id(), -1);
  std::string texts[] = {
      "Once upon a time, there was a girl.\n\n  Spaces   and\ttabs 123!",
      "caf\xc3\xa9 \xe2\x80\x9cquoted\xe2\x80\x9d \xf0\x9f\x98\x80 <|endoftext|>",
      std::string("\x00\x01\x7f", 3)};
  for (const std::string& text : texts) {
    const std::vector<int32_t> ids = tokenizer.encode(text);
    ASSERT_EQ(ids.size(), text.size()) << text;
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], static_cast<unsigned char>(text[i]));
    EXPECT_EQ(tokenizer.decode(ids), text);
  }
  const auto corpus =
      mamba2::testing::data_dir() / "corpus/tinystories/tinystories-hf-validation-head.txt";
  std::ifstream in(corpus, std::ios::binary);
  ASSERT_TRUE(in) << corpus;
  std::string text(100000, '\0');
  in.read(text.data(), std::streamsize(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
  if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
  const std::vector<int32_t> ids = tokenizer.encode(text);
  ASSERT_EQ(ids.size(), text.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i], static_cast<unsigned char>(text[i])) << i;
  }
}

TEST(Trainer, TinyModelOverfitsAShortText) {
  const ParameterLayout layout(byte_config(32, 2));
  const std::string text = "The cat sat on the mat. The dog ran to the big red ball!\n";
  const DataWindows data(std::vector<int32_t>(text.begin(), text.end()), 24, 1);
  AdamWSettings s;
  s.lr = 1e-2;
  s.warmup_steps = 20;
  s.total_steps = 300;
  s.weight_decay = 0.0;
  Trainer trainer(layout, init_parameters(layout, 2), s, 8, 24, ThreadingContext(2));
  double first = 0, last = 0;
  for (int64_t step = 0; step < s.total_steps; ++step) {
    last = trainer.step(data.batch(step, 8)).loss;
    if (step == 0) first = last;
    ASSERT_TRUE(std::isfinite(last)) << step;
  }
  EXPECT_NEAR(first, std::log(256.0), 0.2);
  // Only the first byte of each window is unpredictable from the ones before it.
  EXPECT_LT(last, 0.25) << "first loss " << first;
}

TEST(Trainer, ResultsDoNotDependOnTheThreadCount) {
  const ParameterLayout layout(byte_config(32, 2));
  std::string text;
  for (int i = 0; i < 40; ++i) text += "Words " + std::to_string(i * 7919 % 1000) + " and more. ";
  const DataWindows data(std::vector<int32_t>(text.begin(), text.end()), 40, 3);
  AdamWSettings s;
  s.total_steps = 3;
  Trainer one(layout, init_parameters(layout, 4), s, 4, 40, ThreadingContext(1));
  Trainer two(layout, init_parameters(layout, 4), s, 4, 40, ThreadingContext(2));
  for (int64_t step = 0; step < 3; ++step) {
    EXPECT_EQ(one.step(data.batch(step, 4)).loss, two.step(data.batch(step, 4)).loss);
  }
  EXPECT_EQ(one.params(), two.params());
}

}  // namespace
}  // namespace mamba2::training
