// Decodes several independent sessions of one model together: one token each per step, every
// weight read once for all of them (the projections become one matrix product over the
// sessions' tokens), so the aggregate speed of N sessions can exceed N separate decodes'. Each
// session ends exactly where its own Session::decode would have left it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "mamba2/model.h"
#include "mamba2/session.h"

namespace mamba2 {

class BatchDecoder {
 public:
  // Steps up to max_sessions sessions at once in `threading`. Working memory is allocated here,
  // once.
  BatchDecoder(std::shared_ptr<const Model> model, int64_t max_sessions,
               ThreadingContext threading = ThreadingContext());
  ~BatchDecoder();
  BatchDecoder(const BatchDecoder&) = delete;
  BatchDecoder& operator=(const BatchDecoder&) = delete;

  // Runs tokens[i] through sessions[i] and returns the logits [sessions.size(), vocab_padded],
  // row i for session i, valid until the next call. The sessions must be distinct, on this
  // decoder's model, at most max_sessions; throws Error otherwise or for a token outside the
  // vocabulary, before any state changes.
  std::span<const float> decode(std::span<Session* const> sessions,
                                std::span<const int32_t> tokens);

  int64_t max_sessions() const;

 private:
  struct Impl;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mamba2
