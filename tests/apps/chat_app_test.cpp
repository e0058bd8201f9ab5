// Runs the real mamba2-chat binary through pipes and a pseudo-terminal on the fixture models.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "mamba2/chat_template.h"
#include "mamba2/random_model.h"
#include "mamba2/sampler_settings.h"
#include "mamba2/tokenizer.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/apps/neox_text_model.h"
#include "tests/support/run_binary.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using Clock = std::chrono::steady_clock;

std::string join_ids(const std::vector<int32_t>& ids, const char* separator) {
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) text += (i ? separator : "") + std::to_string(ids[i]);
  return text;
}

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The reply lines of a scripted session with an id-only model: lines of ids, unlike the
// commands' feedback.
std::vector<std::string> reply_lines(const std::string& out) {
  std::vector<std::string> replies;
  for (const std::string& line : lines_of(out)) {
    if (line.find_first_not_of("0123456789 ") == std::string::npos) replies.push_back(line);
  }
  return replies;
}

// A reply run with --print-ids: the streamed text, and the ids of its last line.
struct PrintedReply {
  std::string text;
  std::vector<int32_t> ids;
};

PrintedReply printed_reply(const std::string& out) {
  const auto lines = lines_of(out);
  if (lines.size() < 2) return {out, {}};
  PrintedReply reply;
  std::istringstream id_line(lines.back());
  for (int32_t id; id_line >> id;) reply.ids.push_back(id);
  reply.text = out.substr(0, out.size() - lines.back().size() - 2);
  return reply;
}

// The text a TokenStreamDecoder makes of the ids, held-back bytes flushed at the end.
std::string streamed_text(const Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  std::string text;
  TokenStreamDecoder stream(tokenizer);
  for (int32_t id : ids) text += stream.push(id);
  return text + stream.flush();
}

testing::BinaryRun chat(const std::vector<std::string>& args, const std::string& input = "") {
  return testing::run_binary(MAMBA2_CHAT_BIN, args, input);
}

std::string fixture(const char* name) { return testing::fixture_dir(name).string(); }

TEST(ChatApp, GreedyIdsEqualTheFixturesGreedyTokens) {
  for (const char* name : {"tiny", "small_groups", "m1_tiny", "m1_small"}) {
    const auto prompts = read_json(testing::fixture_dir(name) / "prompt_ids.json");
    const auto greedy = read_json(testing::fixture_dir(name) / "greedy.json");
    for (size_t p = 0; p < prompts.size(); ++p) {
      SCOPED_TRACE(std::string(name) + " prompt " + std::to_string(p));
      const auto run = chat({fixture(name), "--ids", join_ids(prompts[p], ","), "--print-ids", "-n",
                             "32", "--temp", "0", "-t", "1"});
      ASSERT_EQ(run.exit_code, 0) << run.err;
      EXPECT_EQ(run.out, join_ids(greedy["tokens"][p].get<std::vector<int32_t>>(), " ") + "\n");
    }
  }
}

TEST(ChatApp, SeededSampledRunIsReproducible) {
  auto sampled = [](const char* seed) {
    const auto run = chat({fixture("tiny"), "--ids", "1,2,3", "--print-ids", "-n", "48", "--temp",
                           "1.5", "--top-k", "0", "--min-p", "0", "--seed", seed});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return run.out;
  };
  const std::string first = sampled("11");
  EXPECT_EQ(lines_of(first).size(), 1u);
  EXPECT_EQ(first, sampled("11"));
  EXPECT_NE(first, sampled("12"));
}

TEST(ChatApp, SaveThenLoadInANewProcessContinuesLikeAnUninterruptedRun) {
  for (const char* name : {"tiny", "m1_tiny"}) {
    SCOPED_TRACE(name);
    const std::vector<std::string> args = {
        fixture(name), "-n", "16", "--temp", "0.9", "--seed", "3", "--repeat-penalty", "1.3"};
    const auto whole = chat(args, "1,2,3\n4,5\n/set temp 1.2\n6\n7 8 9\n");
    ASSERT_EQ(whole.exit_code, 0) << whole.err;
    const auto expected = reply_lines(whole.out);
    ASSERT_EQ(expected.size(), 4u) << whole.out;

    const auto file = (testing::scratch_dir() / "talk.m2c").string();
    const auto first = chat(args, "1,2,3\n4,5\n/set temp 1.2\n/save " + file + "\n");
    ASSERT_EQ(first.exit_code, 0) << first.err;
    // Another seed on the command line: the saved random stream must win.
    std::vector<std::string> other_args = args;
    other_args[6] = "99";
    const auto second = chat(other_args, "/load " + file + "\n6\n7 8 9\n");
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(reply_lines(first.out),
              std::vector<std::string>(expected.begin(), expected.begin() + 2));
    EXPECT_EQ(reply_lines(second.out),
              std::vector<std::string>(expected.begin() + 2, expected.end()));
  }
}

// --help and /help list every sampler setting, --help with its default, both from the declaration.
TEST(ChatApp, HelpShowsEverySamplerSettingAndItsDeclaredDefault) {
  const auto help = chat({"--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const auto help_lines = lines_of(help.out);
  const auto repl_help = chat({fixture("tiny")}, "/help\n");
  ASSERT_EQ(repl_help.exit_code, 0) << repl_help.err;
  const SamplerSettings defaults;
  SamplerSettings::for_each(defaults, [&](const auto&, const auto& spec) {
    SCOPED_TRACE(spec.name);
    std::string flag = std::string("--") + spec.name;
    for (char& c : flag) c = c == '_' ? '-' : c;
    const std::string shown = spec.default_help != nullptr
                                  ? std::string(": ") + spec.default_help
                                  : " " + format_setting(spec.default_value);
    const auto line = std::find_if(help_lines.begin(), help_lines.end(), [&](const auto& l) {
      return l.find(flag + " ") != std::string::npos;
    });
    ASSERT_NE(line, help_lines.end()) << help.out;
    EXPECT_NE(line->find(std::string(spec.help) + " (default" + shown + ")"), std::string::npos)
        << *line;
    EXPECT_TRUE(std::regex_search(repl_help.out, std::regex(std::string(" ") + spec.name + "[,;]")))
        << repl_help.out;
  });
}

// /set refuses a value outside the declared range, naming the range; the listing shows the rest.
TEST(ChatApp, SetRefusesOutOfRangeValues) {
  const auto run = chat({fixture("tiny")}, "/set top_p 1.5\n");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "mamba2-chat: error: top_p: must be between 0 and 1\n");
  const auto listed = chat({fixture("tiny")}, "/set top_k 7\n");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("temp = 0.8, top_k = 7, top_p = 0.95"), std::string::npos)
      << listed.out;
}

TEST(ChatApp, ResetReturnsToTheStart) {
  const auto run = chat({fixture("tiny"), "-n", "8", "--temp", "0"}, "1,2,3\n4\n/reset\n1,2,3\n");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto replies = reply_lines(run.out);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0], replies[2]);
}

TEST(ChatApp, DamagedOrForeignStateFileIsRefused) {
  const auto dir = testing::scratch_dir();
  const auto file = (dir / "talk.m2c").string();
  ASSERT_EQ(chat({fixture("tiny"), "-n", "4"}, "1,2,3\n/save " + file + "\n").exit_code, 0);

  const auto foreign = chat({fixture("small_groups"), "-n", "4"}, "/load " + file + "\n1\n");
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_EQ(lines_of(foreign.err).size(), 1u) << foreign.err;
  EXPECT_NE(foreign.err.find("another model"), std::string::npos) << foreign.err;
  EXPECT_EQ(reply_lines(foreign.out).size(), 0u) << "went on after a refused file";

  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() / 2] ^= 0x40;
  std::ofstream(dir / "damaged.m2c", std::ios::binary) << bytes;
  std::ofstream(dir / "short.m2c", std::ios::binary) << bytes.substr(0, bytes.size() - 5);
  for (const char* name : {"damaged.m2c", "short.m2c", "missing.m2c"}) {
    SCOPED_TRACE(name);
    const auto run = chat({fixture("tiny")}, "/load " + (dir / name).string() + "\n");
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_EQ(lines_of(run.err).size(), 1u) << run.err;
    EXPECT_NE(run.err.find(name), std::string::npos) << run.err;
  }
}

TEST(ChatApp, BadModelPathAndBadFlagsAreOneLineErrors) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"/nonexistent/model.gguf", "--ids", "1"},
        {fixture("tiny"), "--temp", "hot", "--ids", "1"},
        {fixture("tiny"), "--top-p", "2", "--ids", "1"},
        {fixture("tiny"), "--template", "llama3", "--ids", "1"},
        {fixture("tiny"), "--template", "chatml", "--ids", "1"},  // needs a tokenizer
        {fixture("tiny"), "-p", "text needs a tokenizer"},
        {fixture("tiny"), "--ids", "1,x"},
        {fixture("tiny"), "--ids", "9999"},
        {fixture("tiny"), "--no-such-flag"}}) {
    const auto run = chat(args);
    EXPECT_EQ(run.exit_code, 1) << args[1];
    EXPECT_EQ(lines_of(run.err).size(), 1u) << run.err;
  }
}

// A child process with pipes on stdin and stdout, for signals mid-reply.
class PipedChild {
 public:
  explicit PipedChild(const std::vector<std::string>& args) {
    int in[2], out[2];
    EXPECT_EQ(pipe(in), 0);
    EXPECT_EQ(pipe(out), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], STDIN_FILENO);
      dup2(out[1], STDOUT_FILENO);
      close(in[1]);
      close(out[0]);
      exec(args);
    }
    close(in[0]);
    close(out[1]);
    to_child_ = in[1];
    from_child_ = out[0];
  }
  ~PipedChild() {
    if (to_child_ >= 0) close(to_child_);
    close(from_child_);
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  static void exec(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    std::string binary = MAMBA2_CHAT_BIN;
    argv.push_back(binary.data());
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }

  void write_text(const std::string& text) {
    ASSERT_EQ(write(to_child_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  void close_input() {
    close(to_child_);
    to_child_ = -1;
  }
  // Reads until `enough` says so or the timeout passes; returns everything read so far.
  const std::string& read_until(const std::function<bool(const std::string&)>& enough,
                                double timeout_seconds = 60) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
    while (!enough(output_) && Clock::now() < deadline) {
      pollfd fd{from_child_, POLLIN, 0};
      if (poll(&fd, 1, 100) <= 0) continue;
      char buffer[65536];
      const ssize_t n = read(from_child_, buffer, sizeof buffer);
      if (n <= 0) break;
      output_.append(buffer, static_cast<size_t>(n));
    }
    return output_;
  }
  int wait_exit() {
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  bool waited_ = false;
  std::string output_;
};

TEST(ChatApp, CtrlCStopsTheReplyAndKeepsTheConversation) {
  PipedChild child({fixture("tiny"), "-n", "-1", "--temp", "1", "--seed", "1", "-t", "1"});
  child.write_text("1,2,3\n");
  // An endless reply: wait until it is well under way.
  child.read_until([](const std::string& out) { return out.size() > 4000; });
  ASSERT_EQ(kill(child.pid(), SIGINT), 0);
  child.write_text("/stats\n");
  child.close_input();
  const std::string& out = child.read_until(
      [](const std::string& text) { return text.find("state size") != std::string::npos; });
  EXPECT_EQ(child.wait_exit(), 0);
  const size_t at = out.find("tokens so far: ");
  ASSERT_NE(at, std::string::npos) << out.substr(out.size() > 400 ? out.size() - 400 : 0);
  const long long tokens = std::stoll(out.substr(at + 15));
  EXPECT_GT(tokens, 1000);  // the prompt and the reply up to Ctrl-C are all still there
}

// A child on a pseudo-terminal, so stdin is a terminal and libedit edits the line.
class PtyChild {
 public:
  PtyChild(const std::vector<std::string>& args, const std::filesystem::path& home) {
    pid_ = forkpty(&master_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      setenv("HOME", home.c_str(), 1);
      setenv("TERM", "dumb", 1);
      PipedChild::exec(args);
    }
  }
  ~PtyChild() {
    close(master_);
    if (!waited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // Waits until the line editor has put the terminal in raw mode: keys typed before that would
  // be handled by the kernel's line discipline instead (and an early Ctrl-D lost).
  void wait_for_line_editor(double timeout_seconds = 30) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
    termios mode{};
    while (tcgetattr(master_, &mode) == 0 && (mode.c_lflag & ICANON) != 0 &&
           Clock::now() < deadline) {
      usleep(2000);
    }
  }
  void type_now(const std::string& keys) {
    ASSERT_EQ(write(master_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }
  void type(const std::string& keys) {
    wait_for_line_editor();
    ASSERT_EQ(write(master_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }
  const std::string& read_until(const std::function<bool(const std::string&)>& enough,
                                double timeout_seconds = 30) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
    while (!enough(output_) && Clock::now() < deadline) {
      pollfd fd{master_, POLLIN, 0};
      if (poll(&fd, 1, 100) <= 0) continue;
      char buffer[4096];
      const ssize_t n = read(master_, buffer, sizeof buffer);
      if (n <= 0) break;  // EIO once the child has gone
      output_.append(buffer, static_cast<size_t>(n));
    }
    return output_;
  }
  // The exit code, or -1 if the child has not exited within the timeout (it is then killed).
  int wait_exit(double timeout_seconds = 30) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_seconds);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) return -1;
      usleep(10000);
    }
    waited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  int master_ = -1;
  bool waited_ = false;
  std::string output_;
};

TEST(ChatApp, TerminalSessionEditsLinesKeepsHistoryAndExitsOnCtrlD) {
  const auto expected = chat({fixture("tiny"), "--ids", "1,2,3", "-n", "6", "--temp", "0"});
  ASSERT_EQ(expected.exit_code, 0) << expected.err;
  const std::string reply = lines_of(expected.out).at(0);

  const auto home = testing::scratch_dir();
  PtyChild child({fixture("tiny"), "-n", "6", "--temp", "0"}, home);
  child.read_until([](const std::string& out) { return out.find("> ") != std::string::npos; });
  // "1,2,9", then Backspace and "3": the line editor must hand over "1,2,3".
  child.type(
      "1,2,9\x7f"
      "3\r");
  child.read_until([&](const std::string& out) { return out.find(reply) != std::string::npos; });
  // Ctrl-C at the prompt asks for confirmation; Ctrl-D ends the session.
  child.read_until([&](const std::string& out) {
    const size_t at = out.find(reply);
    return at != std::string::npos && out.find("> ", at) != std::string::npos;
  });
  child.type("\x03");
  child.read_until([](const std::string& out) {
    const size_t at = out.find("Ctrl-C again");
    return at != std::string::npos && out.find("> ", at) != std::string::npos;
  });
  child.type("\x04");
  const std::string& out = child.read_until([](const std::string&) { return false; }, 5);
  EXPECT_EQ(child.wait_exit(), 0) << out;
  EXPECT_NE(out.find(reply), std::string::npos) << out;
  EXPECT_NE(out.find("Ctrl-C again"), std::string::npos) << out;

  std::ifstream history(home / ".mamba2_chat_history");
  const std::string saved{std::istreambuf_iterator<char>(history), {}};
  EXPECT_NE(saved.find("1,2,3"), std::string::npos) << saved;
}

TEST(ChatApp, TerminalSessionExitsOnASecondCtrlC) {
  PtyChild child({fixture("tiny"), "-n", "-1", "--temp", "1", "--seed", "1", "-t", "1"},
                 testing::scratch_dir());
  child.read_until([](const std::string& out) { return out.find("> ") != std::string::npos; });
  child.type("1,2,3\r");
  // An endless reply: the first Ctrl-C stops it, the second (at the empty prompt) exits.
  child.read_until([](const std::string& out) { return out.size() > 2000; });
  child.type_now("\x03");
  child.read_until([](const std::string& out) {
    const size_t at = out.find("(stopped)");
    return at != std::string::npos && out.find("> ", at) != std::string::npos;
  });
  child.type("\x03");
  const std::string& out = child.read_until([](const std::string&) { return false; }, 10);
  EXPECT_EQ(child.wait_exit(), 0) << out.substr(out.size() > 300 ? out.size() - 300 : 0);
  EXPECT_NE(out.find("(stopped)"), std::string::npos);
}

TEST(ChatApp, TextModelStreamsValidTextAndEndsWithItsIds) {
  const auto dir = testing::scratch_dir();
  const std::string model = (dir / "model.gguf").string();
  const ModelWeights weights = testing::write_neox_text_model(model, 7);
  const Tokenizer tokenizer(*weights.tokenizer);

  const auto run =
      chat({model, "-p", "Once upon a time", "-n", "24", "--seed", "5", "--print-ids"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const PrintedReply reply = printed_reply(run.out);
  ASSERT_FALSE(reply.ids.empty()) << run.out;
  for (int32_t id : reply.ids) {
    EXPECT_LT(id, tokenizer.size());
    EXPECT_TRUE(!tokenizer.is_control(id) || id == tokenizer.eos_id()) << id;
  }
  // The streamed text is the ids' text, with split characters completed or replaced.
  const std::string& text = reply.text;
  EXPECT_EQ(text, streamed_text(tokenizer, reply.ids));

  // The same run with a stop string from the middle of that text ends just before it.
  const std::string stop = text.substr(text.size() / 2, 3);
  const auto stopped = chat({model, "-p", "Once upon a time", "-n", "24", "--seed", "5", "--stop",
                             "no such text", "--stop", stop});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_EQ(stopped.out, text.substr(0, text.find(stop)) + "\n");

  // A scripted chatml conversation with a system text, /reset and /save + /load.
  const auto file = (dir / "talk.m2c").string();
  const std::vector<std::string> args = {
      model, "--template", "chatml", "--system", "You are terse.", "-n", "12", "--seed", "2"};
  const auto whole = chat(args, "Hi\nHow are you?\n");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const auto split_first = chat(args, "Hi\n/save " + file + "\n");
  const auto split_second = chat(args, "/load " + file + "\nHow are you?\n");
  ASSERT_EQ(split_second.exit_code, 0) << split_second.err;
  const std::string resumed = split_first.out.substr(0, split_first.out.find("(saved")) +
                              split_second.out.substr(split_second.out.find(")\n") + 2);
  EXPECT_EQ(resumed, whole.out);
}

// A Codestral-shaped GGUF (random weights) with Mamba-Codestral's tokenizer (the .model file,
// written into the GGUF as llama.cpp's converter writes it).
std::string codestral_shaped_gguf() {
  const std::string model = (testing::scratch_dir() / "codestral-shaped.gguf").string();
  if (std::filesystem::exists(model)) return model;
  ModelConfig config;
  config.d_model = 16;
  config.n_layer = 1;
  config.vocab_size = 32768;
  config.d_state = 16;
  config.headdim = 16;
  config.chunk_size = 16;
  config.resolve("test");
  ModelWeights weights = make_random_weights(config, 11);
  weights.tokenizer = load_sentencepiece_model(testing::data_dir() / "mistral-v3-tokenizer.model");
  write_gguf_model(weights, model);
  return model;
}

// The mistral template: replies stream as the ids' text, without the space of the first piece's
// dummy prefix, and a scripted conversation with a system text runs.
TEST(ChatApp, SentencePieceModelChatsInTheMistralTemplate) {
  const std::string model = codestral_shaped_gguf();
  const ModelWeights loaded = load_gguf_model(model);
  const Tokenizer tokenizer(*loaded.tokenizer);

  const auto run = chat({model, "--template", "mistral", "--system", "Be brief.", "-p", "Hi", "-n",
                         "16", "--seed", "3", "--print-ids"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const PrintedReply reply = printed_reply(run.out);
  ASSERT_FALSE(reply.ids.empty()) << run.out;
  for (int32_t id : reply.ids) EXPECT_FALSE(tokenizer.is_control(id)) << id;
  EXPECT_EQ(reply.text, streamed_text(tokenizer, reply.ids));

  const auto conversation =
      chat({model, "--template", "mistral", "--system", "Be brief.", "-n", "6", "--seed", "4"},
           "Hi\nAnd again\n/reset\nOnce more\n");
  EXPECT_EQ(conversation.exit_code, 0) << conversation.err;
}

// The prompt lines --print-prompt-ids writes to stderr: each turn's ids and how many of them
// were restored from a kept state.
struct PromptLine {
  std::vector<int32_t> ids;
  int64_t restored = -1;
};

std::vector<PromptLine> prompt_lines(const std::string& err) {
  std::vector<PromptLine> lines;
  const std::regex pattern(R"(^prompt: (\d+) ids, (\d+) restored, (\d+) prefilled:(.*)$)");
  for (const std::string& line : lines_of(err)) {
    std::smatch match;
    if (!std::regex_match(line, match, pattern)) continue;
    PromptLine prompt;
    prompt.restored = std::stoll(match[2]);
    std::istringstream ids(match[4].str());
    for (int32_t id; ids >> id;) prompt.ids.push_back(id);
    EXPECT_EQ(std::to_string(prompt.ids.size()), match[1].str());
    EXPECT_EQ(std::stoll(match[2]) + std::stoll(match[3]), std::stoll(match[1]));
    lines.push_back(std::move(prompt));
  }
  return lines;
}

// Three turns piped in, with a system text: each turn's prompt is the whole conversation in
// Mistral's v3 format (the system text in the newest [INST] only), later turns resume a kept
// state, and the replies equal those of a chat that prefills every turn from the start.
TEST(ChatApp, MistralChatSendsTheWholeConversationAndResumesItsState) {
  const std::string model = codestral_shaped_gguf();
  const Tokenizer tokenizer(*load_gguf_model(model).tokenizer);
  const ChatTemplate mistral(ChatTemplateKind::kMistral, tokenizer);
  const std::vector<std::string> args = {
      model, "--template", "mistral", "--system", "Be brief.",
      "-n",  "5",          "--seed",  "9",        "--print-prompt-ids"};
  const std::string input = "Hi\nName a prime.\nAnd another?\n/stats\n";
  const auto reusing = chat(args, input);
  ASSERT_EQ(reusing.exit_code, 0) << reusing.err;
  std::vector<std::string> fresh_args = args;
  fresh_args.push_back("--no-state-reuse");
  const auto fresh = chat(fresh_args, input);
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;

  const auto turns = prompt_lines(reusing.err);
  const auto fresh_turns = prompt_lines(fresh.err);
  ASSERT_EQ(turns.size(), 3u) << reusing.err;
  ASSERT_EQ(fresh_turns.size(), 3u) << fresh.err;
  // The replies and the /stats lines after them differ only in the timings.
  const std::string replies = reusing.out.substr(0, reusing.out.find("prompt: "));
  EXPECT_EQ(replies, fresh.out.substr(0, fresh.out.find("prompt: ")));
  EXPECT_NE(reusing.out.find("first token after"), std::string::npos) << reusing.out;

  const std::vector<std::string> users = {"Hi", "Name a prime.", "And another?"};
  for (size_t t = 0; t < 3; ++t) {
    SCOPED_TRACE(t);
    EXPECT_EQ(turns[t].ids, fresh_turns[t].ids);
    EXPECT_EQ(fresh_turns[t].restored, 0);
    // The turn ends with the newest user message, the system text in front of it.
    const std::vector<int32_t> last =
        mistral.user_turn(users[t], true, "Be brief.").encode(tokenizer);
    ASSERT_GE(turns[t].ids.size(), last.size());
    EXPECT_TRUE(std::equal(last.begin(), last.end(), turns[t].ids.end() - last.size()));
    if (t > 0) {
      // The earlier user messages without it, and more than the BOS restored.
      const std::vector<int32_t> first = ChatPrompt()
                                             .control("<s>")
                                             .append(mistral.user_turn(users[0], false, ""))
                                             .encode(tokenizer);
      EXPECT_TRUE(std::equal(first.begin(), first.end(), turns[t].ids.begin()));
      EXPECT_GT(turns[t].restored, 1);
    }
  }
  EXPECT_EQ(turns[0].ids,
            mistral.conversation(std::vector<ChatMessage>{{"system", "Be brief."}, {"user", "Hi"}})
                .encode(tokenizer));
}

// --conversation: the messages of a chat-tests entry, the last user message replied to first with
// exactly mistral-common's ids.
TEST(ChatApp, ConversationFileStartsWithMistralCommonsIds) {
  const std::string model = codestral_shaped_gguf();
  const auto cases = read_json(testing::data_dir() / "chat-tests" / "mistral-v3.json");
  const auto path = testing::scratch_dir() / "conversation.json";
  for (const size_t i : {size_t{1}, cases.size() - 1}) {
    std::ofstream(path) << cases[i].dump();
    const auto run = chat({model, "--template", "mistral", "--conversation", path.string(), "-n",
                           "2", "--print-prompt-ids"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto turns = prompt_lines(run.err);
    ASSERT_EQ(turns.size(), 1u) << run.err;
    EXPECT_EQ(turns[0].ids, cases[i]["ids"].get<std::vector<int32_t>>());
  }
  std::ofstream(path) << "[{\"role\": \"user\"}]";
  const auto bad = chat({model, "--template", "mistral", "--conversation", path.string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(lines_of(bad.err).size(), 1u) << bad.err;
}

}  // namespace
}  // namespace mamba2
