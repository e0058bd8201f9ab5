// Metadata keys of llama.cpp's mamba2 architecture (src/llama-arch.cpp LLM_KV_*, gguf-py
// constants.py Keys), plus the few of our own that llama.cpp ignores.
#pragma once

namespace mamba2::gguf_keys {

inline constexpr const char* kArchitecture = "general.architecture";
inline constexpr const char* kName = "general.name";
inline constexpr const char* kFileType = "general.file_type";
inline constexpr const char* kQuantizationVersion = "general.quantization_version";

inline constexpr const char* kArchName = "mamba2";
inline constexpr const char* kContextLength = "mamba2.context_length";
inline constexpr const char* kEmbeddingLength = "mamba2.embedding_length";
inline constexpr const char* kBlockCount = "mamba2.block_count";
inline constexpr const char* kFeedForwardLength = "mamba2.feed_forward_length";
inline constexpr const char* kHeadCount = "mamba2.attention.head_count";
inline constexpr const char* kVocabSize = "mamba2.vocab_size";
inline constexpr const char* kConvKernel = "mamba2.ssm.conv_kernel";
inline constexpr const char* kInnerSize = "mamba2.ssm.inner_size";
inline constexpr const char* kStateSize = "mamba2.ssm.state_size";
inline constexpr const char* kTimeStepRank = "mamba2.ssm.time_step_rank";  // = nheads
inline constexpr const char* kGroupCount = "mamba2.ssm.group_count";
inline constexpr const char* kRmsEps = "mamba2.attention.layer_norm_rms_epsilon";

// Ours: llama.cpp has no place for these and ignores keys it does not know.
inline constexpr const char* kChunkSize = "mamba2.ssm.chunk_size";
inline constexpr const char* kDtMin = "mamba2.ssm.dt_min_limit";
inline constexpr const char* kDtMax = "mamba2.ssm.dt_max_limit";
inline constexpr const char* kNormBeforeGate = "mamba2.ssm.norm_before_gate";

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
