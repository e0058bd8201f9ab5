// mamba2-quantize INPUT OUTPUT.gguf [--type TYPE] [--tokenizer FILE]
//                 [--embedding-type TYPE] [--keep-f32 PATTERN]... [-t THREADS]
//
// Converts a model to a GGUF file in llama.cpp's mamba2 (or mamba) layout whose large 2-D weights
// have the chosen type (llama-quantize's file types: q4_k_m, iq4_xs, q8_0, f16, ...), one tensor
// at a time, to a temporary file renamed into place at the end:
// - a GGUF file (ours or llama.cpp's) is rewritten as llama-quantize rewrites it: from the same
//   f32 file, the same bytes (requantize_gguf);
// - a checkpoint directory, or any input with --tokenizer, is converted as llama.cpp's
//   convert_hf_to_gguf.py lays a model out (write_gguf_model).
// Both take each tensor's type from one QuantizationPolicy; the rows of a tensor are quantized on
// -t threads, which write the same bytes as one. Progress goes to stderr, the summary
// to stdout; any error is one line on stderr and exit code 1.
#include <fnmatch.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common/cli.h"
#include "mamba2/dtype.h"
#include "mamba2/dtype_names.h"
#include "mamba2/error.h"
#include "mamba2/gguf.h"
#include "mamba2/model_loader.h"
#include "mamba2/model_weights.h"
#include "mamba2/quantization.h"
#include "mamba2/tokenizer.h"
#include "mamba2/tokenizer_file.h"

namespace fs = std::filesystem;

namespace mamba2 {
namespace {

constexpr const char* kProgram = "mamba2-quantize";

struct QuantizeArgs {
  fs::path input;
  fs::path output;
  std::string type = "f16";
  fs::path tokenizer;
  std::string embedding_type;         // empty: --type
  std::vector<std::string> keep_f32;  // name patterns kept f32
  int threads = 0;                    // 0: all cores
};

// A --keep-f32 pattern: a glob matching the whole GGUF tensor name ("blk.*.ssm_out.weight"), or
// an ECMAScript regex found anywhere in it ("ssm_in|ssm_out", "^output").
class NamePattern {
 public:
  explicit NamePattern(std::string pattern) : pattern_(std::move(pattern)) {
    try {
      regex_ = std::regex(pattern_, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      regex_.reset();  // not a regex ("*ssm_out*"): a glob only
    }
  }
  bool matches(std::string_view name) const {
    const std::string text(name);
    if (fnmatch(pattern_.c_str(), text.c_str(), 0) == 0) return true;
    return regex_ && std::regex_search(text, *regex_);
  }

 private:
  std::string pattern_;
  std::optional<std::regex> regex_;
};

LlamaFileType parse_file_type(const std::string& name) {
  const auto file_type = llama_file_type_from_name(name);
  if (!file_type) {
    throw Error("--type", "unknown type '" + name + "' (" + llama_file_type_names() + ")");
  }
  return *file_type;
}

DType parse_type(const char* option, const std::string& name) {
  const auto type = dtype_from_name(name);
  if (!type || !engine_computes_with(*type)) {
    throw Error(option, "unknown type '" + name + "' (" + dtype_names() + ")");
  }
  return *type;
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.2f %s", value, units[unit]);
  return text;
}

// The output must not replace the input (or, for a directory, a file inside it) while it is read.
void refuse_overwriting_input(const fs::path& input, const fs::path& output) {
  std::error_code ec;
  if (!fs::exists(output, ec)) return;
  if (fs::equivalent(input, output, ec)) {
    throw Error(output.string(), "is the input file; choose another output path");
  }
  if (fs::is_directory(input, ec)) {
    for (const fs::directory_entry& entry : fs::directory_iterator(input, ec)) {
      if (fs::equivalent(entry.path(), output, ec)) {
        throw Error(output.string(), "is a file of the input directory; choose another path");
      }
    }
  }
}

void print_summary(const fs::path& output, uint64_t bytes_before) {
  // Read back what was written: it reports the truth and checks the file parses.
  const std::vector<GgufTensorInfo> tensors = read_gguf_tensor_infos(output);
  std::map<std::string, int> types;
  uint64_t tensor_bytes = 0;
  int64_t elements = 0;
  for (const GgufTensorInfo& info : tensors) {
    ++types[std::string(dtype_name(info.dtype))];
    tensor_bytes += info.nbytes;
    elements += info.shape.numel();
  }
  std::string type_list;
  for (const auto& [name, count] : types) {
    if (!type_list.empty()) type_list += ", ";
    type_list += name + " x" + std::to_string(count);
  }
  const double bpw =
      elements > 0 ? 8.0 * static_cast<double>(tensor_bytes) / static_cast<double>(elements) : 0.0;
  std::printf("wrote %s: %zu tensors (%s), %lld weights\n", output.string().c_str(), tensors.size(),
              type_list.c_str(), static_cast<long long>(elements));
  std::printf("tensor data %s -> %s, file %s, %.2f bits per weight\n",
              human_bytes(bytes_before).c_str(), human_bytes(tensor_bytes).c_str(),
              human_bytes(fs::file_size(output)).c_str(), bpw);
}

int quantize(const QuantizeArgs& args) {
  const LlamaFileType file_type = parse_file_type(args.type);
  const std::optional<DType> embedding_type =
      args.embedding_type.empty()
          ? std::nullopt
          : std::optional(parse_type("--embedding-type", args.embedding_type));
  std::vector<NamePattern> keep_f32;
  for (const std::string& pattern : args.keep_f32) keep_f32.emplace_back(pattern);
  if (!fs::exists(args.input)) throw Error(args.input.string(), "no such file or directory");
  refuse_overwriting_input(args.input, args.output);
  apps::check_output_path(args.output.string(), "output");

  ModelWeights weights = load_model_weights(args.input);
  // A GGUF file is rewritten as llama-quantize does; a directory (or a new tokenizer) converted.
  const bool requantize = !fs::is_directory(args.input) && args.tokenizer.empty();
  if (!args.tokenizer.empty()) weights.tokenizer = load_tokenizer_file(args.tokenizer);
  if (!weights.tokenizer) {
    std::fprintf(stderr, "%s: note: no tokenizer; the file will hold no vocabulary\n", kProgram);
  }
  const uint64_t bytes_before = tensor_totals(weights).bytes;

  GgufWriteOptions options;
  options.threading = ThreadingContext(args.threads);
  QuantizationPolicy& policy = options.quantization;
  policy = QuantizationPolicy::for_llama_file_type(file_type);
  policy.tied_embeddings = weights.config.tie_embeddings;
  policy.embedding_type = embedding_type;
  if (!keep_f32.empty()) {
    policy.keep_f32 = [&keep_f32](std::string_view name) {
      for (const NamePattern& pattern : keep_f32) {
        if (pattern.matches(name)) return true;
      }
      return false;
    };
  }
  options.progress = [&](const GgufWriteProgress& p) {
    std::fprintf(stderr, "[%3zu/%3zu] %-28s %-5s %-14s %s\n", p.index + 1, p.count,
                 std::string(p.name).c_str(), std::string(dtype_name(p.dtype)).c_str(),
                 p.shape.str().c_str(), human_bytes(p.nbytes).c_str());
  };
  // The fallbacks are known before writing: say so once per tensor, as the policy decides.
  for_each_tensor(weights, [&](const TensorSlot& slot) {
    if (!slot.present) return;
    const TensorTypeChoice choice = policy.tensor_type(slot.name, slot.role, slot.shape);
    if (!choice.fallback_from) return;
    const DTypeInfo& asked = dtype_info(*choice.fallback_from);
    std::fprintf(stderr,
                 "%s: note: %s is %s: its rows of %lld are not whole %lld-weight %s blocks%s\n",
                 kProgram, slot.name.c_str(), std::string(dtype_name(choice.type)).c_str(),
                 static_cast<long long>(slot.shape[slot.shape.rank - 1]),
                 static_cast<long long>(asked.block_elems), std::string(asked.name).c_str(),
                 choice.beyond_llama_quantize
                     ? " (llama-quantize refuses this model: it has no fallback for that type)"
                     : "");
  });
  if (requantize) {
    requantize_gguf(args.input, args.output, options);
  } else {
    write_gguf_model(weights, args.output, options);
  }
  print_summary(args.output, bytes_before);
  return 0;
}

}  // namespace
}  // namespace mamba2

int main(int argc, char** argv) {
  using namespace mamba2;
  QuantizeArgs args;
  CLI::App app{
      "Convert a Mamba-2 or Mamba-1 model to a GGUF file (llama.cpp's mamba2 or mamba layout)",
      kProgram};
  app.add_option("input", args.input, "GGUF file or model directory")->required();
  app.add_option("output", args.output, "GGUF file to write")->required();
  app.add_option("--type", args.type,
                 "llama-quantize's file type, case-insensitive: " + llama_file_type_names() +
                     " (q3_k, q4_k, q5_k: the _m mixes; norms, conv, A, D and biases stay f32)")
      ->capture_default_str();
  app.add_option("--tokenizer", args.tokenizer,
                 "tokenizer to embed: tokenizer.json, a SentencePiece .model file or a GGUF file");
  app.add_option("--embedding-type", args.embedding_type,
                 "type of token_embd and output (lm_head) instead of --type");
  app.add_option("--keep-f32", args.keep_f32,
                 "keep tensors whose GGUF name matches f32: a glob of the whole name "
                 "(blk.*.ssm_out.weight) or a regex found in it (ssm_out|output); repeatable");
  app.add_option("-t,--threads", args.threads,
                 "threads quantizing each tensor's rows (default: all cores; any count writes the "
                 "same file)")
      ->check(CLI::Range(0, 1024));
  return apps::run_app(app, argc, argv, [&] { return quantize(args); });
}
