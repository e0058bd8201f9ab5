// The progress line of a model load: shown only on a terminal, erased once the model is ready
// and also when the load fails part way, so the error that follows starts a line of its own.
#include "apps/common/load_progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

namespace mamba2::apps {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) text.push_back(static_cast<char>(c));
  return text;
}

constexpr const char* kErase = "\r\033[K";

TEST(LoadProgress, ShowsEachLayerThenErasesTheLine) {
  std::unique_ptr<std::FILE, FileCloser> out(std::tmpfile());
  ASSERT_TRUE(out);
  {
    LoadProgress progress("prog", out.get(), true);
    const Model::PrepareProgress report = progress.callback();
    ASSERT_TRUE(report);
    report(1, 2);
    report(2, 2);
  }
  EXPECT_EQ(contents(out.get()), std::string("\rprog: preparing weights: layer 1/2") + kErase);
}

TEST(LoadProgress, ErasesTheLineWhenTheLoadStopsPartWay) {
  std::unique_ptr<std::FILE, FileCloser> out(std::tmpfile());
  ASSERT_TRUE(out);
  {
    LoadProgress progress("prog", out.get(), true);
    progress.callback()(3, 64);
  }  // as when preparing throws: the object goes before the error is printed
  EXPECT_EQ(contents(out.get()), std::string("\rprog: preparing weights: layer 3/64") + kErase);
}

TEST(LoadProgress, WritesNothingOffATerminal) {
  std::unique_ptr<std::FILE, FileCloser> out(std::tmpfile());
  ASSERT_TRUE(out);
  {
    LoadProgress progress("prog", out.get(), false);
    EXPECT_FALSE(progress.callback());
  }
  EXPECT_EQ(contents(out.get()), "");
}

}  // namespace
}  // namespace mamba2::apps
