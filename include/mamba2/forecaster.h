// A Mamba-2 time-series forecaster in the form of mamba2-jax's Mamba2Forecaster: input_proj
// (Linear input_dim -> d_model) -> the Mamba-2 backbone fed those embeddings -> final norm -> the
// last time step -> output_proj (Linear d_model -> horizon * output_dim) -> [horizon, output_dim].
// The backbone runs on the engine (chunked prefill, constant memory), so a stream keeps its state
// and forecasts again after every new observation without re-reading the history.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mamba2/model.h"
#include "mamba2/model_weights.h"
#include "mamba2/session.h"
#include "mamba2/threading_context.h"

namespace mamba2 {

struct ForecasterShape {
  int64_t input_dim = 0;   // values per time step fed in
  int64_t output_dim = 0;  // values per forecast step
  int64_t horizon = 0;     // forecast steps
  int64_t outputs() const { return horizon * output_dim; }
};

// Per column: model units = (value - mean) / scale. Empty: the model reads values as they are.
struct SeriesScaling {
  std::vector<float> mean, scale;
  bool empty() const { return mean.empty(); }
};

struct ForecasterWeights {
  ModelWeights backbone;  // vocab_size 1, one zero embedding row the embeddings replace
  ForecasterShape shape;
  TensorView input_proj;        // [d_model, input_dim]          f32
  TensorView input_proj_bias;   // [d_model]                     f32
  TensorView output_proj;       // [horizon * output_dim, d_model]  f32
  TensorView output_proj_bias;  // [horizon * output_dim]        f32
  // What the tool needs to read and write a series in its own units; empty for a mamba2-jax model.
  SeriesScaling input_scaling;              // [input_dim]
  SeriesScaling output_scaling;             // [output_dim]
  std::vector<std::string> input_columns;   // [input_dim] CSV column names
  std::vector<std::string> output_columns;  // [output_dim]
  // The window length a model trained here saw (mamba2-forecast train --context): the tool then
  // forecasts from the last `context` rows, each time from a zero state, as in training. 0 (a
  // mamba2-jax model): the whole history streams in.
  int64_t context = 0;
  // Window-relative (a model trained here with --window-shift last): each window's last row is
  // subtracted from its rows, and the forecast is a change from the last known target values.
  bool relative = false;
};

// The window shift of a relative model, in model units, in place: windows [batch, context,
// input_dim] minus each window's last row; with targets [batch, horizon, output_dim] given, those
// minus `last` [batch, output_dim] (the target row before each window's origin).
void shift_windows(std::span<float> windows, int64_t context, int64_t input_dim,
                   std::span<float> targets, std::span<const float> last, int64_t output_dim);

// The backbone config of a forecaster: mamba2-jax's fixed choices (expand 2, one group, eps 1e-5,
// no projection biases, conv bias) around the sizes given; vocab_size 1. Resolved.
ModelConfig forecaster_backbone_config(int64_t d_model, int64_t n_layer, int64_t d_state,
                                       int64_t headdim, int64_t d_conv, int64_t chunk_size);

// Checks the head tensors' shapes and dtypes and the scalings' sizes against `weights.shape` and
// the backbone. Throws Error naming `where` and the tensor.
void check_forecaster_weights(const ForecasterWeights& weights, const std::string& where);

// Reads our GGUF form (general.architecture "mamba2-forecaster") or a mamba2-jax directory:
// config.json of the Mamba2Forecaster constructor's fields and params.safetensors or params.npz
// (the flattened Flax tree, 0.1.x linen or 1.x NNX paths, with or without a leading "params.").
// Throws Error naming the file and the problem.
ForecasterWeights load_forecaster_weights(const std::filesystem::path& path);
// Writes our GGUF form: the backbone as mamba2 GGUF keys and tensors, plus the head tensors and
// the forecaster keys (README "Forecasting").
void write_forecaster_gguf(const ForecasterWeights& weights, const std::filesystem::path& path);

class Forecaster {
 public:
  explicit Forecaster(ForecasterWeights weights,
                      const ThreadingContext& threading = ThreadingContext());

  const ForecasterShape& shape() const { return head_.shape; }
  const ForecasterWeights& head() const { return head_; }  // backbone moved into model()
  const std::shared_ptr<const Model>& model() const { return model_; }

  // embeddings [rows, d_model] = rows [rows, input_dim] input_proj^T + bias.
  void embed(std::span<const float> rows, std::span<float> embeddings) const;
  // forecast [horizon * output_dim] = output_proj(hidden [d_model]).
  void project_out(std::span<const float> hidden, std::span<float> forecast) const;

 private:
  ForecasterWeights head_;
  std::shared_ptr<const Model> model_;
};

// One series through a forecaster: observations go in one or many at a time, in model units, and
// the forecast after the latest is ready at any point.
class ForecastStream {
 public:
  ForecastStream(std::shared_ptr<const Forecaster> forecaster, SessionOptions options = {});

  // Runs observations [steps, input_dim] on from the state so far.
  void observe(std::span<const float> rows);
  // [horizon, output_dim] after the latest observation. Throws Error before the first.
  std::vector<float> forecast() const;
  int64_t observed() const { return session_.state().position; }
  void reset();

 private:
  std::shared_ptr<const Forecaster> forecaster_;
  Session session_;
  std::vector<float> embeddings_;   // [piece, d_model] scratch
  std::vector<float> last_hidden_;  // [d_model] final norm output at the latest observation
};

// The raw model on windows [batch, length, input_dim] (model units): [batch, horizon, output_dim].
std::vector<float> forecast_windows(const std::shared_ptr<const Forecaster>& forecaster,
                                    std::span<const float> windows, int64_t length,
                                    const SessionOptions& options = {});

}  // namespace mamba2
