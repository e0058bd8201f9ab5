// Metadata keys of llama.cpp's mamba2 and mamba (Mamba-1) architectures (src/llama-arch.cpp
// LLM_KV_*, gguf-py constants.py Keys), plus the few of our own that llama.cpp ignores.
#pragma once

#include <string>
#include <string_view>

namespace mamba2::gguf_keys {

inline constexpr const char* kArchitecture = "general.architecture";
inline constexpr const char* kName = "general.name";
inline constexpr const char* kFileType = "general.file_type";
inline constexpr const char* kQuantizationVersion = "general.quantization_version";

inline constexpr const char* kArchName = "mamba2";
inline constexpr const char* kMamba1ArchName = "mamba";

// The architecture's own keys are "<arch>.<suffix>": ArchKeys builds them from these suffixes.
inline constexpr const char* kContextLength = "context_length";
inline constexpr const char* kEmbeddingLength = "embedding_length";
inline constexpr const char* kBlockCount = "block_count";
inline constexpr const char* kFeedForwardLength = "feed_forward_length";
inline constexpr const char* kHeadCount = "attention.head_count";
inline constexpr const char* kVocabSize = "vocab_size";
inline constexpr const char* kConvKernel = "ssm.conv_kernel";
inline constexpr const char* kInnerSize = "ssm.inner_size";
inline constexpr const char* kStateSize = "ssm.state_size";
inline constexpr const char* kTimeStepRank = "ssm.time_step_rank";  // nheads; Mamba-1: dt_rank
inline constexpr const char* kGroupCount = "ssm.group_count";
inline constexpr const char* kRmsEps = "attention.layer_norm_rms_epsilon";
inline constexpr const char* kDtBCRms = "ssm.dt_b_c_rms";  // Mamba-1 (falcon-mamba)

// Ours: llama.cpp has no place for these and ignores keys it does not know.
inline constexpr const char* kChunkSize = "ssm.chunk_size";
inline constexpr const char* kDtMin = "ssm.dt_min_limit";
inline constexpr const char* kDtMax = "ssm.dt_max_limit";
inline constexpr const char* kNormBeforeGate = "ssm.norm_before_gate";
inline constexpr const char* kDtBCRmsEps = "ssm.dt_b_c_rms_eps";  // Mamba-1

// ArchKeys("mamba")(kStateSize) == "mamba.ssm.state_size".
class ArchKeys {
 public:
  explicit ArchKeys(std::string_view arch) : prefix_(std::string(arch) + ".") {}
  std::string operator()(std::string_view suffix) const { return prefix_ + std::string(suffix); }

 private:
  std::string prefix_;
};

inline constexpr const char* kTokenizerModel = "tokenizer.ggml.model";
// tokenizer.ggml.model of a file without a vocabulary: llama.cpp refuses a file without the key,
// and takes "none" (or "no_vocab") as mamba2.vocab_size dummy tokens.
inline constexpr const char* kNoVocab = "none";
inline constexpr const char* kTokenizerPre = "tokenizer.ggml.pre";
inline constexpr const char* kTokens = "tokenizer.ggml.tokens";
inline constexpr const char* kScores = "tokenizer.ggml.scores";
inline constexpr const char* kTokenTypes = "tokenizer.ggml.token_type";
inline constexpr const char* kMerges = "tokenizer.ggml.merges";
inline constexpr const char* kBosId = "tokenizer.ggml.bos_token_id";
inline constexpr const char* kEosId = "tokenizer.ggml.eos_token_id";
inline constexpr const char* kUnkId = "tokenizer.ggml.unknown_token_id";
inline constexpr const char* kPadId = "tokenizer.ggml.padding_token_id";
inline constexpr const char* kAddBos = "tokenizer.ggml.add_bos_token";
inline constexpr const char* kAddEos = "tokenizer.ggml.add_eos_token";
inline constexpr const char* kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
inline constexpr const char* kChatTemplate = "tokenizer.chat_template";

// What convert_hf_to_gguf.py writes for Mamba-2 (2**20): the recurrence has no context limit.
inline constexpr unsigned kContextLengthValue = 1u << 20;
inline constexpr unsigned kQuantizationVersionValue = 2;  // GGML_QNT_VERSION

}  // namespace mamba2::gguf_keys
