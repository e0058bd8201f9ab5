// Every row of docs/errors.md, run through the real binaries: exit code 1, nothing on stdout, and
// on stderr exactly one line "<tool>: error: ..." holding the documented text. (Out of disk is
// the one failure that comes mid-work: its error line is the last, after the progress lines the
// tool had already printed.)
#include <gtest/gtest.h>
#include <zip.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "mamba2/random_model.h"
#include "runtime/gguf/gguf_model.h"
#include "runtime/gguf/gguf_writer.h"
#include "tests/support/file_bytes.h"
#include "tests/support/run_binary.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using testing::read_bytes;
using testing::write_bytes;

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Little-endian u64 at `offset` of a byte string.
void put_u64(std::string& bytes, size_t offset, uint64_t value) {
  for (int i = 0; i < 8; ++i) bytes[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

// A torch.save zip whose pickle calls os.system: the classic hostile checkpoint.
void write_hostile_torch_zip(const fs::path& path) {
  // PROTO 2, GLOBAL os.system, BINUNICODE "echo owned", TUPLE1, REDUCE, STOP.
  std::string pickle =
      "\x80\x02"
      "cos\nsystem\n"
      "X";
  const std::string command = "echo owned";
  for (int i = 0; i < 4; ++i) pickle += static_cast<char>((command.size() >> (8 * i)) & 0xff);
  pickle += command +
            "\x85"
            "R.";
  int error = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(zip, nullptr);
  zip_source_t* source = zip_source_buffer(zip, pickle.data(), pickle.size(), 0);
  ASSERT_GE(zip_file_add(zip, "archive/data.pkl", source, 0), 0);
  ASSERT_EQ(zip_close(zip), 0);
}

// The inputs every row draws on, each broken in one way.
struct Inputs {
  fs::path dir;
  std::string model;         // a good id-only model directory (the tiny fixture)
  std::string gguf;          // a good GGUF of a random model
  std::string text;          // a few KB of training text
  std::string config;        // a good from-scratch training config
  std::string conversation;  // a good saved conversation of `model`
  std::string checkpoint;    // a good training checkpoint of `config`

  fs::path path(const std::string& name) const { return dir / name; }
};

Inputs make_inputs() {
  Inputs in;
  in.dir = testing::scratch_dir();
  in.model = testing::fixture_dir("tiny").string();
  ModelConfig config;
  config.d_model = 32;
  config.n_layer = 2;
  config.vocab_size = 256;
  config.d_state = 16;
  config.headdim = 16;
  config.chunk_size = 16;
  config.resolve("test");
  in.gguf = in.path("good.gguf").string();
  write_gguf_model(make_random_weights(config, 3), in.gguf);
  const std::string gguf = read_bytes(in.gguf);

  write_bytes(in.path("truncated.gguf"), gguf.substr(0, gguf.size() / 2));
  std::string bad_count = gguf;
  put_u64(bad_count, 8, uint64_t{1} << 40);  // the tensor count
  write_bytes(in.path("bad-count.gguf"), bad_count);
  std::string bad_version = gguf;
  bad_version[4] = 9;
  write_bytes(in.path("version9.gguf"), bad_version);
  write_bytes(in.path("notes.txt"), "not a model\n");

  const std::string fixture_config = read_bytes(fs::path(in.model) / "config.json");
  fs::create_directory(in.path("bad-safetensors"));
  write_bytes(in.path("bad-safetensors/config.json"), fixture_config);
  write_bytes(in.path("bad-safetensors/model.safetensors"),
              std::string("\xff\xff\xff\xff\xff\xff\x00\x00{", 9));
  fs::create_directory(in.path("hostile-pickle"));
  write_bytes(in.path("hostile-pickle/config.json"), fixture_config);
  write_hostile_torch_zip(in.path("hostile-pickle/pytorch_model.bin"));
  fs::create_directory(in.path("bad-config"));
  fs::copy_file(fs::path(in.model) / "model.safetensors", in.path("bad-config/model.safetensors"));
  std::string negative = fixture_config;
  const size_t d_model = negative.find("\"d_model\"");
  EXPECT_NE(d_model, std::string::npos);
  negative.replace(d_model, negative.find_first_of(",}", d_model) - d_model, "\"d_model\": -4");
  write_bytes(in.path("bad-config/config.json"), negative);
  fs::create_directory(in.path("not-json-config"));
  fs::copy_file(fs::path(in.model) / "model.safetensors",
                in.path("not-json-config/model.safetensors"));
  write_bytes(in.path("not-json-config/config.json"), "{\"d_model\": ");

  write_bytes(in.path("not-json-tokenizer.json"), "{\"model\": ");
  write_bytes(in.path("wordpiece-tokenizer.json"),
              R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})");
  const std::string sentencepiece = read_bytes(testing::data_dir() / "mistral-v3-tokenizer.model");
  write_bytes(in.path("truncated.model"), sentencepiece.substr(0, sentencepiece.size() / 2));
  GgufWriter no_scores;  // a SentencePiece vocabulary without its scores
  no_scores.add_string("tokenizer.ggml.model", "llama");
  const std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  no_scores.add_string_array("tokenizer.ggml.tokens", tokens);
  no_scores.write(in.path("no-scores.gguf"));

  in.text = in.path("train.txt").string();
  const std::string corpus =
      read_bytes(testing::data_dir() / "corpus/tinystories/tinystories-hf-train-first1000.txt");
  write_bytes(in.text, corpus.substr(0, 4000));
  in.config = in.path("train-config.json").string();
  write_bytes(in.config, R"({"d_model": 32, "n_layer": 2, "vocab_size": 256,
    "ssm_cfg": {"layer": "Mamba2", "d_state": 16, "headdim": 16, "chunk_size": 16}})");
  write_bytes(in.path("vocab-1000.json"), R"({"d_model": 32, "n_layer": 2, "vocab_size": 1000,
    "ssm_cfg": {"layer": "Mamba2", "d_state": 16, "headdim": 16, "chunk_size": 16}})");

  in.conversation = in.path("talk.m2c").string();
  const auto saved = testing::run_binary(MAMBA2_CHAT_BIN, {in.model, "-n", "2", "--temp", "0"},
                                         "1,2,3\n/save " + in.conversation + "\n");
  EXPECT_EQ(saved.exit_code, 0) << saved.err;
  const std::string talk = read_bytes(in.conversation);
  std::string damaged = talk;
  damaged[damaged.size() / 2] ^= 0x40;
  write_bytes(in.path("damaged.m2c"), damaged);
  write_bytes(in.path("truncated.m2c"), talk.substr(0, talk.size() - 5));
  std::string version = talk;
  version[8] = 99;  // the u32 version after the 8-byte magic
  write_bytes(in.path("version99.m2c"), version);

  in.checkpoint = in.path("model.gguf.ckpt").string();
  const auto trained =
      testing::run_binary(MAMBA2_TRAIN_BIN, {"--data", in.text, "--config", in.config, "--out",
                                             in.path("model.gguf").string(), "--steps", "1",
                                             "--seq-len", "16", "--batch", "2", "-t", "1"});
  EXPECT_EQ(trained.exit_code, 0) << trained.err;
  const std::string checkpoint = read_bytes(in.checkpoint);
  write_bytes(in.path("truncated.ckpt"), checkpoint.substr(0, 1000));
  std::string damaged_checkpoint = checkpoint;
  damaged_checkpoint[damaged_checkpoint.size() / 2] ^= 0x40;
  write_bytes(in.path("damaged.ckpt"), damaged_checkpoint);
  return in;
}

struct ErrorRow {
  std::string row;  // the row of docs/errors.md
  std::string program;
  std::vector<std::string> args;
  std::string message;  // the documented text the error line holds
  std::string input = {};
  int file_size_limit_kb = 0;  // > 0: run under `ulimit -f`, writes fail as on a full disk
};

std::string binary_of(const std::string& program) {
  if (program == "mamba2-chat") return MAMBA2_CHAT_BIN;
  if (program == "mamba2-eval") return MAMBA2_EVAL_BIN;
  if (program == "mamba2-quantize") return MAMBA2_QUANTIZE_BIN;
  if (program == "mamba2-train") return MAMBA2_TRAIN_BIN;
  return MAMBA2_TOKENIZE_BIN;
}

std::vector<ErrorRow> error_rows(const Inputs& in) {
  const std::string out = in.path("out.gguf").string();
  const std::string missing = in.path("missing/model.gguf").string();
  const std::string no_dir = in.path("no-such-dir/out.gguf").string();
  auto train = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"--data",  in.text, "--config",  in.config, "--out",   out,
                                     "--steps", "2",     "--seq-len", "16",      "--batch", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  auto load = [&](const std::string& file) { return "/load " + in.path(file).string() + "\n"; };
  return {
      // Flags
      {"unknown flag",
       "mamba2-chat",
       {in.model, "--no-such-flag"},
       "The following argument was not expected: --no-such-flag (see --help)"},
      {"unknown flag",
       "mamba2-eval",
       {in.model, "--ids", "1", "--no-such-flag"},
       "The following argument was not expected: --no-such-flag (see --help)"},
      {"unknown flag",
       "mamba2-quantize",
       {in.model, out, "--no-such-flag"},
       "The following argument was not expected: --no-such-flag (see --help)"},
      {"unknown flag", "mamba2-train", train({"--no-such-flag"}),
       "The following argument was not expected: --no-such-flag (see --help)"},
      {"unknown flag",
       "mamba2-tokenize",
       {"--tokenizer", in.model, "--no-such-flag"},
       "The following argument was not expected: --no-such-flag (see --help)"},
      {"missing argument", "mamba2-quantize", {in.model}, "output is required"},
      {"missing argument",
       "mamba2-train",
       {"--data", in.text, "--config", in.config},
       "--out is required"},
      {"missing argument", "mamba2-eval", {in.model}, "give --ids or --perplexity (see --help)"},
      {"missing argument",
       "mamba2-train",
       {"--data", in.text, "--out", out},
       "give --config or --init"},
      {"bad flag value",
       "mamba2-chat",
       {in.model, "--temp", "hot", "--ids", "1"},
       "temp: expected a number, found 'hot'"},
      {"bad flag value",
       "mamba2-quantize",
       {in.model, out, "--type", "q4"},
       "--type: unknown type 'q4' (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k_s, "
       "q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k, iq4_nl, iq4_xs)"},
      {"bad flag value",
       "mamba2-eval",
       {in.model, "--ids", "1", "--scan", "sideways"},
       "--scan: unknown scan 'sideways' (expected auto, chunked, associative or recurrent)"},
      {"bad flag value", "mamba2-train", train({"--lr", "fast"}),
       "Could not convert: --lr = fast (see --help)"},
      // Files
      {"missing file",
       "mamba2-eval",
       {missing, "--ids", "1"},
       missing + ": no such file or directory"},
      {"missing file", "mamba2-chat", {missing}, missing + ": no such file or directory"},
      {"missing file", "mamba2-quantize", {missing, out}, missing + ": no such file or directory"},
      {"missing file",
       "mamba2-train",
       {"--data", missing, "--config", in.config, "--out", out},
       missing + ": no such file or directory"},
      {"not a model",
       "mamba2-eval",
       {in.path("notes.txt").string(), "--ids", "1"},
       "notes.txt: not a GGUF file or a model directory"},
      {"truncated GGUF",
       "mamba2-chat",
       {in.path("truncated.gguf").string()},
       "truncated.gguf: tensor '"},
      {"damaged GGUF",
       "mamba2-eval",
       {in.path("bad-count.gguf").string(), "--ids", "1"},
       "bad-count.gguf: tensor table: count 1099511627776 at byte"},
      {"GGUF version",
       "mamba2-quantize",
       {in.path("version9.gguf").string(), out},
       "version9.gguf: GGUF version 9 is not supported (only 2 and 3)"},
      {"bad safetensors header",
       "mamba2-eval",
       {in.path("bad-safetensors").string(), "--ids", "1"},
       "model.safetensors: header length 281474976710655 is larger than the file (9 bytes)"},
      {"disallowed pickle global",
       "mamba2-quantize",
       {in.path("hostile-pickle").string(), out},
       "pytorch_model.bin: pickle: global 'os.system' is not allowed"},
      {"bad config field",
       "mamba2-eval",
       {in.path("bad-config").string(), "--ids", "1"},
       "config.json: d_model is -4, expected 1..65536"},
      {"bad config field",
       "mamba2-train",
       {"--data", in.text, "--config", in.path("vocab-1000.json").string(), "--out", out},
       "vocab-1000.json: a model trained from scratch is byte-level: vocab_size must be 256"},
      {"config not JSON",
       "mamba2-eval",
       {in.path("not-json-config").string(), "--ids", "1"},
       "config.json: not valid JSON: "},
      {"bad tokenizer",
       "mamba2-tokenize",
       {"--tokenizer", in.path("not-json-tokenizer.json").string()},
       "not-json-tokenizer.json: not valid JSON: "},
      {"bad tokenizer",
       "mamba2-quantize",
       {in.model, out, "--tokenizer", in.path("wordpiece-tokenizer.json").string()},
       "wordpiece-tokenizer.json: model type is \"WordPiece\"; only BPE is supported"},
      {"bad tokenizer",
       "mamba2-tokenize",
       {"--tokenizer", in.path("truncated.model").string()},
       "truncated.model: is truncated: field 1 at byte "},
      {"bad tokenizer",
       "mamba2-quantize",
       {in.model, out, "--tokenizer", in.path("no-scores.gguf").string()},
       "no-scores.gguf: tokenizer.ggml.scores is missing (a SentencePiece vocabulary needs one "
       "score per token)"},
      // State files
      {"state file: foreign model",
       "mamba2-chat",
       {testing::fixture_dir("small_groups").string()},
       "talk.m2c: saved with another model; load it with the model it was saved from",
       load("talk.m2c")},
      {"state file: damaged",
       "mamba2-chat",
       {in.model},
       "damaged.m2c: damaged: checksum mismatch",
       load("damaged.m2c")},
      {"state file: truncated",
       "mamba2-chat",
       {in.model},
       "truncated.m2c: truncated or damaged: the header announces",
       load("truncated.m2c")},
      {"state file: version",
       "mamba2-chat",
       {in.model},
       "version99.m2c: conversation file version 99, this program reads version 2",
       load("version99.m2c")},
      {"state file: missing",
       "mamba2-chat",
       {in.model},
       "missing.m2c: cannot read: No such file or directory",
       load("missing.m2c")},
      {"state file: damaged", "mamba2-train", train({"--resume", in.path("damaged.ckpt").string()}),
       "damaged.ckpt: checkpoint checksum mismatch (the file is damaged)"},
      {"state file: truncated", "mamba2-train",
       train({"--resume", in.path("truncated.ckpt").string()}),
       "truncated.ckpt: checkpoint is 1000 bytes; one for this model is"},
      // Prompts
      {"bad prompt ids",
       "mamba2-eval",
       {in.model, "--ids", "1,x"},
       "--ids: expected token ids like 1,2,3, found '1,x'"},
      {"bad prompt ids",
       "mamba2-eval",
       {in.model, "--ids", "99999"},
       "token id 99999: outside the vocabulary (0..255)"},
      {"bad prompt ids",
       "mamba2-chat",
       {in.model, "--ids", "99999"},
       "token id 99999: outside the vocabulary (0..255)"},
      {"bad prompt ids",
       "mamba2-chat",
       {in.model},
       "token id 99999: outside the vocabulary (0..255)",
       "1 99999\n"},
      {"text for an id-only model",
       "mamba2-chat",
       {in.model, "-p", "hello"},
       "the model has no tokenizer: give token ids (--ids 1,2,3, or lines like 1,2,3)"},
      // Outputs
      {"output directory",
       "mamba2-quantize",
       {in.model, no_dir},
       no_dir + ": the directory '" + in.path("no-such-dir").string() + "' does not exist"},
      {"output directory",
       "mamba2-train",
       {"--data", in.text, "--config", in.config, "--out", no_dir},
       no_dir + ": the directory '" + in.path("no-such-dir").string() + "' does not exist"},
      {"output directory",
       "mamba2-eval",
       {in.model, "--ids", "1", "--logits-out", in.path("no-such-dir/logits.npy").string()},
       "logits.npy: the directory '" + in.path("no-such-dir").string() + "' does not exist"},
      {"output is a directory",
       "mamba2-quantize",
       {in.model, in.dir.string()},
       in.dir.string() + ": is a directory; give a file name"},
      {"output overwrites input",
       "mamba2-quantize",
       {in.gguf, in.gguf},
       "good.gguf: is the input file; choose another output path"},
      {"out of disk",
       "mamba2-quantize",
       {in.gguf, out, "--type", "f32"},
       "out.gguf: write failed: File too large",
       "",
       16},
      {"out of disk",
       "mamba2-chat",
       {in.model},
       "big.m2c: write failed: File too large",
       "/save " + in.path("big.m2c").string() + "\n",
       8},
  };
}

TEST(ErrorMessages, EveryDocumentedRowIsOneLineOnStderrExitOneNothingOnStdout) {
  const Inputs in = make_inputs();
  const std::vector<ErrorRow> rows = error_rows(in);
  for (const ErrorRow& row : rows) {
    std::string binary = binary_of(row.program);
    std::vector<std::string> args = row.args;
    if (row.file_size_limit_kb > 0) {
      // A full disk, as far as the tool can tell: writes past the limit fail with EFBIG (the
      // signal it would otherwise raise is ignored).
      args.insert(args.begin(),
                  {"-c",
                   "trap '' XFSZ; ulimit -f " + std::to_string(row.file_size_limit_kb) +
                       "; exec \"$0\" \"$@\"",
                   binary});
      binary = "/bin/sh";
    }
    SCOPED_TRACE(row.row + " (" + row.program + " " + (row.args.empty() ? "" : row.args[0]) + ")");
    const testing::BinaryRun run = testing::run_binary(binary, args, row.input);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_EQ(run.out, "");
    const std::vector<std::string> lines = lines_of(run.err);
    // Out of disk comes mid-work: progress and notes may come first, the error is last.
    if (row.file_size_limit_kb == 0) {
      EXPECT_EQ(lines.size(), 1u) << run.err;
    }
    ASSERT_FALSE(lines.empty());
    EXPECT_TRUE(run.err.ends_with("\n"));
    EXPECT_TRUE(lines.back().starts_with(row.program + ": error: ")) << lines.back();
    EXPECT_NE(lines.back().find(row.message), std::string::npos)
        << "expected: " << row.message << "\n  actual: " << lines.back();
  }
  std::printf("%zu error rows checked\n", rows.size());
}

}  // namespace
}  // namespace mamba2
