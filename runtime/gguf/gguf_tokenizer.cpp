#include "runtime/gguf/gguf_tokenizer.h"

#include <vector>

#include "mamba2/error.h"
#include "runtime/gguf/gguf_keys.h"

namespace mamba2 {
namespace {

namespace keys = gguf_keys;

// The score llama.cpp's converter gives the entries it pads a SentencePiece vocabulary with.
constexpr float kPadScore = -1000.0f;

int32_t read_token_id(const GgufFile& file, const char* key, size_t n_tokens) {
  const auto id = file.find_int(key);
  if (!id) return -1;
  if (*id < 0 || static_cast<uint64_t>(*id) >= n_tokens) {
    throw Error(file.where(), std::string(key) + " is " + std::to_string(*id) + ", outside the " +
                                  std::to_string(n_tokens) + " tokens");
  }
  return static_cast<int32_t>(*id);
}

void read_token_types(const GgufFile& file, TokenizerData& data) {
  const auto types = file.find_int_array(keys::kTokenTypes);
  if (!types) {
    data.token_types.assign(data.tokens.size(), TokenType::kNormal);
    return;
  }
  if (types->size() != data.tokens.size()) {
    throw Error(file.where(), std::string(keys::kTokenTypes) + " has " +
                                  std::to_string(types->size()) + " entries for " +
                                  std::to_string(data.tokens.size()) + " tokens");
  }
  data.token_types.reserve(types->size());
  for (int64_t type : *types) {
    if (type < 0 || type > static_cast<int64_t>(TokenType::kByte)) {
      throw Error(file.where(), std::string(keys::kTokenTypes) + " holds unknown token type " +
                                    std::to_string(type));
    }
    data.token_types.push_back(static_cast<TokenType>(type));
  }
}

// llama.cpp reads a missing score as 0, but a SentencePiece merge without scores is not the
// tokenizer the file was made from: refuse it rather than tokenize differently.
void read_scores(const GgufFile& file, TokenizerData& data) {
  auto scores = file.find_float_array(keys::kScores);
  if (!scores) {
    throw Error(file.where(), std::string(keys::kScores) +
                                  " is missing (a SentencePiece vocabulary needs one score per "
                                  "token)");
  }
  if (scores->size() != data.tokens.size()) {
    throw Error(file.where(), std::string(keys::kScores) + " has " +
                                  std::to_string(scores->size()) + " entries for " +
                                  std::to_string(data.tokens.size()) + " tokens");
  }
  data.scores = std::move(*scores);
}

}  // namespace

std::optional<TokenizerData> read_gguf_tokenizer(const GgufFile& file, int64_t max_tokens) {
  const auto model = file.find_string(keys::kTokenizerModel);
  if (!model || *model == keys::kNoVocab || *model == "no_vocab") return std::nullopt;
  const std::string& where = file.where();
  TokenizerData data;
  data.model = std::string(*model);
  data.pre = std::string(file.find_string(keys::kTokenizerPre).value_or("default"));

  const auto tokens = file.find_string_array(keys::kTokens);
  if (!tokens) throw Error(where, std::string(keys::kTokens) + " is missing");
  if (max_tokens >= 0 && static_cast<int64_t>(tokens->size()) > max_tokens) {
    throw Error(where, "the vocabulary has " + std::to_string(tokens->size()) +
                           " tokens but the embedding only " + std::to_string(max_tokens) +
                           " rows");
  }
  data.tokens.assign(tokens->begin(), tokens->end());
  read_token_types(file, data);
  if (data.model == "llama") read_scores(file, data);
  if (const auto merges = file.find_string_array(keys::kMerges)) {
    data.merges.assign(merges->begin(), merges->end());
  }
  data.bos_id = read_token_id(file, keys::kBosId, data.tokens.size());
  data.eos_id = read_token_id(file, keys::kEosId, data.tokens.size());
  data.unk_id = read_token_id(file, keys::kUnkId, data.tokens.size());
  data.pad_id = read_token_id(file, keys::kPadId, data.tokens.size());
  data.add_bos = file.find_bool(keys::kAddBos);
  data.add_eos = file.find_bool(keys::kAddEos);
  data.add_space_prefix = file.find_bool(keys::kAddSpacePrefix);
  data.chat_template = std::string(file.find_string(keys::kChatTemplate).value_or(""));
  return data;
}

void write_gguf_tokenizer(GgufWriter& out, const TokenizerData& tok, int64_t vocab_padded,
                          const std::string& where) {
  if (static_cast<int64_t>(tok.tokens.size()) > vocab_padded) {
    throw Error(where, "the tokenizer has " + std::to_string(tok.tokens.size()) +
                           " tokens, more than the model's " + std::to_string(vocab_padded) +
                           " embedding rows");
  }
  if (tok.token_types.size() != tok.tokens.size()) {
    throw Error(where, "the tokenizer has " + std::to_string(tok.token_types.size()) +
                           " token types for " + std::to_string(tok.tokens.size()) + " tokens");
  }
  const bool sentencepiece = tok.model == "llama";
  if (sentencepiece && tok.scores.size() != tok.tokens.size()) {
    throw Error(where, "the tokenizer has " + std::to_string(tok.scores.size()) + " scores for " +
                           std::to_string(tok.tokens.size()) + " tokens");
  }
  // llama.cpp wants one token per embedding row; its converter pads the same way.
  std::vector<std::string> tokens = tok.tokens;
  std::vector<float> scores = tok.scores;
  std::vector<int32_t> types;
  types.reserve(static_cast<size_t>(vocab_padded));
  for (TokenType type : tok.token_types) types.push_back(static_cast<int32_t>(type));
  for (auto i = static_cast<int64_t>(tokens.size()); i < vocab_padded; ++i) {
    tokens.push_back("[PAD" + std::to_string(i) + "]");
    scores.push_back(kPadScore);
    types.push_back(static_cast<int32_t>(TokenType::kUnused));
  }
  out.add_string(keys::kTokenizerModel, tok.model);
  out.add_string(keys::kTokenizerPre, tok.pre);
  out.add_string_array(keys::kTokens, tokens);
  if (sentencepiece) out.add_float32_array(keys::kScores, scores);
  out.add_int32_array(keys::kTokenTypes, types);
  // llama.cpp refuses a gpt2 (BPE) vocabulary without merges, even a byte-level one that has none.
  if (tok.model == "gpt2" || !tok.merges.empty()) out.add_string_array(keys::kMerges, tok.merges);
  const std::pair<const char*, int32_t> ids[] = {{keys::kBosId, tok.bos_id},
                                                 {keys::kEosId, tok.eos_id},
                                                 {keys::kUnkId, tok.unk_id},
                                                 {keys::kPadId, tok.pad_id}};
  for (const auto& [key, id] : ids) {
    if (id >= 0) out.add_uint32(key, static_cast<uint32_t>(id));
  }
  if (tok.add_bos) out.add_bool(keys::kAddBos, *tok.add_bos);
  if (tok.add_eos) out.add_bool(keys::kAddEos, *tok.add_eos);
  if (tok.add_space_prefix) out.add_bool(keys::kAddSpacePrefix, *tok.add_space_prefix);
  if (!tok.chat_template.empty()) out.add_string(keys::kChatTemplate, tok.chat_template);
}

}  // namespace mamba2
