#include "kernels/ssd.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernels/ssd_simd.h"
#include "kernels/ssd_step_simd.h"
#include "mamba2/npy.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/support/test_paths.h"

namespace mamba2::kernels {
namespace {

using testing::expect_near_scaled;
using testing::for_each_simd_level;
using testing::random_vector;

// One random scan problem: a sequence of `tokens` tokens with strided x and B/C rows, as the
// engine lays them out inside the conv output.
struct Problem {
  SsdShape shape;
  int64_t tokens;
  int64_t ld_x, ld_bc;
  std::vector<float> x, bc, dt, A, D, state0;

  // dt is drawn from [0.001, dt_max]; A from [-16, -1] as Mamba2's initialisation.
  Problem(SsdShape s, int64_t t, uint32_t seed, float dt_max = 0.25f) : shape(s), tokens(t) {
    const int64_t H = s.heads, P = s.headdim, N = s.d_state, G = s.groups;
    ld_x = H * P + 3;
    ld_bc = 2 * G * N + 5;
    x = random_vector(t * ld_x, seed);
    bc = random_vector(t * ld_bc, seed + 1);
    dt = random_vector(t * H, seed + 2, 0.001f, dt_max);
    A = random_vector(H, seed + 3, 0.0f, std::log(16.0f));
    for (float& a : A) a = -std::exp(a);
    D = random_vector(s.d_has_hdim ? H * P : H, seed + 4);
    state0 = random_vector(H * P * N, seed + 5);
  }

  int64_t state_size() const { return shape.heads * shape.headdim * shape.d_state; }
  int64_t width() const { return shape.heads * shape.headdim; }

  // Tokens [begin, begin + count) as a chunk.
  SsdChunk chunk(int64_t begin, int64_t count) const {
    return {.tokens = count,
            .x = x.data() + begin * ld_x,
            .ld_x = ld_x,
            .B = bc.data() + begin * ld_bc,
            .C = bc.data() + begin * ld_bc + shape.groups * shape.d_state,
            .ld_bc = ld_bc,
            .dt = dt.data() + begin * shape.heads,
            .A = A.data(),
            .D = D.data()};
  }
  SsdChunk all() const { return chunk(0, tokens); }
};

// Workspace full of NaN, so any read of a float the kernel did not write first shows up.
std::vector<float> workspace_for(const SsdShape& shape, int64_t tokens) {
  return std::vector<float>(ssd_workspace_floats(shape, tokens),
                            std::numeric_limits<float>::quiet_NaN());
}

struct ChunkResult {
  std::vector<float> y, state;
};

// y and the final state of one chunk through the SIMD pieces at `level`.
ChunkResult run_pieces(SimdLevel level, const Problem& pr, const SsdChunk& chunk,
                       const float* state_in, int64_t h_begin, int64_t h_end) {
  const SsdShape& shape = pr.shape;
  ChunkResult out{std::vector<float>(chunk.tokens * pr.width()),
                  std::vector<float>(pr.state_size())};
  auto workspace = workspace_for(shape, chunk.tokens);
  std::vector<float> local(pr.state_size()), decay(shape.heads);
  dispatch_at(level, SsdChunkOutputKernel{}, shape, chunk, state_in, out.y.data(), pr.width(),
              workspace.data(), h_begin, h_end);
  dispatch_at(level, SsdChunkStateKernel{}, shape, chunk, local.data(), decay.data(),
              workspace.data(), h_begin, h_end);
  if (state_in) {
    dispatch_at(level, SsdStatePassKernel{}, shape, decay.data(), state_in, local.data(),
                out.state.data(), h_begin, h_end);
  } else {
    out.state = local;
  }
  return out;
}

ChunkResult run_recurrent(const Problem& pr, const SsdChunk& chunk, const float* state_in) {
  ChunkResult out{std::vector<float>(chunk.tokens * pr.width()),
                  state_in ? std::vector<float>(state_in, state_in + pr.state_size())
                           : std::vector<float>(pr.state_size(), 0.0f)};
  ref::ssd_recurrent(pr.shape, chunk, out.state.data(), out.y.data(), pr.width());
  return out;
}

// The shapes the chunk tests sweep; every token count meets several of them.
std::vector<SsdShape> sweep_shapes() {
  return {
      {.heads = 4, .headdim = 8, .d_state = 16, .groups = 1, .d_has_hdim = false},
      {.heads = 4, .headdim = 64, .d_state = 24, .groups = 2, .d_has_hdim = true},
      {.heads = 8, .headdim = 8, .d_state = 64, .groups = 4, .d_has_hdim = false},
      {.heads = 2, .headdim = 64, .d_state = 128, .groups = 1, .d_has_hdim = false},
      {.heads = 4, .headdim = 8, .d_state = 128, .groups = 2, .d_has_hdim = true},
      {.heads = 4, .headdim = 64, .d_state = 16, .groups = 4, .d_has_hdim = true},
  };
}

const std::vector<int64_t> kTokenCounts = {1, 2, 3, 7, 16, 33, 64, 100, 256};

TEST(Ssd, ChunkPiecesMatchRecurrence) {
  for_each_simd_level([](SimdLevel level) {
    uint32_t seed = 10;
    for (int64_t tokens : kTokenCounts) {
      for (const SsdShape& shape : sweep_shapes()) {
        SCOPED_TRACE(::testing::Message()
                     << "T=" << tokens << " H=" << shape.heads << " P=" << shape.headdim
                     << " N=" << shape.d_state << " G=" << shape.groups);
        const Problem pr(shape, tokens, seed += 7);
        const ChunkResult expected = run_recurrent(pr, pr.all(), pr.state0.data());
        const ChunkResult actual =
            run_pieces(level, pr, pr.all(), pr.state0.data(), 0, shape.heads);
        expect_near_scaled(actual.y, expected.y, 1e-4f);
        expect_near_scaled(actual.state, expected.state, 1e-4f);

        // No entering state means a zero one.
        const ChunkResult expected0 = run_recurrent(pr, pr.all(), nullptr);
        const ChunkResult actual0 = run_pieces(level, pr, pr.all(), nullptr, 0, shape.heads);
        expect_near_scaled(actual0.y, expected0.y, 1e-4f);
        expect_near_scaled(actual0.state, expected0.state, 1e-4f);
      }
    }
  });
}

// y and the final state of one chunk through the fused scan at `level`, sub-chunks of `sub`
// tokens, the state passed in place (state_out aliasing state_in) when there is one.
ChunkResult run_scan(SimdLevel level, const Problem& pr, const SsdChunk& chunk,
                     const float* state_in, int64_t h_begin, int64_t h_end, int64_t sub) {
  const SsdShape& shape = pr.shape;
  ChunkResult out{std::vector<float>(chunk.tokens * pr.width(), 0.0f),
                  state_in ? std::vector<float>(state_in, state_in + pr.state_size())
                           : std::vector<float>(pr.state_size(), 0.0f)};
  std::vector<float> workspace(SsdScanWorkspaceLayout(shape, chunk.tokens, sub).total,
                               std::numeric_limits<float>::quiet_NaN());
  dispatch_at(level, SsdChunkScanKernel{}, shape, chunk, state_in ? out.state.data() : nullptr,
              out.state.data(), out.y.data(), pr.width(), workspace.data(), h_begin, h_end, sub);
  return out;
}

// The fused scan over ragged token counts (sub-chunks that do not divide them), every shape and
// sub-chunk length, with and without an entering state, against the recurrence.
TEST(Ssd, ChunkScanMatchesRecurrence) {
  for_each_simd_level([](SimdLevel level) {
    uint32_t seed = 40;
    for (int64_t tokens : {1, 2, 7, 33, 64, 65, 129, 257}) {
      for (const SsdShape& shape : sweep_shapes()) {
        for (int64_t sub : {kSsdSubChunk, int64_t{16}, int64_t{7}}) {
          SCOPED_TRACE(::testing::Message() << "T=" << tokens << " sub=" << sub
                                            << " H=" << shape.heads << " P=" << shape.headdim
                                            << " N=" << shape.d_state << " G=" << shape.groups);
          const Problem pr(shape, tokens, seed += 7);
          for (const float* state_in : {pr.state0.data(), static_cast<const float*>(nullptr)}) {
            const ChunkResult expected = run_recurrent(pr, pr.all(), state_in);
            const ChunkResult actual = run_scan(level, pr, pr.all(), state_in, 0, shape.heads, sub);
            expect_near_scaled(actual.y, expected.y, 1e-4f);
            expect_near_scaled(actual.state, expected.state, 1e-4f);
          }
        }
      }
    }
  });
}

// Strongly decaying heads through the scan: flushed decays must not show, nothing overflows.
TEST(Ssd, ChunkScanStrongDecayMatchesRecurrence) {
  for_each_simd_level([](SimdLevel level) {
    const SsdShape shape{.heads = 4, .headdim = 8, .d_state = 32, .groups = 1, .d_has_hdim = true};
    const Problem pr(shape, 300, 56, 8.0f);
    const ChunkResult expected = run_recurrent(pr, pr.all(), pr.state0.data());
    const ChunkResult actual =
        run_scan(level, pr, pr.all(), pr.state0.data(), 0, shape.heads, kSsdSubChunk);
    for (float v : actual.y) ASSERT_TRUE(std::isfinite(v));
    expect_near_scaled(actual.y, expected.y, 1e-4f);
    expect_near_scaled(actual.state, expected.state, 1e-4f);
  });
}

// Any split of the head range gives the scan's bits, and an empty chunk passes the state on.
TEST(Ssd, ChunkScanHeadTilingIsBitIdenticalAndEmptyChunkIsTheIdentity) {
  for_each_simd_level([](SimdLevel level) {
    const SsdShape shape{
        .heads = 8, .headdim = 16, .d_state = 24, .groups = 2, .d_has_hdim = false};
    const Problem pr(shape, 70, 33);
    const int64_t H = shape.heads;
    const ChunkResult whole = run_scan(level, pr, pr.all(), pr.state0.data(), 0, H, 32);
    for (int64_t split : {int64_t{1}, int64_t{3}, H - 1}) {
      const ChunkResult left = run_scan(level, pr, pr.all(), pr.state0.data(), 0, split, 32);
      const ChunkResult right = run_scan(level, pr, pr.all(), pr.state0.data(), split, H, 32);
      const int64_t P = shape.headdim;
      for (int64_t t = 0; t < pr.tokens; ++t) {
        for (int64_t i = 0; i < H * P; ++i) {
          const float tiled = (i < split * P ? left : right).y[t * H * P + i];
          ASSERT_EQ(std::memcmp(&tiled, &whole.y[t * H * P + i], sizeof(float)), 0)
              << "y at token " << t << " channel " << i;
        }
      }
      for (int64_t i = 0; i < pr.state_size(); ++i) {
        const float tiled = (i < split * P * shape.d_state ? left : right).state[i];
        ASSERT_EQ(std::memcmp(&tiled, &whole.state[i], sizeof(float)), 0) << "state " << i;
      }
    }
    std::vector<float> state(pr.state_size(), 5.0f);
    dispatch_at(level, SsdChunkScanKernel{}, shape, pr.chunk(0, 0), pr.state0.data(), state.data(),
                nullptr, pr.width(), nullptr, int64_t{0}, H, kSsdSubChunk);
    EXPECT_EQ(state, pr.state0);
    dispatch_at(level, SsdChunkScanKernel{}, shape, pr.chunk(0, 0), nullptr, state.data(), nullptr,
                pr.width(), nullptr, int64_t{0}, H, kSsdSubChunk);
    EXPECT_EQ(state, std::vector<float>(pr.state_size(), 0.0f));
  });
}

TEST(Ssd, ReferenceChunkPiecesMatchRecurrence) {
  uint32_t seed = 500;
  for (int64_t tokens : {1, 7, 33, 100}) {
    for (const SsdShape& shape : sweep_shapes()) {
      SCOPED_TRACE(::testing::Message() << "T=" << tokens << " N=" << shape.d_state);
      const Problem pr(shape, tokens, seed += 7);
      const ChunkResult expected = run_recurrent(pr, pr.all(), pr.state0.data());
      std::vector<float> y(tokens * pr.width()), local(pr.state_size()), decay(shape.heads);
      ref::ssd_chunk_output(shape, pr.all(), pr.state0.data(), y.data(), pr.width(), 0,
                            shape.heads);
      ref::ssd_chunk_state(shape, pr.all(), local.data(), decay.data(), 0, shape.heads);
      std::vector<float> state(pr.state_size());
      ssd_state_pass(shape, decay.data(), pr.state0.data(), local.data(), state.data(), 0,
                     shape.heads);
      expect_near_scaled(y, expected.y, 1e-4f);
      expect_near_scaled(state, expected.state, 1e-4f);
    }
  }
}

// Runs the whole problem in chunks of chunk_size, passing the state, and compares y and the
// final state with one recurrence over all tokens.
void expect_chunked_equals_recurrence(SimdLevel level, const Problem& pr, int64_t chunk_size) {
  SCOPED_TRACE(::testing::Message() << "chunk " << chunk_size << " of " << pr.tokens);
  const ChunkResult expected = run_recurrent(pr, pr.all(), pr.state0.data());
  std::vector<float> y(pr.tokens * pr.width());
  std::vector<float> state = pr.state0;
  for (int64_t begin = 0; begin < pr.tokens; begin += chunk_size) {
    const int64_t count = std::min(chunk_size, pr.tokens - begin);
    const ChunkResult part =
        run_pieces(level, pr, pr.chunk(begin, count), state.data(), 0, pr.shape.heads);
    std::copy(part.y.begin(), part.y.end(), y.begin() + begin * pr.width());
    state = part.state;
  }
  for (float v : y) ASSERT_TRUE(std::isfinite(v));
  expect_near_scaled(y, expected.y, 1e-4f);
  expect_near_scaled(state, expected.state, 1e-4f);
}

TEST(Ssd, ChunkedSequenceEqualsOneRecurrence) {
  for_each_simd_level([](SimdLevel level) {
    const SsdShape shape{
        .heads = 4, .headdim = 16, .d_state = 24, .groups = 2, .d_has_hdim = false};
    const Problem pr(shape, 150, 77);
    for (int64_t chunk_size : {1, 7, 16, 33, 64, 256}) {
      expect_chunked_equals_recurrence(level, pr, chunk_size);
    }
    const Problem long_sequence(shape, 700, 78);
    for (int64_t chunk_size : {100, 256}) {
      expect_chunked_equals_recurrence(level, long_sequence, chunk_size);
    }
  });
}

// Large steps decay the state by exp(-100) and more within a chunk: the flushed tiny decays
// must not show, and nothing may overflow.
TEST(Ssd, StrongDecayMatchesRecurrence) {
  for_each_simd_level([](SimdLevel level) {
    const SsdShape shape{.heads = 4, .headdim = 8, .d_state = 32, .groups = 1, .d_has_hdim = true};
    const Problem pr(shape, 300, 55, 8.0f);
    for (int64_t chunk_size : {16, 64, 256})
      expect_chunked_equals_recurrence(level, pr, chunk_size);
  });
}

// The state update over a chunk is the affine map S -> a S + b (a per head), and composing
// (a1, b1) then (a2, b2) gives (a1 a2, a2 b1 + b2): combining eight chunks as a tree must give
// the same final state as passing the state along chunk by chunk.
TEST(Ssd, AssociativeTreeOverEightChunksEqualsSequentialPassing) {
  const SsdShape shape{.heads = 4, .headdim = 8, .d_state = 16, .groups = 1, .d_has_hdim = true};
  const std::vector<int64_t> lengths = {5, 16, 1, 33, 7, 16, 2, 20};
  int64_t total = 0;
  for (int64_t length : lengths) total += length;
  const Problem pr(shape, total, 99);
  const int64_t H = shape.heads;

  struct Affine {
    std::vector<float> a, b;  // [H], [H, P, N]
  };
  std::vector<Affine> pieces;
  int64_t begin = 0;
  for (int64_t length : lengths) {
    Affine piece{std::vector<float>(H), std::vector<float>(pr.state_size())};
    auto workspace = workspace_for(shape, length);
    ssd_chunk_state(shape, pr.chunk(begin, length), piece.b.data(), piece.a.data(),
                    workspace.data(), 0, H);
    pieces.push_back(piece);
    begin += length;
  }

  std::vector<float> sequential = pr.state0;
  for (const Affine& piece : pieces) {
    ssd_state_pass(shape, piece.a.data(), sequential.data(), piece.b.data(), sequential.data(), 0,
                   H);
  }

  std::vector<Affine> level = pieces;
  while (level.size() > 1) {
    std::vector<Affine> next;
    for (size_t i = 0; i + 1 < level.size(); i += 2) {
      const Affine &first = level[i], &second = level[i + 1];
      Affine combined{std::vector<float>(H), std::vector<float>(pr.state_size())};
      for (int64_t h = 0; h < H; ++h) combined.a[h] = first.a[h] * second.a[h];
      ssd_state_pass(shape, second.a.data(), first.b.data(), second.b.data(), combined.b.data(), 0,
                     H);
      next.push_back(combined);
    }
    level = next;
  }
  std::vector<float> tree(pr.state_size());
  ssd_state_pass(shape, level[0].a.data(), pr.state0.data(), level[0].b.data(), tree.data(), 0, H);

  expect_near_scaled(tree, sequential, 1e-5f);
  expect_near_scaled(tree, run_recurrent(pr, pr.all(), pr.state0.data()).state, 1e-4f);
}

TEST(Ssd, EmptyChunkIsTheIdentity) {
  for_each_simd_level([](SimdLevel level) {
    const SsdShape shape = sweep_shapes()[1];
    const Problem pr(shape, 1, 3);
    std::vector<float> local(pr.state_size(), 5.0f), decay(shape.heads, 5.0f);
    std::vector<float> y(pr.width(), 7.0f);
    auto workspace = workspace_for(shape, 1);
    dispatch_at(level, SsdChunkStateKernel{}, shape, pr.chunk(0, 0), local.data(), decay.data(),
                workspace.data(), int64_t{0}, shape.heads);
    dispatch_at(level, SsdChunkOutputKernel{}, shape, pr.chunk(0, 0), pr.state0.data(), y.data(),
                pr.width(), workspace.data(), int64_t{0}, shape.heads);
    EXPECT_EQ(local, std::vector<float>(pr.state_size(), 0.0f));
    EXPECT_EQ(decay, std::vector<float>(shape.heads, 1.0f));
    EXPECT_EQ(y, std::vector<float>(pr.width(), 7.0f));
  });
}

TEST(Ssd, StepMatchesRecurrence) {
  for_each_simd_level([](SimdLevel level) {
    uint32_t seed = 1000;
    for (const SsdShape& shape : sweep_shapes()) {
      SCOPED_TRACE(::testing::Message() << "N=" << shape.d_state << " P=" << shape.headdim);
      const Problem pr(shape, 5, seed += 7);
      std::vector<float> expected_state = pr.state0, actual_state = pr.state0;
      for (int64_t t = 0; t < pr.tokens; ++t) {
        const SsdChunk token = pr.chunk(t, 1);
        std::vector<float> expected_y(pr.width()), actual_y(pr.width());
        ref::ssd_recurrent(shape, token, expected_state.data(), expected_y.data(), pr.width());
        dispatch_at(level, SsdStepKernel{}, shape, token.x, token.B, token.C, token.dt, token.A,
                    token.D, actual_state.data(), actual_y.data(), 0, shape.heads);
        expect_near_scaled(actual_y, expected_y, 1e-5f);
        expect_near_scaled(actual_state, expected_state, 1e-5f);
      }
    }
  });
}

TEST(Ssd, ReferenceStepIsOneTokenOfTheRecurrence) {
  const SsdShape shape = sweep_shapes()[1];
  const Problem pr(shape, 1, 5);
  std::vector<float> expected_state = pr.state0, actual_state = pr.state0;
  std::vector<float> expected_y(pr.width()), actual_y(pr.width());
  ref::ssd_recurrent(shape, pr.all(), expected_state.data(), expected_y.data(), pr.width());
  const SsdChunk c = pr.all();
  ref::ssd_step(shape, c.x, c.B, c.C, c.dt, c.A, c.D, actual_state.data(), actual_y.data(), 0,
                shape.heads);
  EXPECT_EQ(actual_y, expected_y);
  EXPECT_EQ(actual_state, expected_state);
}

// The engine tiles heads across threads: any split of the head range must give the same bits.
TEST(Ssd, HeadRangeTilingIsBitIdentical) {
  for_each_simd_level([](SimdLevel level) {
    for (const SsdShape& shape :
         {SsdShape{.heads = 8, .headdim = 16, .d_state = 24, .groups = 2, .d_has_hdim = false},
          SsdShape{.heads = 6, .headdim = 64, .d_state = 128, .groups = 1, .d_has_hdim = true}}) {
      for (int64_t tokens : {1, 33, 64}) {
        SCOPED_TRACE(::testing::Message() << "H=" << shape.heads << " T=" << tokens);
        const Problem pr(shape, tokens, 31);
        const int64_t H = shape.heads;
        const ChunkResult whole = run_pieces(level, pr, pr.all(), pr.state0.data(), 0, H);
        for (int64_t split : {int64_t{1}, int64_t{3}, H - 1}) {
          const ChunkResult left = run_pieces(level, pr, pr.all(), pr.state0.data(), 0, split);
          const ChunkResult right = run_pieces(level, pr, pr.all(), pr.state0.data(), split, H);
          const int64_t P = shape.headdim, state_split = split * P * shape.d_state;
          for (int64_t t = 0; t < tokens; ++t) {
            for (int64_t i = 0; i < H * P; ++i) {
              const float tiled = (i < split * P ? left : right).y[t * H * P + i];
              ASSERT_EQ(std::memcmp(&tiled, &whole.y[t * H * P + i], sizeof(float)), 0)
                  << "y at token " << t << " channel " << i;
            }
          }
          for (int64_t i = 0; i < pr.state_size(); ++i) {
            const float tiled = (i < state_split ? left : right).state[i];
            ASSERT_EQ(std::memcmp(&tiled, &whole.state[i], sizeof(float)), 0) << "state " << i;
          }
        }

        // The decode step, split the same way.
        const SsdChunk token = pr.chunk(0, 1);
        std::vector<float> whole_state = pr.state0, tiled_state = pr.state0;
        std::vector<float> whole_y(pr.width()), tiled_y(pr.width());
        dispatch_at(level, SsdStepKernel{}, shape, token.x, token.B, token.C, token.dt, token.A,
                    token.D, whole_state.data(), whole_y.data(), 0, H);
        dispatch_at(level, SsdStepKernel{}, shape, token.x, token.B, token.C, token.dt, token.A,
                    token.D, tiled_state.data(), tiled_y.data(), 0, 3);
        dispatch_at(level, SsdStepKernel{}, shape, token.x, token.B, token.C, token.dt, token.A,
                    token.D, tiled_state.data(), tiled_y.data(), 3, H);
        EXPECT_EQ(std::memcmp(whole_y.data(), tiled_y.data(), whole_y.size() * sizeof(float)), 0);
        EXPECT_EQ(
            std::memcmp(whole_state.data(), tiled_state.data(), whole_state.size() * sizeof(float)),
            0);
      }
    }
  });
}

// A model tensor from a safetensors file (F32 only), enough for the fixture check.
std::vector<float> read_safetensors_f32(const std::filesystem::path& path,
                                        const std::string& name) {
  std::ifstream file(path, std::ios::binary);
  uint64_t header_size = 0;
  file.read(reinterpret_cast<char*>(&header_size), sizeof(header_size));
  const auto file_size = std::filesystem::file_size(path);
  if (!file || header_size > file_size - 8) throw std::runtime_error("bad safetensors header");
  std::string header(header_size, '\0');
  file.read(header.data(), static_cast<std::streamsize>(header_size));
  const auto entry = nlohmann::json::parse(header).at(name);
  if (entry.at("dtype") != "F32") throw std::runtime_error(name + " is not F32");
  const uint64_t begin = entry.at("data_offsets")[0], end = entry.at("data_offsets")[1];
  if (end < begin || (end - begin) % 4 != 0 || 8 + header_size + end > file_size) {
    throw std::runtime_error(name + " has bad offsets");
  }
  std::vector<float> values((end - begin) / 4);
  file.seekg(static_cast<std::streamoff>(8 + header_size + begin));
  file.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(end - begin));
  if (!file) throw std::runtime_error(name + " is truncated");
  return values;
}

// The tiny fixture's layer 0: the scan of the traced conv output and dt reproduces y_ssm.
class SsdFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto dir = mamba2::testing::fixture_dir("tiny");
    xbc = read_npy(dir / "trace" / "layer0_xBC_conv_silu.npy");
    dt = read_npy(dir / "trace" / "layer0_dt.npy");
    y_ssm = read_npy(dir / "trace" / "layer0_y_ssm.npy");
    A = read_safetensors_f32(dir / "model.safetensors", "backbone.layers.0.mixer.A_log");
    for (float& a : A) a = -std::exp(a);
    D = read_safetensors_f32(dir / "model.safetensors", "backbone.layers.0.mixer.D");
    ASSERT_EQ(xbc.shape, (std::vector<int64_t>{40, 160}));
    ASSERT_EQ(dt.shape, (std::vector<int64_t>{40, 8}));
    ASSERT_EQ(y_ssm.shape, (std::vector<int64_t>{40, 128}));
    ASSERT_EQ(A.size(), 8u);
    ASSERT_EQ(D.size(), 8u);
  }

  SsdChunk chunk(int64_t begin, int64_t count) const {
    const int64_t ld = 160;
    const float* row = xbc.data.data() + begin * ld;
    return {.tokens = count,
            .x = row,
            .ld_x = ld,
            .B = row + 128,
            .C = row + 144,
            .ld_bc = ld,
            .dt = dt.data.data() + begin * 8,
            .A = A.data(),
            .D = D.data()};
  }

  const SsdShape shape{.heads = 8, .headdim = 16, .d_state = 16, .groups = 1, .d_has_hdim = false};
  const int64_t tokens = 40, width = 128;
  NpyArray xbc, dt, y_ssm;
  std::vector<float> A, D;
};

TEST_F(SsdFixture, ChunkedScanReproducesTrace) {
  for (int64_t chunk_size : {16, 7}) {
    SCOPED_TRACE(chunk_size);
    std::vector<float> y(tokens * width), state(8 * 16 * 16, 0.0f);
    std::vector<float> local(state.size()), decay(8);
    auto workspace = workspace_for(shape, chunk_size);
    for (int64_t begin = 0; begin < tokens; begin += chunk_size) {
      const SsdChunk c = chunk(begin, std::min(chunk_size, tokens - begin));
      ssd_chunk_output(shape, c, state.data(), y.data() + begin * width, width, workspace.data(), 0,
                       8);
      ssd_chunk_state(shape, c, local.data(), decay.data(), workspace.data(), 0, 8);
      ssd_state_pass(shape, decay.data(), state.data(), local.data(), state.data(), 0, 8);
    }
    testing::expect_close(y, y_ssm.data, 1e-4f, 1e-4f);
  }
}

TEST_F(SsdFixture, StepAndRecurrenceReproduceTrace) {
  std::vector<float> y(tokens * width), state(8 * 16 * 16, 0.0f);
  for (int64_t t = 0; t < tokens; ++t) {
    const SsdChunk c = chunk(t, 1);
    ssd_step(shape, c.x, c.B, c.C, c.dt, c.A, c.D, state.data(), y.data() + t * width, 0, 8);
  }
  testing::expect_close(y, y_ssm.data, 1e-4f, 1e-4f);

  std::vector<float> y_ref(tokens * width), state_ref(8 * 16 * 16, 0.0f);
  ref::ssd_recurrent(shape, chunk(0, tokens), state_ref.data(), y_ref.data(), width);
  testing::expect_close(y_ref, y_ssm.data, 1e-4f, 1e-4f);
}

// The engine sizes one workspace for its largest chunk and reuses it for shorter ones.
TEST(Ssd, WorkspaceForAChunkSufficesForEveryShorterOne) {
  for (const SsdShape& shape : sweep_shapes()) {
    int64_t previous = 0, previous_scan = 0;
    for (int64_t tokens = 1; tokens <= 300; ++tokens) {
      const int64_t floats = ssd_workspace_floats(shape, tokens);
      ASSERT_GE(floats, previous) << "T=" << tokens;
      ASSERT_GE(floats, 2 * tokens * tokens) << "T=" << tokens;
      previous = floats;
      const int64_t scan_floats = ssd_scan_workspace_floats(shape, tokens);
      ASSERT_GE(scan_floats, previous_scan) << "T=" << tokens;
      previous_scan = scan_floats;
    }
  }
  // A short chunk run inside a workspace sized for a long one.
  const SsdShape shape = sweep_shapes()[2];
  const Problem pr(shape, 20, 8);
  auto workspace = workspace_for(shape, 256);
  std::vector<float> y(pr.tokens * pr.width());
  ssd_chunk_output(shape, pr.all(), pr.state0.data(), y.data(), pr.width(), workspace.data(), 0,
                   shape.heads);
  expect_near_scaled(y, run_recurrent(pr, pr.all(), pr.state0.data()).y, 1e-4f);
}

}  // namespace
}  // namespace mamba2::kernels
