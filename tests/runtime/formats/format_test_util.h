// Helpers for the checkpoint format tests: whole-file I/O, fixture copies to damage, and a check
// that a call fails with an Error that mentions the problem.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "mamba2/error.h"

namespace mamba2::testing {

inline std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  if (!chars.empty()) std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

inline void write_bytes(const std::filesystem::path& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

inline void write_bytes(const std::filesystem::path& path, const std::vector<std::byte>& bytes) {
  write_bytes(path, bytes.data(), bytes.size());
}

// The message of the Error `call` throws; fails the test if it throws nothing.
inline std::string error_message(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an Error";
  return "";
}

#define EXPECT_ERROR_MENTIONS(call, text)                                           \
  do {                                                                              \
    const std::string message_ = ::mamba2::testing::error_message([&] { call; });   \
    EXPECT_NE(message_.find(text), std::string::npos) << "error was: " << message_; \
  } while (0)

}  // namespace mamba2::testing
