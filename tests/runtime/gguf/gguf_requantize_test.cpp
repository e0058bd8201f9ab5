// requantize_gguf against llama-quantize's own files: from the same f32 file, every type must give
// the same file, byte for byte (fixtures/llamacpp_quants for Mamba-2 with rows of whole 256-weight
// blocks, fixtures/llamacpp_mamba1 for Mamba-1, whose rows of 64, 128 and 4 take every fallback).
// On a mismatch the message names the first differing key, tensor or byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "mamba2/error.h"
#include "mamba2/gguf.h"
#include "mamba2/quantization.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/support/file_bytes.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

namespace fs = std::filesystem;

fs::path qtest(const std::string& type) {
  return testing::fixture_dir("llamacpp_quants") / ("mamba2-qtest-" + type + ".gguf");
}

fs::path m1_tiny(const std::string& type) {
  return testing::fixture_dir("llamacpp_mamba1") / ("m1_tiny-" + type + ".gguf");
}

// The first place two GGUF files differ, in words; empty when they are the same bytes.
std::string first_difference(const fs::path& ours, const fs::path& expected) {
  const std::string a = testing::read_bytes(ours), b = testing::read_bytes(expected);
  if (a == b) return "";
  const size_t offset =
      std::mismatch(a.begin(), a.begin() + std::min(a.size(), b.size()), b.begin()).first -
      a.begin();
  std::string where = "sizes " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) +
                      ", first differing byte at offset " + std::to_string(offset);
  const GgufFile x = GgufFile::open(ours), y = GgufFile::open(expected);
  const auto& kx = x.metadata();
  const auto& ky = y.metadata();
  for (size_t i = 0; i < std::max(kx.size(), ky.size()); ++i) {
    if (i >= kx.size() || i >= ky.size() || kx[i].first != ky[i].first ||
        kx[i].second.type != ky[i].second.type) {
      return where + "; key " + std::to_string(i) + ": '" +
             (i < kx.size() ? kx[i].first : "(none)") + "' vs '" +
             (i < ky.size() ? ky[i].first : "(none)") + "'";
    }
  }
  const auto& tx = x.tensors();
  const auto& ty = y.tensors();
  for (size_t i = 0; i < std::max(tx.size(), ty.size()); ++i) {
    if (i >= tx.size() || i >= ty.size()) return where + "; tensor count differs";
    if (tx[i].name != ty[i].name || tx[i].dtype != ty[i].dtype || !(tx[i].shape == ty[i].shape)) {
      return where + "; tensor " + std::to_string(i) + ": '" + tx[i].name + "' " +
             std::string(dtype_name(tx[i].dtype)) + " " + tx[i].shape.str() + " vs '" + ty[i].name +
             "' " + std::string(dtype_name(ty[i].dtype)) + " " + ty[i].shape.str();
    }
    if (offset >= ty[i].offset && offset < ty[i].offset + ty[i].nbytes) {
      return where + "; in the data of tensor '" + ty[i].name + "' at its byte " +
             std::to_string(offset - ty[i].offset);
    }
  }
  return where + (offset < y.data_offset() ? " (in the metadata values or tensor table)" : "");
}

QuantizationPolicy policy_for(const std::string& name) {
  const auto file_type = llama_file_type_from_name(name);
  if (!file_type) throw Error(name, "not a llama-quantize type");
  return QuantizationPolicy::for_llama_file_type(*file_type);
}

fs::path requantize(const fs::path& input, const std::string& type) {
  const fs::path output = testing::scratch_dir() / ("out-" + type + ".gguf");
  GgufWriteOptions options;
  options.quantization = policy_for(type);
  requantize_gguf(input, output, options);
  return output;
}

// Rows quantized in tiles on several threads (mamba2-quantize -t): the same file as on one, and
// as llama-quantize's, the fixture's ssm_in (1160 x 256) cut into 19 tiles of 64 rows.
TEST(RequantizeThreads, ThreeThreadsWriteTheBytesOfOne) {
  for (const char* type : {"Q4_K_M", "Q2_K", "IQ4_XS"}) {
    SCOPED_TRACE(type);
    GgufWriteOptions options;
    options.quantization = policy_for(type);
    options.threading = ThreadingContext(3);
    const fs::path output = testing::scratch_dir() / (std::string("threads-") + type + ".gguf");
    requantize_gguf(qtest("F32"), output, options);
    EXPECT_EQ(first_difference(output, requantize(qtest("F32"), type)), "");
    EXPECT_EQ(first_difference(output, qtest(type)), "");  // and llama-quantize's
  }
}

class LlamaQuantizeFile : public ::testing::TestWithParam<const char*> {};

// `llama-quantize mamba2-qtest-F32.gguf mamba2-qtest-<TYPE>.gguf <TYPE>`.
TEST_P(LlamaQuantizeFile, Mamba2SameFileAsLlamaQuantize) {
  const fs::path output = requantize(qtest("F32"), GetParam());
  EXPECT_EQ(first_difference(output, qtest(GetParam())), "");
}

INSTANTIATE_TEST_SUITE_P(Types, LlamaQuantizeFile,
                         ::testing::Values("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M",
                                           "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ4_NL",
                                           "IQ4_XS", "BF16", "F16"));

// The fixture's own llama-quantize output: ssm_in, ssm_x, ssm_out Q5_0, ssm_dt.weight F16, the
// tied token_embd Q8_0.
TEST(LlamaQuantizeMamba1, Q4_K_MSameFileAsLlamaQuantize) {
  const fs::path output = requantize(m1_tiny("F32"), "Q4_K_M");
  EXPECT_EQ(first_difference(output, m1_tiny("Q4_K_M")), "");
}

// 64-bit FNV-1a of a file's bytes.
uint64_t fnv1a(const std::string& bytes) {
  uint64_t hash = 0xcbf29ce484222325u;
  for (const char c : bytes) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3u;
  }
  return hash;
}

struct Mamba1Case {
  const char* type;
  uint64_t fnv1a;  // of llama-quantize's output
  uint64_t size;
  DType projection;  // what llama-quantize wrote for ssm_in, ssm_x and ssm_out (rows 64, 128)
};

class LlamaQuantizeMamba1Rows : public ::testing::TestWithParam<Mamba1Case> {};

// The hashes are of `llama-quantize m1_tiny-F32.gguf OUT TYPE 2` (llama.cpp 34af94c, this
// machine, December 2026). Every 256-weight type falls back on these rows: ssm_dt.weight (rows of
// 4) to F16, token_embd (tied, rows of 64) to Q8_0, the projections as listed.
TEST_P(LlamaQuantizeMamba1Rows, SameBytesAsLlamaQuantize) {
  const Mamba1Case c = GetParam();
  const fs::path output = requantize(m1_tiny("F32"), c.type);
  const GgufFile file = GgufFile::open(output);
  EXPECT_EQ(file.find_tensor("blk.1.ssm_in.weight")->dtype, c.projection);
  EXPECT_EQ(file.find_tensor("blk.1.ssm_x.weight")->dtype, c.projection);
  EXPECT_EQ(file.find_tensor("blk.0.ssm_out.weight")->dtype, c.projection);
  const bool plain =
      c.projection == DType::kF32 || c.projection == DType::kF16 || c.projection == DType::kBF16;
  EXPECT_EQ(file.find_tensor("blk.0.ssm_dt.weight")->dtype, plain ? c.projection : DType::kF16);
  EXPECT_EQ(file.find_tensor("token_embd.weight")->dtype, plain ? c.projection : DType::kQ8_0);
  const std::string bytes = testing::read_bytes(output);
  EXPECT_EQ(bytes.size(), c.size);
  EXPECT_EQ(fnv1a(bytes), c.fnv1a);
}

INSTANTIATE_TEST_SUITE_P(
    Types, LlamaQuantizeMamba1Rows,
    ::testing::Values(Mamba1Case{"Q2_K", 0xdd6d02e93d3c96e5u, 889056u, DType::kQ4_0},
                      Mamba1Case{"Q3_K_S", 0x135aa13d6b8dfc68u, 889056u, DType::kQ4_0},
                      Mamba1Case{"Q3_K_M", 0xd1c03151127ff17fu, 889056u, DType::kQ4_0},
                      Mamba1Case{"Q3_K_L", 0x14dd751b643a140au, 889056u, DType::kQ4_0},
                      Mamba1Case{"Q4_K_S", 0x4a06bd5423283c81u, 896352u, DType::kQ5_0},
                      Mamba1Case{"Q4_K_M", 0xb7cd9c81849f1c50u, 896352u, DType::kQ5_0},
                      Mamba1Case{"Q5_K_S", 0x59def641b3461efdu, 900000u, DType::kQ5_1},
                      Mamba1Case{"Q5_K_M", 0x9e10207913085e7cu, 900000u, DType::kQ5_1},
                      Mamba1Case{"Q6_K", 0xbb4f94f44a1ed8a7u, 918240u, DType::kQ8_0},
                      Mamba1Case{"IQ4_XS", 0x09515d188836c475u, 889056u, DType::kIQ4_NL},
                      Mamba1Case{"BF16", 0x71f5250b4e904643u, 988320u, DType::kBF16},
                      Mamba1Case{"F16", 0x4201b0dfd82911fcu, 988320u, DType::kF16},
                      Mamba1Case{"F32", 0xf2e8c77910a3161fu, 1139872u, DType::kF32}));

// llama-quantize refuses Q8_0, Q4_0, ... for this model ("no tensor type fallback is defined for
// type q8_0": ssm_dt.weight has rows of 4); we write that tensor F16, as llama.cpp's converter
// does.
TEST(LlamaQuantizeMamba1, TypesLlamaQuantizeRefusesWriteF16Rows) {
  for (const char* type : {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL"}) {
    const GgufFile file = GgufFile::open(requantize(m1_tiny("F32"), type));
    const DType asked = policy_for(type).type;
    EXPECT_EQ(file.find_tensor("blk.0.ssm_dt.weight")->dtype, DType::kF16) << type;
    EXPECT_EQ(file.find_tensor("blk.0.ssm_in.weight")->dtype, asked) << type;
    // The tied embedding: Q6_K does not fit rows of 64, so Q8_0 (Q8_0 files: Q8_0 anyway).
    EXPECT_EQ(file.find_tensor("token_embd.weight")->dtype, DType::kQ8_0) << type;
  }
}

// From an already quantized file (llama-quantize --allow-requantize IN OUT TYPE, llama.cpp
// 34af94c, this machine): dequantized exactly to f32 / bf16, or quantized again from the
// dequantized weights. The hashes are of llama-quantize's outputs.
TEST(Requantize, QuantizedInputsGiveLlamaQuantizesAllowRequantizeFile) {
  const struct {
    const char* from;
    const char* to;
    uint64_t fnv1a;
    uint64_t size;
  } cases[] = {{"Q4_K_M", "F32", 0x877fb8d4cdffa617u, 4507680u},
               {"IQ4_XS", "BF16", 0x7024657706d34a28u, 2271264u},
               {"Q8_0", "Q4_0", 0x4ac65a2948bd7b63u, 731424u},
               {"Q6_K", "Q4_K_M", 0xb6e04d79bddf7c3bu, 731424u}};
  for (const auto& c : cases) {
    const std::string bytes = testing::read_bytes(requantize(qtest(c.from), c.to));
    EXPECT_EQ(bytes.size(), c.size) << c.from << " -> " << c.to;
    EXPECT_EQ(fnv1a(bytes), c.fnv1a) << c.from << " -> " << c.to;
  }
}

// Requantizing llama-quantize's own output changes nothing but what the new type asks for: a
// Q4_K_M file rewritten as Q4_K_M is the same file (every tensor already has its type).
TEST(Requantize, OwnOutputIsAFixedPoint) {
  const fs::path once = requantize(qtest("Q4_K_M"), "Q4_K_M");
  EXPECT_EQ(first_difference(once, qtest("Q4_K_M")), "");
}

TEST(Requantize, RefusesWhatIsNotAModelWithOneLine) {
  const fs::path dir = testing::scratch_dir();
  const std::string good = testing::read_bytes(qtest("Q8_0"));
  testing::write_bytes(dir / "truncated.gguf", good.substr(0, good.size() / 3));
  testing::write_bytes(dir / "text.gguf", "not a gguf file");
  for (const char* name : {"truncated.gguf", "text.gguf", "missing.gguf"}) {
    const fs::path output = dir / (std::string(name) + ".out");
    GgufWriteOptions options;
    options.quantization = policy_for("Q4_0");
    try {
      requantize_gguf(dir / name, output, options);
      ADD_FAILURE() << name << " was accepted";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(name), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
    EXPECT_FALSE(fs::exists(output)) << name;
  }
}

// Damaged headers (the keys and the tensor table): one Error each, or a file that loads.
TEST(Requantize, DamagedHeadersGiveAnErrorOrALoadableFile) {
  const fs::path dir = testing::scratch_dir();
  const std::string good = testing::read_bytes(m1_tiny("F32"));
  const auto header = static_cast<size_t>(GgufFile::open(m1_tiny("F32")).data_offset());
  GgufWriteOptions options;
  options.quantization = policy_for("Q4_K_M");
  int refused = 0, written = 0;
  for (size_t i = 0; i < 120; ++i) {
    std::string bad = good;
    const size_t at = (i * 7919) % header;
    bad[at] = static_cast<char>(bad[at] ^ (1 << (i % 8)));
    testing::write_bytes(dir / "bad.gguf", bad);
    try {
      requantize_gguf(dir / "bad.gguf", dir / "bad-out.gguf", options);
    } catch (const Error& error) {
      EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos);
      ++refused;
      continue;
    }
    ++written;
    EXPECT_NO_THROW(load_gguf_model(dir / "bad-out.gguf")) << "flip at byte " << at;
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(written, 0);
}

}  // namespace
}  // namespace mamba2
