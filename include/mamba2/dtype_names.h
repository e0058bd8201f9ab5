// Type names for messages: every DType, and ggml's names of the types we do not read, so an error
// or a help text can name them.
#pragma once

#include <cstdint>
#include <string>

namespace mamba2 {

// ggml's name of a ggml_type id, also for the types we do not read ("iq2_xxs", "tq1_0",
// "mxfp4"); "type <id>" for an id ggml does not define.
std::string ggml_type_name(uint32_t ggml_type);
// Every DType's name, comma-separated ("f32, f16, bf16, q8_0, q4_0, ..."), for help and errors.
std::string dtype_names();

}  // namespace mamba2
