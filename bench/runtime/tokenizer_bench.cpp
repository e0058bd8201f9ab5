// Tokenizer speed: loading tokenizer.json, encoding English prose, streaming decode.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mamba2/tokenizer.h"

namespace {

std::filesystem::path data_dir() {
  const char* shared = std::getenv("MAMBA2_SHARED_DIR");
  return std::filesystem::path(shared ? shared : MAMBA2_SHARED_DIR) / "data";
}

std::filesystem::path tokenizer_path() { return data_dir() / "gpt-neox-20b-tokenizer.json"; }

const mamba2::Tokenizer& tokenizer() {
  static const mamba2::Tokenizer loaded(mamba2::load_tokenizer_json(tokenizer_path()));
  return loaded;
}

const std::string& corpus() {
  static const std::string text = [] {
    std::ifstream in(data_dir() / "corpus/tinystories/tinystories-hf-validation-head.txt",
                     std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }();
  return text;
}

void BM_LoadTokenizerJson(benchmark::State& state) {
  for (auto _ : state) {
    mamba2::Tokenizer loaded(mamba2::load_tokenizer_json(tokenizer_path()));
    benchmark::DoNotOptimize(loaded.size());
  }
}
BENCHMARK(BM_LoadTokenizerJson)->Unit(benchmark::kMillisecond);

void BM_EncodeTinyStories(benchmark::State& state) {
  const std::string& text = corpus();
  size_t tokens = 0;
  for (auto _ : state) tokens = tokenizer().encode(text).size();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_EncodeTinyStories)->Unit(benchmark::kMillisecond);

void BM_StreamDecodeTinyStories(benchmark::State& state) {
  const std::vector<int32_t> ids = tokenizer().encode(corpus());
  for (auto _ : state) {
    mamba2::TokenStreamDecoder decoder(tokenizer());
    size_t bytes = 0;
    for (const int32_t id : ids) bytes += decoder.push(id).size();
    benchmark::DoNotOptimize(bytes += decoder.flush().size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}
BENCHMARK(BM_StreamDecodeTinyStories)->Unit(benchmark::kMillisecond);

}  // namespace
