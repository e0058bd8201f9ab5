#include <algorithm>

#include "runtime/engine/prefill.h"

namespace mamba2 {

int64_t ChunkedPrefill::window_tokens() const {
  return static_cast<int64_t>(blocks_.size()) * chunk_;
}

ChunkedPrefill::ChunkedPrefill(const PrefillContext& context, int64_t chunk, int64_t window)
    : context_(context), chunk_(chunk), block_tokens_(window) {
  for (int64_t index = 0; index < window; ++index) {
    blocks_.emplace_back(context.config, context.stages.mixer(), 0,
                         BlockScan::kChunked);  // grown by use
  }
}

void ChunkedPrefill::run_node(int64_t layer, int64_t chunk_index) {
  ActivationBlock& block = blocks_[chunk_index];
  if (block.tokens == 0) return;
  const LayerStages& stages = context_.stages;
  if (layer == context_.config.n_layer) {
    stages.final_norm(block);
    sink_->consume(stages, block);
    return;
  }
  if (layer == 0) stages.embed(block_tokens_[chunk_index], block);
  const LayerState state = context_.layer_state(layer);
  const Mixer& mixer = stages.mixer();
  stages.project_in(layer, block);
  mixer.convolve(layer, state.conv, block);
  mixer.scan_chunk(layer, state.ssm, block);
  mixer.project_out(layer, block);
}

void ChunkedPrefill::build_graph() {
  using Node = tbb::flow::continue_node<tbb::flow::continue_msg>;
  graph_ = std::make_unique<tbb::flow::graph>();
  const int64_t layers = context_.config.n_layer + 1;  // + the final norm and logits
  const auto window = static_cast<int64_t>(blocks_.size());
  auto node = [&](int64_t layer, int64_t chunk_index) -> Node& {
    return *nodes_[layer * window + chunk_index];
  };
  for (int64_t layer = 0; layer < layers; ++layer) {
    for (int64_t chunk_index = 0; chunk_index < window; ++chunk_index) {
      nodes_.push_back(std::make_unique<Node>(
          *graph_, [this, layer, chunk_index](const tbb::flow::continue_msg&) {
            run_node(layer, chunk_index);
          }));
    }
  }
  for (int64_t layer = 0; layer < layers; ++layer) {
    for (int64_t chunk_index = 0; chunk_index < window; ++chunk_index) {
      if (layer > 0) tbb::flow::make_edge(node(layer - 1, chunk_index), node(layer, chunk_index));
      if (chunk_index > 0) {
        tbb::flow::make_edge(node(layer, chunk_index - 1), node(layer, chunk_index));
      }
    }
  }
}

void ChunkedPrefill::run(std::span<const int32_t> tokens, int64_t position, LogitsSink& sink) {
  sink_ = &sink;
  load_window(context_, tokens, position, chunk_, blocks_, block_tokens_);
  const auto window = static_cast<int64_t>(blocks_.size());
  if (context_.threading.threads() == 1) {
    for (int64_t chunk_index = 0; chunk_index < window; ++chunk_index) {
      for (int64_t layer = 0; layer <= context_.config.n_layer; ++layer) {
        run_node(layer, chunk_index);
      }
    }
    return;
  }
  if (ThreadingContext::kTilesOnPlainThreads) {
    // The same nodes anti-diagonal by anti-diagonal: both of a node's predecessors are on the
    // diagonal before it, so this is one valid order of the graph's, with plain threads.
    for (int64_t diagonal = 0; diagonal < context_.config.n_layer + window; ++diagonal) {
      const int64_t first = std::max<int64_t>(0, diagonal - context_.config.n_layer);
      const int64_t last = std::min(window - 1, diagonal);
      context_.threading.for_tiles(last - first + 1, 1, [&](int64_t begin, int64_t) {
        run_node(diagonal - (first + begin), first + begin);
      });
    }
    return;
  }
  if (!graph_) build_graph();  // inside the session's arena, which the graph then runs in
  nodes_.front()->try_put(tbb::flow::continue_msg());
  graph_->wait_for_all();
}

}  // namespace mamba2
