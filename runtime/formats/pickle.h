// The data.pkl of a torch.save zip: a pickle of an OrderedDict of tensor name -> tensor. This is a
// parser, not an unpickler: it executes nothing. It knows the opcodes torch.save writes and the
// globals a state dict uses (collections.OrderedDict, torch._utils._rebuild_tensor_v2 and the
// Float/Half/BFloat16 storage classes); any other global or opcode is an Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mamba2/dtype.h"

namespace mamba2 {

// One _rebuild_tensor_v2(storage, storage_offset, size, stride, ...) call.
struct PickledTensor {
  std::string name;            // the state dict key
  std::string storage_key;     // bytes in "<prefix>/data/<storage_key>"
  DType dtype;                 // from the storage class: FloatStorage -> F32, ...
  int64_t storage_numel = 0;   // elements in the whole storage (the persistent id says)
  int64_t storage_offset = 0;  // first element of this tensor in the storage
  std::vector<int64_t> shape;  // outermost first; contiguous (strides were checked)
};

// Parses a state dict pickle. Throws Error("<where>: pickle: ...") for anything else, for
// truncated input, for non-contiguous tensors and for a global other than the allowed ones
// ("pickle: global 'os.system' is not allowed").
std::vector<PickledTensor> parse_state_dict_pickle(std::span<const std::byte> pickle,
                                                   const std::string& where);

}  // namespace mamba2
