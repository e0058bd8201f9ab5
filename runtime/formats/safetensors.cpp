#include "runtime/formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "mamba2/error.h"
#include "runtime/io/mapped_file.h"

namespace mamba2 {
namespace {

using json = nlohmann::json;

// The safetensors format caps the header at 100 MB; anything larger is not a real file.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
constexpr size_t kMaxRank = 8;

std::optional<DType> dtype_from_safetensors(const std::string& name) {
  if (name == "F32") return DType::kF32;
  if (name == "F16") return DType::kF16;
  if (name == "BF16") return DType::kBF16;
  return std::nullopt;
}

// One header entry, checked against the data section of `data_bytes` bytes.
CheckpointTensor read_entry(const std::string& where, const std::string& name, const json& entry,
                            std::span<const std::byte> data) {
  const auto fail = [&](const std::string& why) -> Error {
    return Error(where, "tensor '" + name + "' " + why);
  };
  if (!entry.is_object()) throw fail("has a header entry that is not an object");
  const auto dtype_it = entry.find("dtype");
  const auto shape_it = entry.find("shape");
  const auto offsets_it = entry.find("data_offsets");
  if (dtype_it == entry.end() || !dtype_it->is_string()) throw fail("has no dtype");
  if (shape_it == entry.end() || !shape_it->is_array()) throw fail("has no shape");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
      !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned()) {
    throw fail("has no data_offsets [begin, end]");
  }

  const auto& dtype_name = dtype_it->get_ref<const std::string&>();
  const auto dtype = dtype_from_safetensors(dtype_name);
  if (!dtype) throw fail("has dtype " + dtype_name + "; only F32, F16 and BF16 are supported");

  CheckpointTensor tensor{name, *dtype, {}, {}};
  if (shape_it->size() > kMaxRank) throw fail("has too many dimensions");
  int64_t numel = 1;
  for (const json& dim : *shape_it) {
    if (!dim.is_number_unsigned()) throw fail("has a shape that is not a list of sizes");
    const auto size = dim.get<uint64_t>();
    if (size > static_cast<uint64_t>(INT64_MAX) ||
        __builtin_mul_overflow(numel, static_cast<int64_t>(size), &numel)) {
      throw fail("has a shape whose size overflows");
    }
    tensor.shape.push_back(static_cast<int64_t>(size));
  }
  const auto nbytes = dtype_bytes(*dtype, numel);
  if (!nbytes) throw fail("has a shape whose size overflows");

  const auto begin = (*offsets_it)[0].get<uint64_t>();
  const auto end = (*offsets_it)[1].get<uint64_t>();
  // (Built with append: GCC 12 warns falsely about "literal" + std::string.)
  std::string range = "[";
  range.append(std::to_string(begin)).append(", ").append(std::to_string(end)).append(")");
  if (begin > end) throw fail("has data_offsets " + range + " that end before they begin");
  if (end > data.size()) {
    throw fail("has data_offsets " + range + " beyond the end of the file (the data section has " +
               std::to_string(data.size()) + " bytes)");
  }
  if (end - begin != *nbytes) {
    throw fail("has data_offsets " + range + " holding " + std::to_string(end - begin) +
               " bytes, but " + dtype_name + " " + std::to_string(numel) + " elements take " +
               std::to_string(*nbytes));
  }
  tensor.bytes = data.subspan(begin, end - begin);
  return tensor;
}

// Tensors must not share bytes: a crafted file could otherwise alias one weight with another.
void check_no_overlap(const std::string& where, std::vector<CheckpointTensor>& tensors) {
  std::vector<const CheckpointTensor*> order;
  for (const auto& tensor : tensors) {
    if (!tensor.bytes.empty()) order.push_back(&tensor);
  }
  std::sort(order.begin(), order.end(),
            [](const auto* a, const auto* b) { return a->bytes.data() < b->bytes.data(); });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto& previous = *order[i - 1];
    if (order[i]->bytes.data() < previous.bytes.data() + previous.bytes.size()) {
      throw Error(where, "tensors '" + previous.name + "' and '" + order[i]->name +
                             "' overlap in the data section");
    }
  }
}

}  // namespace

CheckpointTensors read_safetensors(const std::filesystem::path& path) {
  const std::string where = path.string();
  auto file = MappedFile::open(path);
  const auto bytes = file->bytes();
  if (bytes.size() < 8) throw Error(where, "file is too short for a safetensors header");
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) {
    header_bytes = (header_bytes << 8) | std::to_integer<uint64_t>(bytes[static_cast<size_t>(i)]);
  }
  if (header_bytes > bytes.size() - 8) {
    throw Error(where, "header length " + std::to_string(header_bytes) +
                           " is larger than the file (" + std::to_string(bytes.size()) +
                           " bytes): truncated or not a safetensors file");
  }
  if (header_bytes > kMaxHeaderBytes) throw Error(where, "header is larger than 100 MB");

  json header;
  try {
    const auto* text = reinterpret_cast<const char*>(bytes.data() + 8);
    header = json::parse(text, text + header_bytes);
  } catch (const json::exception& e) {
    throw Error(where, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw Error(where, "header is not a JSON object");

  const auto data = bytes.subspan(8 + header_bytes);
  CheckpointTensors result;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    result.tensors.push_back(read_entry(where, name, entry, data));
  }
  check_no_overlap(where, result.tensors);
  result.storage.push_back(std::move(file));
  return result;
}

CheckpointTensors read_safetensors_index(const std::filesystem::path& index_path) {
  const std::string where = index_path.string();
  json index;
  {
    auto file = MappedFile::open(index_path);
    if (file->size() > kMaxHeaderBytes) throw Error(where, "index is larger than 100 MB");
    try {
      const auto* text = reinterpret_cast<const char*>(file->data());
      index = json::parse(text, text + file->size());
    } catch (const json::exception& e) {
      throw Error(where, std::string("not valid JSON: ") + e.what());
    }
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw Error(where, "has no weight_map object");
  }

  // shard file name -> the tensors the index says it holds
  std::map<std::string, std::set<std::string>> shards;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) throw Error(where, "weight_map['" + name + "'] is not a file name");
    const auto& file_name = shard.get_ref<const std::string&>();
    // Shards live beside the index: a name with a directory part could reach any file.
    const std::filesystem::path shard_path(file_name);
    if (file_name.empty() || shard_path.has_parent_path() || shard_path.is_absolute() ||
        file_name == "." || file_name == "..") {
      throw Error(where, "shard name '" + file_name + "' is not a plain file name");
    }
    shards[file_name].insert(name);
  }
  if (shards.empty()) throw Error(where, "weight_map is empty");

  CheckpointTensors result;
  std::set<std::string> seen;
  for (const auto& [file_name, listed] : shards) {
    const auto shard_path = index_path.parent_path() / file_name;
    CheckpointTensors shard = read_safetensors(shard_path);
    std::set<std::string> found;
    for (auto& tensor : shard.tensors) {
      if (!seen.insert(tensor.name).second) {
        throw Error(where, "tensor '" + tensor.name + "' appears in more than one shard");
      }
      found.insert(tensor.name);
      result.tensors.push_back(std::move(tensor));
    }
    for (const auto& name : listed) {
      if (!found.contains(name)) {
        throw Error(where, "weight_map puts tensor '" + name + "' in " + file_name +
                               ", which does not have it");
      }
    }
    for (auto& keep : shard.storage) result.storage.push_back(std::move(keep));
  }
  return result;
}

}  // namespace mamba2
