// Picks the next token from a logits row the way llama.cpp's default chain does: penalties over
// the recent tokens, top-k, top-p, min-p, temperature, then a seeded draw. Temperature 0 is greedy.
// Tokens the model must never generate (padded vocabulary rows, control tokens other than EOS) are
// masked before any stage. A Sampler allocates its buffers once; sample() allocates nothing.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "mamba2/config.h"
#include "mamba2/sampler_settings.h"
#include "mamba2/tokenizer.h"

namespace mamba2 {

// The ids a model may generate, [vocab_padded] with 1 = allowed: with a tokenizer, its ids below
// vocab_padded that are not control tokens, plus its EOS; without one, the ids below the config's
// vocab_size.
std::vector<uint8_t> generation_mask(const ModelConfig& config, const Tokenizer* tokenizer);

// A token and its logit (then probability) while the chain narrows the candidates.
struct TokenCandidate {
  int32_t id;
  float logit;
  float prob;
};

class Sampler {
 public:
  // `mask` [vocab_padded]: nonzero where a token may be generated (at least one must be).
  Sampler(SamplerSettings settings, std::vector<uint8_t> mask);

  // Draws the next token from logits [vocab_padded]. Does not record it: call accept().
  int32_t sample(std::span<const float> logits);
  // Records a token (prompt or generated) in the penalty window.
  void accept(int32_t token);
  void accept(std::span<const int32_t> tokens);

  const SamplerSettings& settings() const { return settings_; }
  // New settings; a changed seed restarts the random stream.
  void set_settings(const SamplerSettings& settings);

  // For saved conversations: the penalty window and the random engine's position.
  std::span<const int32_t> recent() const { return recent_; }
  void set_recent(std::span<const int32_t> tokens);
  std::string rng_state() const;
  void set_rng_state(const std::string& state);  // throws Error if it is not an engine state

  // The stages one by one, for tests; each works on `candidates` in place. Probabilities are
  // (re)computed by softmax(); the truncating stages keep at least one candidate.
  static void apply_penalties(std::span<TokenCandidate> candidates, std::span<const int32_t> recent,
                              const SamplerSettings& settings, std::vector<int32_t>& counts);
  static void sort_descending(std::vector<TokenCandidate>& candidates);
  static void top_k(std::vector<TokenCandidate>& candidates, int32_t k);
  static void softmax(std::span<TokenCandidate> candidates);            // sorted candidates
  static void top_p(std::vector<TokenCandidate>& candidates, float p);  // sorted, softmaxed
  static void min_p(std::vector<TokenCandidate>& candidates, float p);  // sorted, softmaxed
  static void temperature(std::span<TokenCandidate> candidates, float temp);
  // Index into the sorted, softmaxed candidates where the cumulative probability passes u*total.
  static size_t draw(std::span<const TokenCandidate> candidates, double u);
  // A uniform double in [0, 1) from 53 bits of the engine: the same on every standard library.
  static double uniform(std::mt19937_64& engine);

 private:
  SamplerSettings settings_;
  std::vector<uint8_t> mask_;               // [vocab_padded]
  std::vector<TokenCandidate> candidates_;  // capacity vocab_padded, reused per token
  std::vector<int32_t> counts_;             // [vocab_padded], zero between calls
  std::vector<int32_t> recent_;             // the last penalty_last_n accepted tokens, oldest first
  std::mt19937_64 engine_;
};

}  // namespace mamba2
