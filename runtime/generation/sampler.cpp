#include "mamba2/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

// Highest logit first; the lower id first on equal logits, so every standard library agrees.
bool before(const TokenCandidate& a, const TokenCandidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

bool penalties_active(const SamplerSettings& s) {
  return s.penalty_last_n > 0 &&
         (s.repeat_penalty != 1.0f || s.presence_penalty != 0.0f || s.frequency_penalty != 0.0f);
}

}  // namespace

std::vector<uint8_t> generation_mask(const ModelConfig& config, const Tokenizer* tokenizer) {
  std::vector<uint8_t> mask(static_cast<size_t>(config.vocab_padded), 0);
  if (tokenizer == nullptr) {
    const int64_t limit = std::min(config.vocab_size, config.vocab_padded);
    std::fill(mask.begin(), mask.begin() + limit, uint8_t{1});
    return mask;
  }
  const int64_t limit = std::min<int64_t>(tokenizer->size(), config.vocab_padded);
  for (int32_t id = 0; id < limit; ++id) {
    mask[id] = tokenizer->is_control(id) && id != tokenizer->eos_id() ? 0 : 1;
  }
  return mask;
}

Sampler::Sampler(SamplerSettings settings, std::vector<uint8_t> mask)
    : settings_(settings), mask_(std::move(mask)), engine_(settings.seed) {
  if (std::none_of(mask_.begin(), mask_.end(), [](uint8_t allowed) { return allowed != 0; })) {
    throw Error("sampler", "no token may be generated");
  }
  candidates_.reserve(mask_.size());
  counts_.assign(mask_.size(), 0);
  recent_.reserve(static_cast<size_t>(std::max(settings_.penalty_last_n, 0)));
}

void Sampler::set_settings(const SamplerSettings& settings) {
  if (settings.seed != settings_.seed) engine_.seed(settings.seed);
  settings_ = settings;
  const auto keep = static_cast<size_t>(std::max(settings_.penalty_last_n, 0));
  if (recent_.size() > keep) recent_.erase(recent_.begin(), recent_.end() - keep);
  recent_.reserve(keep);
}

void Sampler::accept(int32_t token) {
  if (token < 0 || static_cast<size_t>(token) >= mask_.size()) {
    throw Error("sampler", "token id " + std::to_string(token) + " is outside the vocabulary");
  }
  const auto keep = static_cast<size_t>(std::max(settings_.penalty_last_n, 0));
  if (keep == 0) return;
  // At most penalty_last_n ints move: cheaper than a ring buffer's index arithmetic to read.
  if (recent_.size() == keep) recent_.erase(recent_.begin());
  recent_.push_back(token);
}

void Sampler::accept(std::span<const int32_t> tokens) {
  // As accept() token by token, in time linear in the tokens: a long prompt (a server request's,
  // with its own repeat_last_n) would otherwise move the whole window once per token.
  const auto first_bad = std::ranges::find_if(tokens, [&](int32_t token) {
    return token < 0 || static_cast<size_t>(token) >= mask_.size();
  });
  const std::span<const int32_t> ok = tokens.first(static_cast<size_t>(first_bad - tokens.begin()));
  const auto keep = static_cast<size_t>(std::max(settings_.penalty_last_n, 0));
  if (keep > 0) {
    const std::span<const int32_t> kept = ok.last(std::min(ok.size(), keep));
    // recent_ holds at most `keep` tokens, so this drops none of `kept`.
    const size_t total = recent_.size() + kept.size();
    const size_t drop = total > keep ? total - keep : 0;
    recent_.erase(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(drop));
    recent_.insert(recent_.end(), kept.begin(), kept.end());
  }
  if (first_bad != tokens.end())
    accept(*first_bad);  // throws, as the token-by-token loop did there
}

void Sampler::set_recent(std::span<const int32_t> tokens) {
  recent_.clear();
  accept(tokens);
}

std::string Sampler::rng_state() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

void Sampler::set_rng_state(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 engine;
  in >> engine;
  if (in.fail()) throw Error("sampler", "not a random engine state");
  engine_ = engine;
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (logits.size() != mask_.size()) {
    throw Error("sampler", "logits row has " + std::to_string(logits.size()) +
                               " entries, expected " + std::to_string(mask_.size()));
  }
  candidates_.clear();
  for (size_t id = 0; id < mask_.size(); ++id) {
    if (mask_[id] && !std::isnan(logits[id])) {
      candidates_.push_back({static_cast<int32_t>(id), logits[id], 0.0f});
    }
  }
  if (candidates_.empty()) throw Error("sampler", "every logit is NaN");
  apply_penalties(candidates_, recent_, settings_, counts_);

  if (settings_.temp <= 0.0f) {
    // Candidates are in id order, so the first maximum is the lowest id.
    const auto best = std::max_element(
        candidates_.begin(), candidates_.end(),
        [](const TokenCandidate& a, const TokenCandidate& b) { return a.logit < b.logit; });
    return best->id;
  }
  top_k(candidates_, settings_.top_k);
  softmax(candidates_);
  top_p(candidates_, settings_.top_p);
  min_p(candidates_, settings_.min_p);
  temperature(candidates_, settings_.temp);
  softmax(candidates_);
  return candidates_[draw(candidates_, uniform(engine_))].id;
}

void Sampler::apply_penalties(std::span<TokenCandidate> candidates, std::span<const int32_t> recent,
                              const SamplerSettings& settings, std::vector<int32_t>& counts) {
  if (!penalties_active(settings) || recent.empty()) return;
  for (int32_t token : recent) ++counts[token];
  for (TokenCandidate& c : candidates) {
    const int32_t count = counts[c.id];
    if (count == 0) continue;
    c.logit =
        c.logit <= 0.0f ? c.logit * settings.repeat_penalty : c.logit / settings.repeat_penalty;
    c.logit -= static_cast<float>(count) * settings.frequency_penalty + settings.presence_penalty;
  }
  for (int32_t token : recent) counts[token] = 0;  // zero again for the next call
}

void Sampler::sort_descending(std::vector<TokenCandidate>& candidates) {
  std::sort(candidates.begin(), candidates.end(), before);
}

void Sampler::top_k(std::vector<TokenCandidate>& candidates, int32_t k) {
  if (k <= 0 || static_cast<size_t>(k) >= candidates.size()) {
    sort_descending(candidates);
    return;
  }
  std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end(), before);
  candidates.resize(static_cast<size_t>(k));
}

void Sampler::softmax(std::span<TokenCandidate> candidates) {
  if (candidates.empty()) return;
  const float max_logit = candidates.front().logit;
  double sum = 0;
  for (TokenCandidate& c : candidates) {
    c.prob = std::exp(c.logit - max_logit);
    sum += c.prob;
  }
  for (TokenCandidate& c : candidates) c.prob = static_cast<float>(c.prob / sum);
}

void Sampler::top_p(std::vector<TokenCandidate>& candidates, float p) {
  if (p >= 1.0f) return;
  double cumulative = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    cumulative += candidates[i].prob;
    if (cumulative >= p) {
      candidates.resize(i + 1);
      return;
    }
  }
}

void Sampler::min_p(std::vector<TokenCandidate>& candidates, float p) {
  if (p <= 0.0f || candidates.empty()) return;
  const float threshold = candidates.front().prob * p;
  size_t keep = 1;
  while (keep < candidates.size() && candidates[keep].prob >= threshold) ++keep;
  candidates.resize(keep);
}

void Sampler::temperature(std::span<TokenCandidate> candidates, float temp) {
  for (TokenCandidate& c : candidates) c.logit /= temp;
}

size_t Sampler::draw(std::span<const TokenCandidate> candidates, double u) {
  double total = 0;
  for (const TokenCandidate& c : candidates) total += c.prob;
  const double target = u * total;
  double cumulative = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    cumulative += candidates[i].prob;
    if (target < cumulative) return i;
  }
  return candidates.size() - 1;  // u * total rounded up to the sum
}

double Sampler::uniform(std::mt19937_64& engine) {
  return static_cast<double>(engine() >> 11) * 0x1.0p-53;
}

}  // namespace mamba2
