// Runs the real mamba2-train binary: a short run gives a model the runtime and mamba2-eval load,
// a resumed run ends with the same weights as an uninterrupted one, Ctrl-C saves and exits
// cleanly, and bad flags or files give one line and exit code 1.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "mamba2/model_loader.h"
#include "mamba2/session.h"
#include "mamba2/tokenizer.h"
#include "tests/support/file_bytes.h"
#include "tests/support/run_binary.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using testing::read_bytes;
using testing::write_bytes;

const char* const kConfig = R"({"d_model": 32, "n_layer": 2, "vocab_size": 256,
  "ssm_cfg": {"layer": "Mamba2", "d_state": 16, "headdim": 16, "chunk_size": 16}})";

class TrainApp : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::scratch_dir();
    const std::string corpus =
        read_bytes(testing::data_dir() / "corpus/tinystories/tinystories-hf-train-first1000.txt");
    ASSERT_GT(corpus.size(), 30000u);
    write_bytes(dir_ / "train.txt", corpus.substr(0, 20000));
    write_bytes(dir_ / "val.txt", corpus.substr(25000, 1500));
    write_bytes(dir_ / "config.json", kConfig);
  }

  std::vector<std::string> args(const std::string& out, std::vector<std::string> extra,
                                const std::string& steps = "20", const std::string& threads = "2") {
    std::vector<std::string> all = {"--data",       (dir_ / "train.txt").string(),
                                    "--val",        (dir_ / "val.txt").string(),
                                    "--config",     (dir_ / "config.json").string(),
                                    "--out",        out,
                                    "--steps",      steps,
                                    "--seq-len",    "32",
                                    "--batch",      "4",
                                    "--warmup",     "5",
                                    "--eval-every", "10",
                                    "-t",           threads};
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }

  std::filesystem::path dir_;
};

TEST_F(TrainApp, ShortRunWritesAModelThatLoadsAndEvaluates) {
  const std::string out = (dir_ / "model.gguf").string();
  const testing::BinaryRun run = testing::run_binary(MAMBA2_TRAIN_BIN, args(out, {}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("finished at step 20"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("step 20/20"), std::string::npos) << run.err;
  EXPECT_TRUE(std::filesystem::exists(out + ".ckpt"));

  auto model = load_model(out);
  ASSERT_TRUE(model->weights().tokenizer.has_value());
  const Tokenizer tokenizer(*model->weights().tokenizer);
  const std::string text = "Once upon a time";
  const std::vector<int32_t> ids = tokenizer.encode(text);
  ASSERT_EQ(ids.size(), text.size());
  Session session(model);
  const std::span<const float> logits = session.prefill(ids);
  ASSERT_EQ(logits.size(), 256u);
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));

  // mamba2-eval's bits per byte on the validation file is the one the trainer reported.
  const testing::BinaryRun eval =
      testing::run_binary(MAMBA2_EVAL_BIN, {out, "--perplexity", (dir_ / "val.txt").string()});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const auto at = eval.out.find("bits_per_byte: ");
  ASSERT_NE(at, std::string::npos) << eval.out;
  const double eval_bpb = std::stod(eval.out.substr(at + 15));
  const auto val_at = run.out.find("val ");
  ASSERT_NE(val_at, std::string::npos);
  EXPECT_NEAR(std::stod(run.out.substr(val_at + 4)), eval_bpb, 1e-3);
  EXPECT_LT(eval_bpb, 8.0);
}

TEST_F(TrainApp, InitFineTunesAModelAndKeepsItsTokenizer) {
  const std::string base = (dir_ / "base.gguf").string();
  ASSERT_EQ(testing::run_binary(MAMBA2_TRAIN_BIN, args(base, {}, "3")).exit_code, 0);
  const std::string tuned = (dir_ / "tuned.gguf").string();
  const testing::BinaryRun run = testing::run_binary(
      MAMBA2_TRAIN_BIN, {"--data", (dir_ / "val.txt").string(), "--init", base, "--out", tuned,
                         "--steps", "3", "--seq-len", "16", "--batch", "2", "-t", "1"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const ModelWeights before = load_model_weights(base), after = load_model_weights(tuned);
  ASSERT_TRUE(after.tokenizer.has_value());
  EXPECT_EQ(after.tokenizer->tokens, before.tokenizer->tokens);
  EXPECT_EQ(after.tokenizer->model, before.tokenizer->model);
  EXPECT_EQ(after.config.d_model, before.config.d_model);
  // The weights moved.
  const auto a = before.layers[0].in_proj.f32(), b = after.layers[0].in_proj.f32();
  EXPECT_FALSE(std::equal(a.begin(), a.end(), b.begin()));
}

TEST_F(TrainApp, ResumeGivesTheSameWeightsAsOneRun) {
  const std::string whole = (dir_ / "a" / "model.gguf").string();
  const std::string parts = (dir_ / "b" / "model.gguf").string();
  std::filesystem::create_directories(dir_ / "a");
  std::filesystem::create_directories(dir_ / "b");
  ASSERT_EQ(testing::run_binary(MAMBA2_TRAIN_BIN, args(whole, {})).exit_code, 0);
  const testing::BinaryRun first =
      testing::run_binary(MAMBA2_TRAIN_BIN, args(parts, {"--stop-at", "7"}, "20", "1"));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("stopped at step 7"), std::string::npos) << first.out;
  const testing::BinaryRun second =
      testing::run_binary(MAMBA2_TRAIN_BIN, args(parts, {"--resume", parts + ".ckpt"}));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("finished at step 20"), std::string::npos) << second.out;
  EXPECT_TRUE(read_bytes(whole) == read_bytes(parts)) << "GGUF files differ";
  EXPECT_TRUE(read_bytes(whole + ".ckpt") == read_bytes(parts + ".ckpt")) << "checkpoints differ";
}

TEST_F(TrainApp, CtrlCSavesACheckpointAndTheModel) {
  const std::string out = (dir_ / "interrupted.gguf").string();
  std::string command =
      "timeout --preserve-status -s INT 3 '" + std::string(MAMBA2_TRAIN_BIN) + "'";
  for (const std::string& arg : args(out, {"--val-bytes", "200"}, "1000000")) {
    command += " '" + arg + "'";
  }
  command += " > '" + (dir_ / "interrupt.out").string() + "' 2>/dev/null";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(read_bytes(dir_ / "interrupt.out").find("stopped at step"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(out + ".ckpt"));
  EXPECT_NO_THROW(load_model(out));
}

TEST_F(TrainApp, BadFlagsAndFilesGiveOneLineAndExitCode1) {
  const std::string out = (dir_ / "bad.gguf").string();
  const std::string garbage = (dir_ / "garbage.ckpt").string();
  write_bytes(garbage, "not a checkpoint");
  const std::vector<std::vector<std::string>> cases = {
      {"--out", out, "--config", (dir_ / "config.json").string()},  // no --data
      args(out, {"--steps", "0"}),
      args(out, {"--lr", "-1"}),
      args(out, {"--init", out}),  // both --config and --init
      args(out, {"--resume", garbage}),
      args(out, {"--resume", garbage + ".missing"}),
      args(out, {"--data", (dir_ / "missing.txt").string()}),
      {"--data", (dir_ / "train.txt").string(), "--out", out, "--init",
       (dir_ / "missing.gguf").string()},
      {"--data", (dir_ / "train.txt").string(), "--out", out, "--config",
       (dir_ / "train.txt").string()},  // not JSON
  };
  for (const auto& case_args : cases) {
    const testing::BinaryRun run = testing::run_binary(MAMBA2_TRAIN_BIN, case_args);
    std::string joined;
    for (const std::string& a : case_args) joined += a + " ";
    EXPECT_EQ(run.exit_code, 1) << joined << "\n" << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << joined << "\n" << run.err;
    EXPECT_NE(run.err.find("mamba2-train: error: "), std::string::npos) << run.err;
  }
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace mamba2
