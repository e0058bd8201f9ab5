#include "mamba2/chat_template.h"

namespace mamba2 {

ChatPrompt& ChatPrompt::text(std::string_view text) {
  if (!text.empty()) pieces_.push_back({std::string(text), false});
  return *this;
}

ChatPrompt& ChatPrompt::control(std::string_view text) {
  if (!text.empty()) pieces_.push_back({std::string(text), true});
  return *this;
}

ChatPrompt& ChatPrompt::append(const ChatPrompt& other) {
  pieces_.insert(pieces_.end(), other.pieces_.begin(), other.pieces_.end());
  return *this;
}

std::string ChatPrompt::str() const {
  std::string out;
  for (const Piece& piece : pieces_) out += piece.text;
  return out;
}

std::vector<int32_t> ChatPrompt::encode(const Tokenizer& tokenizer) const {
  std::vector<int32_t> ids;
  std::string run;  // text since the last control token
  const auto flush = [&] {
    const std::vector<int32_t> run_ids = tokenizer.encode(run);
    ids.insert(ids.end(), run_ids.begin(), run_ids.end());
    run.clear();
  };
  for (const Piece& piece : pieces_) {
    const int32_t id = piece.control ? tokenizer.control_id(piece.text) : -1;
    if (id < 0) {
      run += piece.text;
      continue;
    }
    flush();
    ids.push_back(id);
  }
  flush();
  return ids;
}

}  // namespace mamba2
