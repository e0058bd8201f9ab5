#include "mamba2/tokenizer.h"
#include "runtime/tokenizer/utf8.h"

namespace mamba2 {

std::string TokenStreamDecoder::push(int32_t id) {
  pending_ += tokenizer_->decode_next(id, at_start_);
  std::string ready;
  size_t pos = 0;
  while (pos < pending_.size()) {
    const utf8::Step step = utf8::decode_one(std::string_view(pending_).substr(pos));
    if (step.status == utf8::Status::kIncomplete) break;  // wait for the next token's bytes
    if (step.status == utf8::Status::kComplete) {
      ready.append(pending_, pos, step.length);
    } else {
      utf8::append(ready, utf8::kReplacement);
    }
    pos += step.length;
  }
  pending_.erase(0, pos);
  return ready;
}

std::string TokenStreamDecoder::flush() {
  std::string rest = utf8::replace_invalid(pending_);
  pending_.clear();
  return rest;
}

}  // namespace mamba2
