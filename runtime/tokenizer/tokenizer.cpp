#include "mamba2/tokenizer.h"

#include <limits>
#include <unordered_map>

#include "mamba2/error.h"
#include "runtime/tokenizer/byte_level_bpe.h"
#include "runtime/tokenizer/llama_spm.h"
#include "runtime/tokenizer/sentencepiece_library.h"

namespace mamba2 {
namespace {

// Inputs beyond this are refused rather than tokenized: positions in the merges are 32-bit, and
// no prompt is a gigabyte.
constexpr size_t kMaxInputBytes = size_t{1} << 30;

}  // namespace

struct Tokenizer::Impl {
  TokenizerData data;
  std::string source;
  std::unique_ptr<TokenizerModel> model;
  std::unordered_map<std::string, int32_t> control_ids;  // control token text -> lowest id

  [[noreturn]] void fail(const std::string& why) const { throw Error(source, why); }
  void check_data();
  void check_id(int32_t id, const char* what) const;
  void check_input(std::string_view text) const;
  void check_ids(std::span<const int32_t> ids) const;
};

void Tokenizer::Impl::check_id(int32_t id, const char* what) const {
  if (id < -1 || id >= static_cast<int32_t>(data.tokens.size())) {
    fail(std::string(what) + " id " + std::to_string(id) + " is not a token id (vocabulary has " +
         std::to_string(data.tokens.size()) + ")");
  }
}

void Tokenizer::Impl::check_data() {
  if (data.tokens.empty()) fail("the vocabulary is empty");
  if (data.tokens.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    fail("the vocabulary has more than 2^31-1 tokens");
  }
  if (data.token_types.empty()) data.token_types.assign(data.tokens.size(), TokenType::kNormal);
  if (data.token_types.size() != data.tokens.size()) {
    fail(std::to_string(data.token_types.size()) + " token types for " +
         std::to_string(data.tokens.size()) + " tokens");
  }
  check_id(data.bos_id, "bos");
  check_id(data.eos_id, "eos");
  check_id(data.pad_id, "pad");
  check_id(data.unk_id, "unk");
}

void Tokenizer::Impl::check_input(std::string_view text) const {
  if (text.size() > kMaxInputBytes) {
    fail("input of " + std::to_string(text.size()) +
         " bytes is too long to tokenize (limit 1 GiB)");
  }
}

void Tokenizer::Impl::check_ids(std::span<const int32_t> ids) const {
  for (const int32_t id : ids) {
    if (id < 0 || id >= static_cast<int32_t>(data.tokens.size())) {
      fail("token id " + std::to_string(id) + " is out of range [0, " +
           std::to_string(data.tokens.size()) + ")");
    }
  }
}

Tokenizer::Tokenizer(TokenizerData data, std::string source) : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.data = std::move(data);
  impl.source = std::move(source);
  impl.check_data();
  if (impl.data.model == "gpt2") {
    impl.model = std::make_unique<ByteLevelBpe>(impl.data, impl.source);
  } else if (impl.data.model == "llama" && !impl.data.sentencepiece_model.empty()) {
    impl.model = std::make_unique<SentencePieceLibrary>(impl.data, impl.source);
  } else if (impl.data.model == "llama") {
    impl.model = std::make_unique<LlamaSpm>(impl.data, impl.source);
  } else {
    impl.fail("tokenizer model '" + impl.data.model +
              "' is not supported (gpt2: byte-level BPE, llama: SentencePiece)");
  }
  for (size_t id = 0; id < impl.data.tokens.size(); ++id) {
    if (impl.data.token_types[id] == TokenType::kControl) {
      impl.control_ids.try_emplace(impl.data.tokens[id], static_cast<int32_t>(id));
    }
  }
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  impl_->check_input(text);
  std::vector<int32_t> ids;
  impl_->model->encode(text, false, ids);
  return ids;
}

std::vector<int32_t> Tokenizer::encode_special(std::string_view text) const {
  impl_->check_input(text);
  std::vector<int32_t> ids;
  impl_->model->encode(text, true, ids);
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  impl_->check_ids(ids);
  return impl_->model->decode(ids);
}

std::string Tokenizer::decode_next(int32_t id, bool& at_start) const {
  impl_->check_ids({&id, 1});
  return impl_->model->decode_next(id, at_start);
}

const std::string& Tokenizer::token_text(int32_t id) const {
  impl_->check_ids({&id, 1});
  return impl_->data.tokens[static_cast<size_t>(id)];
}

int32_t Tokenizer::control_id(std::string_view text) const {
  const auto it = impl_->control_ids.find(std::string(text));
  return it == impl_->control_ids.end() ? -1 : it->second;
}

int32_t Tokenizer::size() const { return static_cast<int32_t>(impl_->data.tokens.size()); }
int32_t Tokenizer::bos_id() const { return impl_->data.bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->data.eos_id; }
int32_t Tokenizer::pad_id() const { return impl_->data.pad_id; }

bool Tokenizer::is_control(int32_t id) const {
  return id >= 0 && id < size() &&
         impl_->data.token_types[static_cast<size_t>(id)] == TokenType::kControl;
}

const TokenizerData& Tokenizer::data() const { return impl_->data; }

}  // namespace mamba2
