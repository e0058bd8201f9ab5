#include "mamba2/npy.h"

#include <cstring>
#include <regex>
#include <string>

#include "mamba2/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/mapped_file.h"

namespace mamba2 {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr size_t kPreambleSize = 10;  // magic, 2 version bytes, u16 header length

}  // namespace

NpyArray read_npy(const std::filesystem::path& path) {
  return parse_npy(MappedFile::open(path)->bytes(), path.string());
}

NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& where) {
  if (bytes.size() < kPreambleSize || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0) {
    throw Error(where, "not a .npy file (bad magic)");
  }
  if (static_cast<uint8_t>(bytes[6]) != 1) throw Error(where, "only .npy version 1.0 is read");
  const size_t header_size =
      static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
  if (kPreambleSize + header_size > bytes.size()) throw Error(where, "header is truncated");
  const std::string header(reinterpret_cast<const char*>(bytes.data()) + kPreambleSize,
                           header_size);

  static const std::regex kHeader(
      R"(\{\s*'descr':\s*'<f4',\s*'fortran_order':\s*False,\s*'shape':\s*\(([0-9,\s]*)\),?\s*\}\s*)");
  std::smatch match;
  if (!std::regex_match(header, match, kHeader)) {
    throw Error(where, "expected a little-endian float32 C-order array, header is " + header);
  }
  NpyArray array;
  uint64_t numel = 1;
  const std::string dims = match[1];
  static const std::regex kNumber("[0-9]+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), kNumber);
       it != std::sregex_iterator(); ++it) {
    const std::string digits = it->str();
    if (digits.size() > 12) throw Error(where, "dimension " + digits + " is too large");
    const int64_t dim = std::stoll(digits);
    array.shape.push_back(dim);
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dim), &numel)) {
      throw Error(where, "shape overflows");
    }
  }
  const uint64_t data_bytes = bytes.size() - kPreambleSize - header_size;
  if (numel > data_bytes / sizeof(float) || numel * sizeof(float) != data_bytes) {
    throw Error(where, "data size does not match the shape");
  }
  array.data.resize(numel);
  std::memcpy(array.data.data(), bytes.data() + kPreambleSize + header_size, numel * sizeof(float));
  return array;
}

void write_npy(const std::filesystem::path& path, std::span<const int64_t> shape,
               std::span<const float> data) {
  // NumPy's tuple syntax: "()", "(5,)", "(40, 256)".
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t unpadded = kPreambleSize + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';

  AtomicFile out(path);
  out.write(std::string_view(kMagic, kMagicSize));
  const char preamble[4] = {1, 0, static_cast<char>(header.size() & 0xff),
                            static_cast<char>(header.size() >> 8)};
  out.write(std::string_view(preamble, 4));
  out.write(header);
  out.write(std::as_bytes(data));
  out.commit();
}

}  // namespace mamba2
