#include "mamba2/kl_divergence.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

// Tokens run through both models per round: bounds the base logits kept ([kRound, vocab] f32).
constexpr int64_t kRound = 256;

// log softmax(logits), in double for the sums.
void log_softmax(std::span<const float> logits, std::span<double> out) {
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (const float logit : logits) sum += std::exp(double(logit) - max_logit);
  const double log_sum = std::log(sum) + max_logit;
  for (size_t i = 0; i < logits.size(); ++i) out[i] = double(logits[i]) - log_sum;
}

size_t argmax(std::span<const double> values) {
  return static_cast<size_t>(std::max_element(values.begin(), values.end()) - values.begin());
}

}  // namespace

KlDivergenceResult measure_kl_divergence(Session& session, Session& base_session,
                                         std::span<const int32_t> tokens,
                                         const std::function<void(int64_t done)>& progress) {
  if (tokens.size() < 2) throw Error("kl-divergence", "needs at least two tokens");
  const int64_t vocab = session.model().config().vocab_padded;
  const int64_t base_vocab = base_session.model().config().vocab_padded;
  if (vocab != base_vocab) {
    throw Error("kl-divergence", "the model has " + std::to_string(vocab) +
                                     " logits per token, the base " + std::to_string(base_vocab));
  }
  const auto count = static_cast<int64_t>(tokens.size());
  std::vector<double> base_logp(static_cast<size_t>(kRound * vocab));  // [kRound, vocab]
  std::vector<double> logp(static_cast<size_t>(vocab));
  double nll = 0, base_nll = 0, kl_sum = 0, kl_sq_sum = 0, max_kl = 0;
  int64_t agree = 0;

  for (int64_t begin = 0; begin < count; begin += kRound) {
    const int64_t n = std::min(kRound, count - begin);
    const std::span<const int32_t> round = tokens.subspan(begin, n);
    // Position i of this round predicts tokens[begin + i + 1]; the last token predicts nothing.
    auto predicts = [&](int64_t i) { return begin + i + 1 < count; };
    const int64_t base_start = base_session.state().position;
    base_session.prefill(round, [&](int64_t position, std::span<const float> logits) {
      const int64_t i = position - base_start;
      if (!predicts(i)) return;
      const std::span<double> row(base_logp.data() + i * vocab, static_cast<size_t>(vocab));
      log_softmax(logits, row);
      base_nll -= row[tokens[begin + i + 1]];
    });
    const int64_t start = session.state().position;
    session.prefill(round, [&](int64_t position, std::span<const float> logits) {
      const int64_t i = position - start;
      if (!predicts(i)) return;
      log_softmax(logits, logp);
      const std::span<const double> base(base_logp.data() + i * vocab, static_cast<size_t>(vocab));
      nll -= logp[tokens[begin + i + 1]];
      double kl = 0;
      for (int64_t v = 0; v < vocab; ++v) kl += std::exp(base[v]) * (base[v] - logp[v]);
      kl = std::max(kl, 0.0);  // rounding can make a near-zero sum negative
      kl_sum += kl;
      kl_sq_sum += kl * kl;
      max_kl = std::max(max_kl, kl);
      agree += argmax(base) == argmax(logp);
    });
    if (progress) progress(begin + n);
  }
  KlDivergenceResult result;
  result.positions = count - 1;
  const auto positions = double(result.positions);
  result.perplexity = std::exp(nll / positions);
  result.base_perplexity = std::exp(base_nll / positions);
  result.mean_kl = kl_sum / positions;
  const double variance = std::max(kl_sq_sum / positions - result.mean_kl * result.mean_kl, 0.0);
  result.kl_standard_error = result.positions > 1 ? std::sqrt(variance / (positions - 1)) : 0.0;
  result.max_kl = max_kl;
  result.top1_agreement = double(agree) / positions;
  return result;
}

}  // namespace mamba2
