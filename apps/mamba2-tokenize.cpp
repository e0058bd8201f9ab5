// mamba2-tokenize: text -> token ids, one line of space-separated ids, nothing added.
//   mamba2-tokenize --tokenizer tokenizer.json < prompt.txt   (or a SentencePiece .model, a GGUF)
//   mamba2-tokenize MODEL --file prompt.txt      (a GGUF file or a model directory)
//   mamba2-tokenize --tokenizer tokenizer.model.v3 --chat conversation.json --template mistral
// The text is read as bytes; ill-formed UTF-8 is read as the tokenizer's reference reads it.
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/cli.h"
#include "mamba2/chat_template.h"
#include "mamba2/error.h"
#include "mamba2/tokenizer.h"
#include "mamba2/tokenizer_file.h"

namespace {

using mamba2::Error;
namespace fs = std::filesystem;

// A model directory's tokenizer file, or a GGUF file's vocabulary: no weights are read.
mamba2::Tokenizer tokenizer_of_model(const fs::path& model) {
  std::error_code error;
  if (!fs::is_directory(model, error)) {
    return mamba2::Tokenizer(mamba2::load_tokenizer_file(model), model.string());
  }
  std::optional<mamba2::TokenizerData> data = mamba2::load_tokenizer_directory(model);
  if (!data) {
    throw Error(model.string(),
                "has no tokenizer (tokenizer.json, tokenizer.model or tokenizer.model.v3); "
                "pass --tokenizer FILE");
  }
  return mamba2::Tokenizer(std::move(*data), model.string());
}

void print_ids(const std::vector<int32_t>& ids) {
  std::string line;
  line.reserve(ids.size() * 6 + 1);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) line += ' ';
    line += std::to_string(ids[i]);
  }
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0) {
    throw Error("stdout", "cannot write");
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Prints the token ids of a text (stdin by default) on one line, adding no BOS/EOS.",
               "mamba2-tokenize"};
  std::string tokenizer_path;
  std::string model;
  std::string file;
  std::string chat;
  std::string template_name = "plain";
  bool special = false;
  auto* tokenizer_option =
      app.add_option("--tokenizer", tokenizer_path,
                     "a tokenizer.json, a SentencePiece .model file or a GGUF file");
  auto* model_option =
      app.add_option("MODEL", model, "a GGUF file or a model directory whose tokenizer to use");
  tokenizer_option->excludes(model_option);
  auto* file_option = app.add_option(
      "--file", file, "read the text from this file instead of stdin ('-' is stdin)");
  auto* special_option = app.add_flag(
      "--special", special, "control-token text ([INST], <s>) becomes its id (parse_special)");
  auto* chat_option = app.add_option(
      "--chat", chat,
      "print the prompt of a conversation instead: a JSON list of {\"role\", \"content\"}");
  auto* template_option =
      app.add_option("--template", template_name,
                     "the chat template for --chat: plain (default), chatml, mistral, or auto (the "
                     "one the model names)");
  chat_option->excludes(file_option)->excludes(special_option);
  template_option->needs(chat_option);

  return mamba2::apps::run_app(app, argc, argv, [&] {
    if (tokenizer_path.empty() && model.empty()) {
      throw Error("arguments", "give --tokenizer FILE or a MODEL (see --help)");
    }
    const mamba2::Tokenizer tokenizer =
        tokenizer_path.empty()
            ? tokenizer_of_model(model)
            : mamba2::Tokenizer(mamba2::load_tokenizer_file(tokenizer_path), tokenizer_path);
    if (!chat.empty()) {
      const mamba2::ChatTemplateChoice choice =
          mamba2::choose_chat_template(template_name, &tokenizer.data());
      if (!choice.notice.empty())
        std::fprintf(stderr, "mamba2-tokenize: note: %s\n", choice.notice.c_str());
      const mamba2::ChatTemplate chat_template(choice.kind, tokenizer);
      const auto messages = mamba2::parse_chat_messages(mamba2::apps::read_input(chat), chat);
      print_ids(chat_template.conversation(messages).encode(tokenizer));
      return 0;
    }
    const std::string text = mamba2::apps::read_input(file);
    print_ids(special ? tokenizer.encode_special(text) : tokenizer.encode(text));
    return 0;
  });
}
