#include "runtime/formats/npz.h"

#include "mamba2/npy.h"
#include "runtime/formats/zip_archive.h"

namespace mamba2 {
namespace {

constexpr uint64_t kMaxMemberBytes = uint64_t{1} << 34;

}  // namespace

CheckpointTensors read_npz(const std::filesystem::path& path) {
  const std::string where = path.string();
  ZipArchive archive(MappedFile::open(path), where);
  CheckpointTensors result;
  for (zip_uint64_t i = 0; i < archive.entry_count(); ++i) {
    const std::string name(archive.entry_name(i));
    if (!name.ends_with(".npy")) throw Error(where, "member '" + name + "' is not a .npy array");
    const zip_stat_t st = archive.stat(i, name);
    if (st.size > kMaxMemberBytes) throw Error(where, "member '" + name + "' is too large");
    NpyArray array = parse_npy(archive.read(i, st.size, name), where + ": " + name);
    auto bytes = std::make_shared<std::vector<float>>(std::move(array.data));
    result.tensors.push_back(CheckpointTensor{name.substr(0, name.size() - 4), DType::kF32,
                                              array.shape, std::as_bytes(std::span(*bytes))});
    result.storage.push_back(std::move(bytes));
  }
  return result;
}

}  // namespace mamba2
