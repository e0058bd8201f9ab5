#include "mamba2/perplexity.h"

#include <algorithm>
#include <cmath>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

// -log softmax(logits)[target], computed stably in double.
double negative_log_likelihood(std::span<const float> logits, int32_t target) {
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float logit : logits) sum += std::exp(double(logit) - max_logit);
  return std::log(sum) + max_logit - logits[target];
}

}  // namespace

PerplexityResult measure_perplexity(Session& session, std::span<const int32_t> tokens,
                                    int64_t predicted_bytes,
                                    const std::function<void(int64_t done)>& progress) {
  if (tokens.size() < 2) throw Error("perplexity", "needs at least two tokens");
  if (predicted_bytes <= 0) throw Error("perplexity", "the predicted text is empty");
  const int64_t start = session.state().position;
  const auto count = static_cast<int64_t>(tokens.size());
  constexpr int64_t kProgressEvery = 1024;
  double total_nll = 0;
  session.prefill(tokens, [&](int64_t position, std::span<const float> logits) {
    const int64_t index = position - start;
    if (index + 1 < count) total_nll += negative_log_likelihood(logits, tokens[index + 1]);
    if (progress && ((index + 1) % kProgressEvery == 0 || index + 1 == count)) progress(index + 1);
  });
  PerplexityResult result;
  result.predicted_tokens = count - 1;
  result.perplexity = std::exp(total_nll / double(result.predicted_tokens));
  result.bits_per_byte = total_nll / std::log(2.0) / double(predicted_bytes);
  return result;
}

}  // namespace mamba2
