// SIGKILLs mamba2-quantize, mamba2-train and mamba2-chat's /save at seeded random moments, half
// of them just after the output's temporary file appears (mid-write), and checks after every
// kill that the output under its final name is absent or an earlier good file (a new output),
// or byte-identical to the file it replaces (an existing output) or to the complete new file.
//
// Leftover temporaries are accepted: a SIGKILLed process cannot remove "<out>.tmp.XXXXXXXX"
// (llama.cpp leaves its temporaries the same way). They never sit under the final name, and
// the next run picks a fresh random name with O_EXCL, so each suite ends by checking that a run
// in the littered directory succeeds and writes the same bytes as a run in a clean one.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mamba2/random_model.h"
#include "runtime/formats/config_json.h"
#include "runtime/gguf/gguf_model.h"
#include "runtime/training/checkpoint.h"
#include "tests/support/file_bytes.h"
#include "tests/support/run_binary.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using testing::read_bytes;
using testing::write_bytes;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The temporaries AtomicFile makes beside `output`.
std::vector<fs::path> temporaries_of(const fs::path& output) {
  const std::string prefix = output.filename().string() + ".tmp.";
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(output.parent_path())) {
    if (entry.path().filename().string().starts_with(prefix)) found.push_back(entry.path());
  }
  return found;
}

// Every temporary in the output's directory (of the output or of another file the tool writes,
// such as mamba2-train's checkpoint).
std::set<fs::path> temporaries_beside(const fs::path& output) {
  std::set<fs::path> found;
  for (const auto& entry : fs::directory_iterator(output.parent_path())) {
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) {
      found.insert(entry.path());
    }
  }
  return found;
}

// When to kill: `delay` after the start, or `delay` after a temporary of `watched` appears.
struct KillPoint {
  bool after_temporary = false;
  std::chrono::microseconds delay{0};
};

struct KillOutcome {
  bool killed = false;          // SIGKILL ended it (it had not finished yet)
  bool temporary_seen = false;  // a temporary of the watched output appeared before the kill
  bool mid_write = false;       // a temporary made by this run was still there after the kill
};

pid_t spawn(const std::string& binary, const std::vector<std::string>& args,
            const std::string& input) {
  int in_pipe[2];
  if (::pipe(in_pipe) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    std::vector<char*> argv = {const_cast<char*>(binary.c_str())};
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  // The scripted input is small (well under a pipe buffer): write it all and close, so the
  // tool sees end of input after its last line.
  if (!input.empty()) {
    [[maybe_unused]] const ssize_t written = ::write(in_pipe[1], input.data(), input.size());
  }
  ::close(in_pipe[1]);
  return pid;
}

KillOutcome run_and_kill(const std::string& binary, const std::vector<std::string>& args,
                         const std::string& input, const fs::path& watched, KillPoint point) {
  KillOutcome outcome;
  const std::set<fs::path> earlier = temporaries_beside(watched);
  const pid_t pid = spawn(binary, args, input);
  EXPECT_GT(pid, 0);
  if (pid <= 0) return outcome;
  auto deadline = Clock::now() + point.delay;
  int status = 0;
  bool exited = false;
  if (point.after_temporary) {
    deadline = Clock::time_point::max();
  }
  while (Clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    if (point.after_temporary && !outcome.temporary_seen && !temporaries_of(watched).empty()) {
      outcome.temporary_seen = true;
      deadline = Clock::now() + point.delay;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  outcome.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  for (const fs::path& temporary : temporaries_beside(watched)) {
    outcome.mid_write |= outcome.killed && !earlier.contains(temporary);
  }
  return outcome;
}

// Seeded kill points: half at a uniform moment of a whole run, half just after the output's
// temporary appears.
std::vector<KillPoint> kill_points(uint32_t seed, int count, std::chrono::microseconds run_time) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> anywhere(0, run_time.count());
  std::uniform_int_distribution<int64_t> soon(0, 100);
  std::vector<KillPoint> points;
  for (int i = 0; i < count; ++i) {
    const bool after_temporary = i % 2 == 1;
    points.push_back(
        {after_temporary, std::chrono::microseconds(after_temporary ? soon(rng) : anywhere(rng))});
  }
  return points;
}

std::chrono::microseconds timed_run(const std::string& binary, const std::vector<std::string>& args,
                                    const std::string& input = "") {
  const auto start = Clock::now();
  const testing::BinaryRun run = testing::run_binary(binary, args, input);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

// The kill loop shared by every tool. Kill i starts with no output (even i) or with `previous`
// under the output's name (odd i); after each, the output must be absent, `previous` or
// `complete`, and `extra_check` looks at whatever else the tool writes.
struct KillSuite {
  std::string binary;
  std::vector<std::string> args;
  std::string input;
  fs::path output;
  std::string previous;  // an earlier good file the output replaces
  std::string complete;  // the output of an uninterrupted run
};

// Extra kills right as a temporary appears, until one lands mid-write: a write can take well
// under a millisecond, and the test means something only if some kill hits one.
constexpr int kMaxExtraKills = 24;

void run_kill_suite(const KillSuite& suite, std::chrono::microseconds run_time, uint32_t seed,
                    const std::function<void()>& extra_check = {}) {
  int killed = 0, mid_write = 0, kills = 0;
  auto kill_once = [&](KillPoint point, bool existing) {
    SCOPED_TRACE("kill " + std::to_string(kills) +
                 (point.after_temporary ? " after the temporary" : " at a moment") + " +" +
                 std::to_string(point.delay.count()) + " us, " +
                 (existing ? "existing output" : "new output"));
    ++kills;
    fs::remove(suite.output);
    if (existing) write_bytes(suite.output, suite.previous);
    const KillOutcome outcome =
        run_and_kill(suite.binary, suite.args, suite.input, suite.output, point);
    killed += outcome.killed;
    mid_write += outcome.mid_write;
    if (fs::exists(suite.output)) {
      const std::string left = read_bytes(suite.output);
      EXPECT_TRUE(left == suite.complete || (existing && left == suite.previous))
          << "the output is damaged: " << left.size() << " bytes (complete "
          << suite.complete.size() << ", previous " << suite.previous.size() << ")";
    }
    for (const fs::path& temporary : temporaries_of(suite.output)) {
      EXPECT_TRUE(
          std::regex_match(temporary.filename().string(), std::regex(".*\\.tmp\\.[0-9a-f]{8}")))
          << temporary;
    }
    if (extra_check) extra_check();
  };
  const std::vector<KillPoint> points = kill_points(seed, 8, run_time);
  for (size_t i = 0; i < points.size(); ++i) kill_once(points[i], i % 2 == 1);
  // Written in place, no kill would ever find a temporary of this run left behind.
  for (int extra = 0; mid_write == 0 && extra < kMaxExtraKills; ++extra) {
    kill_once({true, std::chrono::microseconds(0)}, extra % 2 == 1);
  }
  std::printf("%d kills: %d before the end, %d mid-write\n", kills, killed, mid_write);
  EXPECT_GE(killed, 4);
  EXPECT_GE(mid_write, 1);
  // The leftovers do not trip a later run.
  fs::remove(suite.output);
  const testing::BinaryRun after = testing::run_binary(suite.binary, suite.args, suite.input);
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_TRUE(read_bytes(suite.output) == suite.complete);
}

fs::path random_model_gguf(const fs::path& dir, int64_t d_model, int64_t n_layer, int64_t vocab,
                           int64_t d_state) {
  ModelConfig config;
  config.d_model = d_model;
  config.n_layer = n_layer;
  config.vocab_size = vocab;
  config.d_state = d_state;
  config.headdim = 32;
  config.chunk_size = 32;
  config.resolve("test");
  const fs::path path = dir / "input.gguf";
  write_gguf_model(make_random_weights(config, 7), path);
  return path;
}

TEST(CrashSafety, KilledQuantizeLeavesNoPartialOutput) {
  const fs::path dir = testing::scratch_dir();
  // ~6 M parameters: a q8_0 conversion that takes a moment, most of it writing.
  const fs::path input = random_model_gguf(dir, 384, 6, 8192, 64);
  KillSuite suite;
  suite.binary = MAMBA2_QUANTIZE_BIN;
  suite.output = dir / "out.gguf";
  // The previous file: the same model converted to another type.
  ASSERT_EQ(
      testing::run_binary(suite.binary, {input.string(), suite.output.string(), "--type", "f16"})
          .exit_code,
      0);
  suite.previous = read_bytes(suite.output);
  suite.args = {input.string(), suite.output.string(), "--type", "q8_0"};
  fs::remove(suite.output);
  const auto run_time = timed_run(suite.binary, suite.args);
  suite.complete = read_bytes(suite.output);
  ASSERT_NE(suite.complete, suite.previous);
  run_kill_suite(suite, run_time, 1);
}

TEST(CrashSafety, KilledTrainLeavesNoPartialModelOrCheckpoint) {
  const fs::path dir = testing::scratch_dir();
  const std::string config_text = R"({"d_model": 64, "n_layer": 2, "vocab_size": 256,
    "ssm_cfg": {"layer": "Mamba2", "d_state": 16, "headdim": 16, "chunk_size": 16}})";
  write_bytes(dir / "config.json", config_text);
  const std::string corpus =
      read_bytes(testing::data_dir() / "corpus/tinystories/tinystories-hf-train-first1000.txt");
  ASSERT_GT(corpus.size(), 20000u);
  write_bytes(dir / "train.txt", corpus.substr(0, 20000));
  KillSuite suite;
  suite.binary = MAMBA2_TRAIN_BIN;
  suite.output = dir / "model.gguf";
  const fs::path checkpoint = dir / "model.gguf.ckpt";
  auto train_args = [&](const char* seed) {
    // A checkpoint after every step: the kills also land in checkpoint writes.
    return std::vector<std::string>{"--data",
                                    (dir / "train.txt").string(),
                                    "--config",
                                    (dir / "config.json").string(),
                                    "--out",
                                    suite.output.string(),
                                    "--steps",
                                    "12",
                                    "--seq-len",
                                    "32",
                                    "--batch",
                                    "4",
                                    "--warmup",
                                    "2",
                                    "--seed",
                                    seed,
                                    "-t",
                                    "1",
                                    "--checkpoint-every-minutes",
                                    "0.000001"};
  };
  ASSERT_EQ(testing::run_binary(suite.binary, train_args("2")).exit_code, 0);
  suite.previous = read_bytes(suite.output);
  suite.args = train_args("1");
  fs::remove(suite.output);
  const auto run_time = timed_run(suite.binary, suite.args);
  suite.complete = read_bytes(suite.output);
  ASSERT_NE(suite.complete, suite.previous);

  const training::ParameterLayout layout(parse_config_json(config_text, "config.json"));
  int checkpoints = 0;
  run_kill_suite(suite, run_time, 2, [&] {
    // A checkpoint, when there is one, is always whole: size, layout and checksum agree.
    if (!fs::exists(checkpoint)) return;
    ++checkpoints;
    EXPECT_NO_THROW(training::read_checkpoint(checkpoint, layout));
    EXPECT_TRUE(temporaries_of(checkpoint).empty() ||
                std::regex_match(temporaries_of(checkpoint)[0].filename().string(),
                                 std::regex(".*\\.tmp\\.[0-9a-f]{8}")));
  });
  EXPECT_GT(checkpoints, 0);
}

TEST(CrashSafety, KilledChatSaveLeavesNoPartialConversationFile) {
  const fs::path dir = testing::scratch_dir();
  // An id-only model with a 1 MiB state: each /save writes a conversation file of that size.
  const fs::path model = random_model_gguf(dir, 256, 4, 512, 128);
  KillSuite suite;
  suite.binary = MAMBA2_CHAT_BIN;
  suite.output = dir / "talk.m2c";
  suite.args = {model.string(), "-n", "4", "--temp", "0", "--seed", "1", "-t", "1"};
  // The previous file: another conversation saved by the same model.
  ASSERT_EQ(
      testing::run_binary(suite.binary, suite.args, "9 8 7\n/save " + suite.output.string() + "\n")
          .exit_code,
      0);
  suite.previous = read_bytes(suite.output);
  // The same state saved again and again: the kills land in one save or another.
  suite.input = "1 2 3\n";
  for (int i = 0; i < 40; ++i) suite.input += "/save " + suite.output.string() + "\n";
  fs::remove(suite.output);
  const auto run_time = timed_run(suite.binary, suite.args, suite.input);
  suite.complete = read_bytes(suite.output);
  ASSERT_NE(suite.complete, suite.previous);
  run_kill_suite(suite, run_time, 3);
}

}  // namespace
}  // namespace mamba2
