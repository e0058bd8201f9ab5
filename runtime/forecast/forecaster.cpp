#include "mamba2/forecaster.h"

#include <algorithm>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

// Observations embedded at once: bounds the stream's scratch for any series length.
constexpr int64_t kObservePiece = 4096;

// y [rows, out] = x [rows, in] W^T + b, W [out, in]: the head's projections are a few thousand
// multiply-adds per step, beside the backbone's millions.
void linear(const float* x, const TensorView& w, const TensorView& b, float* y, int64_t rows) {
  const int64_t out = w.shape[0], in = w.shape[1];
  const float* weight = w.f32().data();
  const float* bias = b.f32().data();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      float sum = bias[o];
      for (int64_t i = 0; i < in; ++i) sum += weight[o * in + i] * x[r * in + i];
      y[r * out + o] = sum;
    }
  }
}

}  // namespace

void shift_windows(std::span<float> windows, int64_t context, int64_t input_dim,
                   std::span<float> targets, std::span<const float> last, int64_t output_dim) {
  const auto batch = static_cast<int64_t>(windows.size()) / (context * input_dim);
  for (int64_t b = 0; b < batch; ++b) {
    float* w = &windows[b * context * input_dim];
    const std::vector<float> end(w + (context - 1) * input_dim, w + context * input_dim);
    for (int64_t i = 0; i < context * input_dim; ++i) w[i] -= end[i % input_dim];
  }
  if (targets.empty()) return;
  const auto horizon = static_cast<int64_t>(targets.size()) / (batch * output_dim);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < horizon * output_dim; ++i) {
      targets[b * horizon * output_dim + i] -= last[b * output_dim + i % output_dim];
    }
  }
}

ModelConfig forecaster_backbone_config(int64_t d_model, int64_t n_layer, int64_t d_state,
                                       int64_t headdim, int64_t d_conv, int64_t chunk_size) {
  ModelConfig c;
  c.d_model = d_model;
  c.n_layer = n_layer;
  c.vocab_size = 1;
  c.pad_vocab_size_multiple = 1;
  c.d_state = d_state;
  c.headdim = headdim;
  c.d_conv = d_conv;
  c.chunk_size = chunk_size;
  c.resolve("forecaster");
  return c;
}

Forecaster::Forecaster(ForecasterWeights weights, const ThreadingContext& threading)
    : head_(std::move(weights)) {
  check_forecaster_weights(head_, head_.backbone.name);
  ModelWeights backbone = std::move(head_.backbone);
  head_.backbone = ModelWeights{};
  head_.backbone.config = backbone.config;
  head_.backbone.name = backbone.name;
  head_.backbone.storage = backbone.storage;  // the head's views point into it too
  model_ = std::make_shared<const Model>(std::move(backbone), Model::PrepareProgress(), threading);
}

void Forecaster::embed(std::span<const float> rows, std::span<float> embeddings) const {
  const int64_t steps = static_cast<int64_t>(rows.size()) / head_.shape.input_dim;
  linear(rows.data(), head_.input_proj, head_.input_proj_bias, embeddings.data(), steps);
}

void Forecaster::project_out(std::span<const float> hidden, std::span<float> forecast) const {
  linear(hidden.data(), head_.output_proj, head_.output_proj_bias, forecast.data(), 1);
}

ForecastStream::ForecastStream(std::shared_ptr<const Forecaster> forecaster, SessionOptions options)
    : forecaster_(std::move(forecaster)),
      session_(forecaster_->model(), options),
      last_hidden_(static_cast<size_t>(forecaster_->model()->config().d_model)) {}

void ForecastStream::observe(std::span<const float> rows) {
  const int64_t input_dim = forecaster_->shape().input_dim;
  const int64_t d_model = forecaster_->model()->config().d_model;
  const int64_t n_layer = forecaster_->model()->config().n_layer;
  const auto steps = static_cast<int64_t>(rows.size()) / input_dim;
  if (steps * input_dim != static_cast<int64_t>(rows.size())) {
    throw Error("observations",
                "expected whole rows of input_dim = " + std::to_string(input_dim) + " values");
  }
  for (int64_t begin = 0; begin < steps; begin += kObservePiece) {
    const int64_t piece = std::min(kObservePiece, steps - begin);
    embeddings_.resize(static_cast<size_t>(piece * d_model));
    forecaster_->embed(rows.subspan(begin * input_dim, piece * input_dim), embeddings_);
    const int64_t last = observed() + piece - 1;
    session_.prefill_embeddings(
        embeddings_, [&](int64_t layer, int64_t position, std::span<const float> hidden) {
          if (layer == n_layer && position == last) {
            std::copy(hidden.begin(), hidden.end(), last_hidden_.begin());
          }
        });
  }
}

std::vector<float> ForecastStream::forecast() const {
  if (observed() == 0) throw Error("forecast", "needs at least one observation");
  std::vector<float> out(static_cast<size_t>(forecaster_->shape().outputs()));
  forecaster_->project_out(last_hidden_, out);
  return out;
}

void ForecastStream::reset() { session_.reset(); }

std::vector<float> forecast_windows(const std::shared_ptr<const Forecaster>& forecaster,
                                    std::span<const float> windows, int64_t length,
                                    const SessionOptions& options) {
  const ForecasterShape& shape = forecaster->shape();
  const int64_t window = length * shape.input_dim;
  if (length < 1 || windows.size() % static_cast<size_t>(window) != 0) {
    throw Error("windows", "expected [batch, " + std::to_string(length) + ", " +
                               std::to_string(shape.input_dim) + "] values");
  }
  const auto batch = static_cast<int64_t>(windows.size()) / window;
  std::vector<float> out;
  out.reserve(static_cast<size_t>(batch * shape.outputs()));
  ForecastStream stream(forecaster, options);
  for (int64_t b = 0; b < batch; ++b) {
    stream.reset();
    stream.observe(windows.subspan(b * window, window));
    const std::vector<float> forecast = stream.forecast();
    out.insert(out.end(), forecast.begin(), forecast.end());
  }
  return out;
}

}  // namespace mamba2
