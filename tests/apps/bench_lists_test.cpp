// mamba2-bench's list syntax, llama-bench's: comma lists and first-last[+step|*factor] ranges,
// and a one-line error for everything else.
#include "bench_report/bench_lists.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mamba2/error.h"

namespace mamba2::apps {
namespace {

using Values = std::vector<int64_t>;

Values parse(const std::string& text) { return parse_int_list(text, "-p", 0, 1 << 24); }

TEST(BenchLists, CommaListsKeepTheirOrder) {
  EXPECT_EQ(parse("512"), Values({512}));
  EXPECT_EQ(parse("16,64,512"), Values({16, 64, 512}));
  EXPECT_EQ(parse("0,128"), Values({0, 128}));
  EXPECT_EQ(parse("64,16,64"), Values({64, 16, 64}));  // as given, repeats too (llama-bench)
  EXPECT_EQ(parse("16,"), Values({16}));               // llama-bench allows a trailing comma
}

TEST(BenchLists, RangesStepByAddingOrMultiplying) {
  EXPECT_EQ(parse("1-4"), Values({1, 2, 3, 4}));
  EXPECT_EQ(parse("7-7"), Values({7}));
  EXPECT_EQ(parse("16-64+16"), Values({16, 32, 48, 64}));
  EXPECT_EQ(parse("16-70+16"), Values({16, 32, 48, 64}));  // last is a bound, not a member
  EXPECT_EQ(parse("16-1024*4"), Values({16, 64, 256, 1024}));
  EXPECT_EQ(parse("1-2,8-32*2,100"), Values({1, 2, 8, 16, 32, 100}));
}

TEST(BenchLists, BadListsAreOneLineErrorsNamingTheFlag) {
  for (const std::string bad :
       {"",       ",",      ",16",    "16,,64",     "abc",
        "16x",    "-16",    "+16",    "1.5",        "16-",
        "16-8",   "4-16+",  "4-16/2", "4-16+0",     "4-16*1",
        "0-16*2", "4-16*0", "16 ,64", "16-64+16+1", "99999999999999999999999",
        "1-2000"}) {
    try {
      parse(bad);
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_TRUE(message.starts_with("-p: ")) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(BenchLists, ValuesOutsideTheFlagsRangeAreRefused) {
  EXPECT_EQ(parse_int_list("1-3", "-t", 1, 4), Values({1, 2, 3}));
  EXPECT_THROW(parse_int_list("0,1", "-t", 1, 4), Error);
  EXPECT_THROW(parse_int_list("2-5", "-t", 1, 4), Error);
  EXPECT_THROW(parse_int_list("2-8*2", "-t", 1, 4), Error);
  EXPECT_EQ(parse_int_list("2-4*2", "-t", 1, 4), Values({2, 4}));
  EXPECT_THROW(parse_int_list("1-1000000", "-p", 0, 1 << 24), Error);  // too many values
}

TEST(BenchLists, EveryOccurrenceAddsItsValues) {
  EXPECT_EQ(parse_int_lists({"16", "64,512"}, "-p", 0, 1024, {512}), Values({16, 64, 512}));
  EXPECT_EQ(parse_int_lists({}, "-p", 0, 1024, {512}), Values({512}));
  EXPECT_THROW(parse_int_lists({"1-1000", "1-1000"}, "-p", 0, 1024, {}), Error);
  EXPECT_EQ(parse_name_lists({"f32,bf16", "q8_0"}, "--type", {}),
            std::vector<std::string>({"f32", "bf16", "q8_0"}));
  EXPECT_EQ(parse_name_lists({}, "--scan", {"auto"}), std::vector<std::string>({"auto"}));
  EXPECT_THROW(parse_name_lists({"f32,,bf16"}, "--type", {}), Error);
  EXPECT_THROW(parse_name_lists({""}, "--type", {}), Error);
}

}  // namespace
}  // namespace mamba2::apps
