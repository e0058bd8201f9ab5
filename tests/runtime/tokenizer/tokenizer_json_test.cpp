// load_tokenizer_json on small hand-written files: what it accepts, and an Error (never a crash
// or a huge allocation) for everything it cannot represent.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "mamba2/error.h"
#include "mamba2/tokenizer.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

using nlohmann::json;

// A tiny byte-level BPE: "a", "b", "Ġ", "ab", "Ġab" and one special token.
json tiny_tokenizer() {
  return json{
      {"version", "1.0"},
      {"added_tokens",
       json::array(
           {{{"id", 0}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}},
            {{"id", 6}, {"content", "  "}, {"special", false}, {"normalized", true}}})},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"vocab", {{"<|endoftext|>", 0}, {"a", 1}, {"b", 2}, {"Ġ", 3}, {"ab", 4}, {"Ġab", 5}}},
        {"merges", json::array({"a b", "Ġ ab"})}}}};
}

std::filesystem::path write_file(const std::string& text) {
  const auto path = testing::scratch_dir() / "tokenizer.json";
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::filesystem::path write_json(const json& value) { return write_file(value.dump()); }

// The message of the Error load_tokenizer_json throws, or "" if it does not throw.
std::string load_error(const std::filesystem::path& path) {
  try {
    load_tokenizer_json(path);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(TokenizerJson, LoadsATinyByteLevelBpe) {
  const TokenizerData data = load_tokenizer_json(write_json(tiny_tokenizer()));
  ASSERT_EQ(data.tokens.size(), 7u);
  EXPECT_EQ(data.tokens[5], "Ġab");
  EXPECT_EQ(data.token_types[0], TokenType::kControl);
  EXPECT_EQ(data.token_types[6], TokenType::kUserDefined);
  EXPECT_EQ(data.token_types[1], TokenType::kNormal);
  EXPECT_EQ(data.eos_id, 0);
  EXPECT_EQ(data.bos_id, 0);
  EXPECT_EQ(data.pad_id, -1);
  EXPECT_EQ(data.merges, (std::vector<std::string>{"a b", "Ġ ab"}));

  const Tokenizer tokenizer(data);
  EXPECT_EQ(tokenizer.encode("ab ab<|endoftext|>"), (std::vector<int32_t>{4, 5, 0}));
  EXPECT_EQ(tokenizer.encode("a  ab"), (std::vector<int32_t>{1, 6, 4}));
}

TEST(TokenizerJson, AcceptsMergesAsPairs) {
  json file = tiny_tokenizer();
  file["model"]["merges"] = json::array({json::array({"a", "b"}), json::array({"Ġ", "ab"})});
  EXPECT_EQ(load_tokenizer_json(write_json(file)).merges,
            (std::vector<std::string>{"a b", "Ġ ab"}));
}

TEST(TokenizerJson, RejectsFilesThatAreNotJson) {
  EXPECT_NE(load_error(write_file("{\"model\": {\"type\": \"BPE\",")), "");
  EXPECT_NE(load_error(write_file("")), "");
  EXPECT_NE(load_error(write_file("[1, 2, 3]")), "");
  EXPECT_NE(load_error(testing::scratch_dir() / "missing.json"), "");
  EXPECT_NE(load_error(write_file(std::string(100000, '[') + std::string(100000, ']'))), "");
}

TEST(TokenizerJson, RejectsOtherModelTypes) {
  json file = tiny_tokenizer();
  file["model"]["type"] = "WordPiece";
  EXPECT_NE(load_error(write_json(file)).find("WordPiece"), std::string::npos);
  file["model"].erase("type");
  EXPECT_NE(load_error(write_json(file)), "");
}

TEST(TokenizerJson, RejectsPipelinesItCannotReproduce) {
  json file = tiny_tokenizer();
  file["pre_tokenizer"] = {{"type", "Metaspace"}};
  EXPECT_NE(load_error(write_json(file)), "");
  file = tiny_tokenizer();
  file["pre_tokenizer"]["add_prefix_space"] = true;
  EXPECT_NE(load_error(write_json(file)), "");
  file = tiny_tokenizer();
  file["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_NE(load_error(write_json(file)), "");
  file = tiny_tokenizer();
  file["model"]["byte_fallback"] = true;
  EXPECT_NE(load_error(write_json(file)), "");
}

TEST(TokenizerJson, RejectsAMissingVocabOrMerges) {
  json file = tiny_tokenizer();
  file["model"].erase("vocab");
  EXPECT_NE(load_error(write_json(file)).find("vocab"), std::string::npos);
  file = tiny_tokenizer();
  file["model"]["vocab"] = json::array({"a", "b"});
  EXPECT_NE(load_error(write_json(file)), "");
  file = tiny_tokenizer();
  file["model"].erase("merges");
  EXPECT_NE(load_error(write_json(file)).find("merges"), std::string::npos);
  file = tiny_tokenizer();
  file.erase("model");
  EXPECT_NE(load_error(write_json(file)), "");
}

TEST(TokenizerJson, RejectsMergesNamingUnknownTokens) {
  json file = tiny_tokenizer();
  file["model"]["merges"] = json::array({"a b", "a c"});
  EXPECT_NE(load_error(write_json(file)).find("'c'"), std::string::npos);
  file["model"]["merges"] = json::array({"b a"});  // "ba" is not a token
  EXPECT_NE(load_error(write_json(file)).find("'ba'"), std::string::npos);
  file["model"]["merges"] = json::array({"ab"});
  EXPECT_NE(load_error(write_json(file)), "");
  file["model"]["merges"] = json::array({json::array({"a", "b", "c"})});
  EXPECT_NE(load_error(write_json(file)), "");
  file["model"]["merges"] = json::array({42});
  EXPECT_NE(load_error(write_json(file)), "");
}

TEST(TokenizerJson, RejectsHugeNegativeAndSparseIds) {
  for (const json& id :
       {json(2147483647), json(int64_t{1} << 40), json(-1), json(7), json(1.5), json("3")}) {
    json file = tiny_tokenizer();
    file["model"]["vocab"]["b"] = id;
    EXPECT_NE(load_error(write_json(file)), "") << id.dump();
  }
  json file = tiny_tokenizer();
  file["added_tokens"][1]["id"] = 2000000000;
  EXPECT_NE(load_error(write_json(file)), "");
}

TEST(TokenizerJson, RejectsConflictingTextsForOneId) {
  json file = tiny_tokenizer();
  file["added_tokens"][0]["content"] = "<|other|>";
  EXPECT_NE(load_error(write_json(file)).find("both"), std::string::npos);
}

TEST(TokenizerData, InvalidDataIsAnErrorNotACrash) {
  const TokenizerData good = load_tokenizer_json(write_json(tiny_tokenizer()));
  TokenizerData data = good;
  data.token_types.pop_back();
  EXPECT_THROW(Tokenizer{data}, Error);
  data = good;
  data.eos_id = 7;
  EXPECT_THROW(Tokenizer{data}, Error);
  data = good;
  data.merges.push_back("a");
  EXPECT_THROW(Tokenizer{data}, Error);
  data = good;
  data.tokens.clear();
  data.token_types.clear();
  EXPECT_THROW(Tokenizer{data}, Error);
  data = good;
  data.tokens[0] = "\xFF<|bad|>";
  EXPECT_THROW(Tokenizer{data}, Error);
}

TEST(TokenizerData, OnlyGpt2ByteLevelModelsAreAccepted) {
  const TokenizerData good = load_tokenizer_json(write_json(tiny_tokenizer()));
  for (const char* pre : {"gpt-2", "olmo", "mpt", "default"}) {
    TokenizerData data = good;
    data.pre = pre;
    EXPECT_NO_THROW(Tokenizer{data}) << pre;
  }
  for (const char* pre : {"llama-bpe", "qwen2", "starcoder"}) {
    TokenizerData data = good;
    data.pre = pre;
    EXPECT_THROW(Tokenizer{data}, Error) << pre;
  }
  TokenizerData data = good;
  data.model = "llama";
  EXPECT_THROW(Tokenizer{data}, Error);
}

}  // namespace
}  // namespace mamba2
