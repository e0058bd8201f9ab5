// Writes the fuzzers' seed corpora, one folder per target, made from the reference fixtures:
//   make_fuzz_seeds FIXTURES_DIR NEOX_TOKENIZER_JSON OUT_DIR
// The files are small variants that keep the fuzzers fast: a tokenizer.json cut down to the first
// 600 NeoX tokens, a GGUF with that tokenizer, a safetensors file holding the fixture's small
// tensors, a torch zip holding the fixture's pickle, saved conversations, tokenizer inputs, blocks
// of every ggml block type, and Mistral's SentencePiece model and vocabulary GGUF cut down to their
// first 1300 pieces.
// scripts/fuzz.sh adds the fixture files themselves.
#include <zip.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mamba2/conversation_state.h"
#include "mamba2/dtype.h"
#include "mamba2/error.h"
#include "mamba2/forecaster.h"
#include "mamba2/random_model.h"
#include "mamba2/tokenizer.h"
#include "mamba2/tokenizer_file.h"
#include "quant/block_quants.h"
#include "runtime/formats/config_json.h"
#include "runtime/generation/conversation_frame.h"
#include "runtime/gguf/gguf_model.h"
#include "runtime/gguf/gguf_tokenizer.h"
#include "tests/fuzz/fuzz_block_types.h"
#include "tests/fuzz/fuzz_state_model.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mamba2::fuzz {
namespace {

constexpr int kSmallVocab = 600;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "cannot open");
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw Error(path.string(), "cannot write");
}

// The NeoX tokenizer.json with the ids below kSmallVocab and the merges among them.
json small_tokenizer_json(const fs::path& neox) {
  json t = json::parse(read_file(neox));
  json vocab = json::object();
  for (const auto& [text, id] : t["model"]["vocab"].items()) {
    if (id.get<int>() < kSmallVocab) vocab[text] = id;
  }
  json merges = json::array();
  for (const auto& merge : t["model"]["merges"]) {
    const std::string m = merge.get<std::string>();
    const size_t space = m.find(' ');
    const std::string left = m.substr(0, space), right = m.substr(space + 1);
    if (vocab.contains(left) && vocab.contains(right) && vocab.contains(left + right)) {
      merges.push_back(m);
    }
  }
  json added = json::array();
  for (const auto& token : t["added_tokens"]) {
    if (token["id"].get<int>() < kSmallVocab) added.push_back(token);
  }
  t["model"]["vocab"] = vocab;
  t["model"]["merges"] = merges;
  t["added_tokens"] = added;
  return t;
}

// A model small enough that the tensor data is a small part of the file.
void write_small_gguf(const fs::path& fixtures, const fs::path& tokenizer_json,
                      const fs::path& out) {
  json config = json::parse(read_file(fixtures / "tiny" / "config.json"));
  config["d_model"] = 16;
  config["n_layer"] = 1;
  config["vocab_size"] = kSmallVocab;
  config["ssm_cfg"]["d_state"] = 4;
  config["ssm_cfg"]["headdim"] = 8;
  ModelWeights weights = make_random_weights(parse_config_json(config.dump(), "config.json"), 1);
  weights.tokenizer = load_tokenizer_json(tokenizer_json);
  write_gguf_model(weights, out, {.quantization = {.type = DType::kF16}});
}

// The fixture's tensors of at most 512 bytes, packed as a safetensors file of their own.
void write_small_safetensors(const fs::path& fixture, const fs::path& out) {
  const std::string file = read_file(fixture);
  uint64_t header_size = 0;
  std::memcpy(&header_size, file.data(), 8);
  const json header = json::parse(file.substr(8, header_size));
  json small = json::object();
  std::string data;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      small[name] = info;
      continue;
    }
    const auto begin = info["data_offsets"][0].get<uint64_t>();
    const auto end = info["data_offsets"][1].get<uint64_t>();
    if (end - begin > 512) continue;
    json entry = info;
    entry["data_offsets"] = {data.size(), data.size() + (end - begin)};
    data += file.substr(8 + header_size + begin, end - begin);
    small[name] = entry;
  }
  std::string text = small.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');
  const uint64_t size = text.size();
  write_file(out, std::string(reinterpret_cast<const char*>(&size), 8) + text + data);
}

// A torch.save zip with the fixture's data.pkl and version but no storages: the whole pickle is
// parsed before the first storage is looked up.
void write_pickle_only_zip(const fs::path& fixture, const fs::path& out) {
  int error = 0;
  zip_t* in = zip_open(fixture.c_str(), ZIP_RDONLY, &error);
  if (!in) throw Error(fixture.string(), "cannot open as zip");
  fs::remove(out);
  zip_t* zip = zip_open(out.c_str(), ZIP_CREATE | ZIP_EXCL, &error);
  if (!zip) throw Error(out.string(), "cannot create");
  std::vector<std::string> kept;
  for (zip_int64_t i = 0; i < zip_get_num_entries(in, 0); ++i) {
    const std::string name = zip_get_name(in, static_cast<zip_uint64_t>(i), 0);
    if (name.ends_with("/data.pkl") || name.ends_with("/version")) {
      zip_stat_t st;
      zip_stat_index(in, static_cast<zip_uint64_t>(i), 0, &st);
      std::string& bytes = kept.emplace_back(st.size, '\0');
      zip_file_t* entry = zip_fopen_index(in, static_cast<zip_uint64_t>(i), 0);
      zip_fread(entry, bytes.data(), st.size);
      zip_fclose(entry);
      zip_source_t* source = zip_source_buffer(zip, bytes.data(), bytes.size(), 0);
      const zip_int64_t index = zip_file_add(zip, name.c_str(), source, ZIP_FL_ENC_UTF_8);
      zip_set_file_compression(zip, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
    }
  }
  if (zip_close(zip) != 0) throw Error(out.string(), "cannot write");
  zip_discard(in);
}

// Saved conversations for the fuzzer's model: the payload only (the harness frames it), and one
// whole file.
void write_conversations(const fs::path& dir) {
  const ModelConfig config = state_model_config();
  ConversationState state;
  state.session.conv.assign(static_cast<size_t>(conv_state_size(config)), 0.5f);
  state.session.ssm.assign(static_cast<size_t>(ssm_state_size(config)), -0.25f);
  state.session.position = 7;
  state.tokens = {1, 2, 3, 4, 5, 6, 7};
  state.recent = {5, 6, 7};
  state.text = "Once upon a time";
  state.template_name = "chatml";
  state.turns = 1;
  const fs::path whole = dir / "whole_file";
  save_conversation(whole, state, kStateFingerprint);
  const std::string file = read_file(whole);
  constexpr size_t kHeader = kConversationHeaderBytes, kChecksum = kConversationChecksumBytes;
  write_file(dir / "payload", file.substr(kHeader, file.size() - kHeader - kChecksum));
  state.base = state.session;
  state.pending = {9};
  state.base_tokens = {1, 2};
  state.base_text = "You ";
  state.messages = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello"}};
  state.snapshots = {{{1, 2, 3}, state.session}};
  save_conversation(whole, state, kStateFingerprint);
  const std::string with_base = read_file(whole);
  write_file(dir / "payload_with_base",
             with_base.substr(kHeader, with_base.size() - kHeader - kChecksum));
}

// mamba2-server's prefix-state entries: the count byte the harness reads, then the payload of
// an entry holding ids 0..6 and a state after them.
void write_state_entries(const fs::path& dir) {
  const ModelConfig config = state_model_config();
  ConversationState entry;
  entry.session.conv.assign(static_cast<size_t>(conv_state_size(config)), 0.5f);
  entry.session.ssm.assign(static_cast<size_t>(ssm_state_size(config)), -0.25f);
  entry.session.position = 7;
  entry.tokens = {0, 1, 2, 3, 4, 5, 6};
  const std::string file = encode_conversation(entry, kStateFingerprint);
  constexpr size_t kHeader = kConversationHeaderBytes, kChecksum = kConversationChecksumBytes;
  write_file(dir / "payload", "\x07" + file.substr(kHeader, file.size() - kHeader - kChecksum));
  write_file(dir / "whole_entry", "\x07" + file);
}

// Tokenizer inputs: each test text (mode byte 0) and its ids as u16 (mode byte 1).
void write_tokenize_seeds(const fs::path& tokenizer_tests, const Tokenizer& tokenizer,
                          const fs::path& dir) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(tokenizer_tests)) {
    if (entry.path().extension() != ".inp") continue;
    const std::string all = read_file(entry.path());
    const std::string separator = "\n__ggml_vocab_test__\n";
    for (size_t begin = 0; begin < all.size();) {
      size_t end = all.find(separator, begin);
      if (end == std::string::npos) end = all.size();
      const std::string text = all.substr(begin, end - begin);
      begin = end + separator.size();
      if (text.empty()) continue;
      write_file(dir / ("text_" + std::to_string(n)), std::string(1, '\0') + text);
      std::string ids(1, '\1');
      for (int32_t id : tokenizer.encode(text)) {
        const auto id16 = static_cast<uint16_t>(id);
        ids.append(reinterpret_cast<const char*>(&id16), 2);
      }
      write_file(dir / ("ids_" + std::to_string(n)), ids);
      ++n;
    }
  }
}

// Block-quant inputs: for each type, its index byte and two super-blocks of a quantized sine.
void write_block_quants_seeds(const fs::path& dir) {
  std::vector<float> x(512);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.1f * static_cast<float>(i));
  for (size_t t = 0; t < std::size(kFuzzBlockTypes); ++t) {
    const DType type = kFuzzBlockTypes[t];
    std::string bytes(1 + *dtype_bytes(type, 512), static_cast<char>(t));
    quantize_row(type, x.data(), reinterpret_cast<std::byte*>(bytes.data() + 1), 512);
    write_file(dir / std::string(dtype_name(type)), bytes);
  }
}

// Reads the varint at bytes[pos], moving pos past it.
uint64_t varint(std::string_view bytes, size_t& pos) {
  uint64_t value = 0;
  for (int shift = 0; pos < bytes.size() && shift < 64; shift += 7) {
    const auto byte = static_cast<unsigned char>(bytes[pos++]);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  throw Error("sentencepiece model", "bad varint");
}

// A SentencePiece model with only its first `pieces` pieces (Mistral's: every control, byte and
// whitespace piece and the commonest words), everything else kept: the library still loads it,
// and it is a sixteenth of the size.
std::string first_pieces(std::string_view model, int pieces) {
  std::string out;
  int seen = 0;
  for (size_t pos = 0; pos < model.size();) {
    const size_t start = pos;
    const uint64_t tag = varint(model, pos);
    switch (tag & 7) {
      case 0:
        varint(model, pos);
        break;
      case 1:
        pos += 8;
        break;
      case 2:
        pos += varint(model, pos);
        break;
      case 5:
        pos += 4;
        break;
      default:
        throw Error("sentencepiece model", "unexpected wire type");
    }
    if ((tag >> 3) == 1 && ++seen > pieces) continue;
    out.append(model.substr(start, pos - start));
  }
  return out;
}

// Seeds for the SentencePiece targets, from Mistral's .model file and vocabulary GGUF.
void write_sentencepiece_seeds(const fs::path& data, const fs::path& out) {
  constexpr int kPieces = 1300;
  write_file(out / "sentencepiece_model" / "mistral_1300.model",
             first_pieces(read_file(data / "mistral-v3-tokenizer.model"), kPieces));

  TokenizerData vocab = load_tokenizer_file(data / "mistral-v3-vocab.gguf");
  vocab.tokens.resize(kPieces);
  vocab.scores.resize(kPieces);
  vocab.token_types.resize(kPieces);
  GgufWriter gguf;
  gguf.add_string("general.architecture", "mamba2");
  write_gguf_tokenizer(gguf, vocab, kPieces, "mistral_1300.gguf");
  gguf.write(out / "spm_vocab_gguf" / "mistral_1300.gguf");

  // spm_tokenize: each test text for both paths (mode 0, 1; the GGUF with parse_special, 5),
  // and its ids (mode 2, 3).
  const Tokenizer tokenizer(load_tokenizer_file(data / "mistral-v3-tokenizer.model"));
  const std::string all = read_file(data / "tokenizer-tests" / "mistral-v3.inp");
  const std::string separator = "\n__ggml_vocab_test__\n";
  int n = 0;
  for (size_t begin = 0; begin < all.size(); ++n) {
    size_t end = all.find(separator, begin);
    if (end == std::string::npos) end = all.size();
    const std::string text = all.substr(begin, end - begin);
    begin = end + separator.size();
    for (const char mode : {'\0', '\1', '\5'}) {
      write_file(out / "spm_tokenize" / ("text_" + std::to_string(n) + "_" + std::to_string(mode)),
                 mode + text);
    }
    std::string ids(1, '\2');
    for (int32_t id : tokenizer.encode(text)) {
      const auto id16 = static_cast<uint16_t>(id);
      ids.append(reinterpret_cast<const char*>(&id16), 2);
    }
    write_file(out / "spm_tokenize" / ("ids_" + std::to_string(n)), ids);
  }
}

// fc_sine in our GGUF form, with scalings, column names, a context and the window shift, so every
// optional key of the forecaster reader is in the seed.
void write_forecaster_gguf_seed(const fs::path& fixtures, const fs::path& out) {
  ForecasterWeights weights = load_forecaster_weights(fixtures / "fc_sine");
  weights.input_scaling = {{1.5f}, {2.0f}};
  weights.output_scaling = {{1.5f}, {2.0f}};
  weights.input_columns = {"value"};
  weights.output_columns = {"value"};
  weights.context = 16;
  weights.relative = true;
  write_forecaster_gguf(weights, out);
}

// Each conversation of the chat-tests vectors, as mamba2-chat --conversation reads it.
void write_chat_messages_seeds(const fs::path& vectors, const fs::path& dir) {
  const auto cases = nlohmann::json::parse(read_file(vectors));
  for (size_t i = 0; i < cases.size(); ++i) {
    write_file(dir / ("case_" + std::to_string(i) + ".json"),
               nlohmann::json{{"messages", cases[i]["messages"]}}.dump());
  }
}

void run(const fs::path& fixtures, const fs::path& neox, const fs::path& out) {
  for (const char* target :
       {"gguf", "gguf_requantize", "safetensors", "torch_bin", "config_json", "tokenizer_json",
        "tokenize", "conversation_state", "block_quants", "sentencepiece_model", "spm_vocab_gguf",
        "spm_tokenize", "forecaster_gguf", "state_entry", "chat_messages", "timed_choices"}) {
    fs::create_directories(out / target);
  }
  const fs::path small_tokenizer = out / "tokenizer_json" / "neox_600.json";
  write_file(small_tokenizer, small_tokenizer_json(neox).dump());
  write_small_gguf(fixtures, small_tokenizer, out / "gguf" / "small.gguf");
  fs::copy_file(out / "gguf" / "small.gguf", out / "gguf_requantize" / "small.gguf");
  write_small_safetensors(fixtures / "tiny" / "model.safetensors",
                          out / "safetensors" / "small.safetensors");
  write_pickle_only_zip(fixtures / "tiny" / "pytorch_model.bin",
                        out / "torch_bin" / "pickle_only.bin");
  write_conversations(out / "conversation_state");
  write_state_entries(out / "state_entry");
  write_tokenize_seeds(neox.parent_path() / "tokenizer-tests", Tokenizer(load_tokenizer_json(neox)),
                       out / "tokenize");
  write_block_quants_seeds(out / "block_quants");
  write_sentencepiece_seeds(neox.parent_path(), out);
  write_forecaster_gguf_seed(fixtures, out / "forecaster_gguf" / "fc_sine.gguf");
  write_chat_messages_seeds(neox.parent_path() / "chat-tests" / "mistral-v3.json",
                            out / "chat_messages");
  write_file(out / "timed_choices" / "two_machines.txt",
             "v1 Intel(R) Xeon(R) Processor, avx512, OPENBLAS_CORETYPE=, plain build | f32 GEMM, "
             "K 768\tpanels\n"
             "v1 AMD Ryzen 9 9950X, avx2, OPENBLAS_CORETYPE=Haswell, sanitized build | model "
             "00c0ffee00c0ffee | scan, threads 2, chunk 256, window 0, piece 2\tchunked\n");
}

}  // namespace
}  // namespace mamba2::fuzz

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: make_fuzz_seeds FIXTURES_DIR NEOX_TOKENIZER_JSON OUT_DIR\n");
    return 1;
  }
  try {
    mamba2::fuzz::run(argv[1], argv[2], argv[3]);
  } catch (const mamba2::Error& e) {
    std::fprintf(stderr, "make_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
