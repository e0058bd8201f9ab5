// mamba2-server with a shared state store, as processes: a --state-dir that outlives the
// server (and shrugs off damaged files), and the scale-out deployment the README shows, a
// redis-server behind two replicas behind nginx (round-robin), all on 127.0.0.1, whose
// conversation turns land on alternate replicas and read exactly as one server's.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/apps/redis_process.h"
#include "tests/apps/server_client.h"
#include "tests/support/test_paths.h"

namespace mamba2 {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::ChildProcess;
using testing::metric;
using testing::post;
using testing::RedisProcess;
using testing::ServerProcess;
using testing::text_of;

// -b 16: states at every 16 prompt tokens, so the short prompts below have several.
std::vector<std::string> server_args(std::vector<std::string> extra) {
  std::vector<std::string> args = {"-m", MAMBA2_DEFAULT_MODEL, "-t", "1", "-b", "16"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

struct Conversation {
  std::vector<std::string> replies;
  std::vector<std::string> served_by;  // the X-Upstream header nginx adds, if any
};

// A chat of `turns` turns at temperature 0, each user message after the assistant's last reply.
Conversation chat(int port, int turns) {
  Conversation out;
  json messages = {{{"role", "user"}, {"content", "Tell me about a cat."}}};
  for (int turn = 0; turn < turns; ++turn) {
    const auto reply = post(port, "/v1/chat/completions",
                            json{{"messages", messages}, {"max_tokens", 20}, {"temperature", 0}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    if (reply.status != 200) break;
    out.replies.push_back(text_of(reply.body));
    const auto upstream = reply.headers.find("X-Upstream");
    out.served_by.push_back(upstream == reply.headers.end() ? "" : upstream->second);
    messages.push_back({{"role", "assistant"}, {"content", out.replies.back()}});
    messages.push_back({{"role", "user"}, {"content", "And then?"}});
  }
  return out;
}

TEST(ServerSharedState, AStateDirOutlivesTheServerAndDamagedFilesAreIgnored) {
  const fs::path dir = testing::scratch_dir();
  const std::string state_dir = (dir / "states").string();
  const auto reference = chat(ServerProcess(server_args({"--cache-mem", "0"})).port(), 2);

  {
    ServerProcess first(server_args({"--state-dir", state_dir}));
    EXPECT_EQ(chat(first.port(), 2).replies, reference.replies);
    EXPECT_EQ(metric(first, "mamba2_shared_store_hits_total"), 0);
    EXPECT_GT(metric(first, "mamba2_shared_store_entries"), 0);
    EXPECT_EQ(first.stop(), 0);
  }
  {
    // A new process, an empty memory: the first turn resumes a state from the directory.
    ServerProcess second(server_args({"--state-dir", state_dir}));
    EXPECT_NE(second.err().find("indexed"), std::string::npos) << second.err();
    EXPECT_EQ(chat(second.port(), 2).replies, reference.replies);
    EXPECT_GE(metric(second, "mamba2_shared_store_hits_total"), 1);
    EXPECT_GT(metric(second, "mamba2_prefix_cache_saved_tokens_total"), 0);
    EXPECT_EQ(metric(second, "mamba2_shared_store_errors_total"), 0);
    EXPECT_EQ(second.stop(), 0);
  }
  // Every entry cut short or overwritten, and stray files beside them.
  int damaged = 0;
  for (const auto& entry : fs::directory_iterator(state_dir)) {
    if (++damaged % 2 == 0) {
      fs::resize_file(entry.path(), fs::file_size(entry.path()) / 2);
    } else {
      std::ofstream(entry.path(), std::ios::binary) << "not a state";
    }
  }
  ASSERT_GT(damaged, 0);
  std::ofstream(fs::path(state_dir) / "notes.txt") << "stray";
  ServerProcess third(server_args({"--state-dir", state_dir}));
  EXPECT_EQ(chat(third.port(), 2).replies, reference.replies);
  EXPECT_GE(metric(third, "mamba2_shared_store_errors_total"), 1);
  EXPECT_EQ(third.stop(), 0);
  EXPECT_NE(third.err().find("ignoring an entry"), std::string::npos) << third.err();
}

// nginx on a free port, round-robin over `upstreams`, everything it writes in `dir`; it stays in
// the foreground (daemon off, no master process), so the test owns it and its end.
ChildProcess start_nginx(const fs::path& dir, int port, const std::vector<int>& upstreams) {
  std::ofstream conf(dir / "nginx.conf");
  conf << "daemon off;\nmaster_process off;\nworker_processes 1;\npid " << (dir / "nginx.pid")
       << ";\nerror_log stderr warn;\nevents { worker_connections 64; }\nhttp {\n"
       << "  access_log off;\n";
  for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    conf << "  " << temp << "_temp_path " << (dir / temp) << ";\n";
  }
  conf << "  upstream replicas {\n";
  for (int upstream : upstreams) conf << "    server 127.0.0.1:" << upstream << ";\n";
  conf << "  }\n  server {\n    listen 127.0.0.1:" << port << ";\n    location / {\n"
       << "      proxy_pass http://replicas;\n      proxy_buffering off;\n"
       << "      proxy_read_timeout 60s;\n      add_header X-Upstream $upstream_addr always;\n"
       << "    }\n  }\n}\n";
  conf.close();
  return ChildProcess({testing::find_program("nginx"), "-p", dir.string(), "-c",
                       (dir / "nginx.conf").string(), "-e", "stderr"});
}

TEST(ServerSharedState, ReplicasBehindNginxShareEveryConversationThroughRedis) {
  if (const std::string why = RedisProcess::missing(); !why.empty()) GTEST_SKIP() << why;
  if (testing::find_program("nginx").empty()) {
    GTEST_SKIP() << "nginx is not installed (scripts/install-deps.sh installs it)";
  }
  constexpr int kTurns = 4;
  const auto reference = chat(ServerProcess(server_args({"--cache-mem", "0"})).port(), kTurns);

  RedisProcess redis;
  ASSERT_TRUE(redis.ready());
  ServerProcess a(server_args({"--redis", redis.address()}));
  ServerProcess b(server_args({"--redis", redis.address()}));
  const fs::path dir = testing::scratch_dir();
  const int port = testing::free_port();
  ChildProcess nginx = start_nginx(dir, port, {a.port(), b.port()});
  ASSERT_TRUE(testing::wait_for_port(port, std::chrono::seconds(10))) << nginx.err();

  const Conversation through_nginx = chat(port, kTurns);
  EXPECT_EQ(through_nginx.replies, reference.replies);
  // What the run did, for the log (ctest -V): the replica of each turn and its reply.
  for (size_t turn = 0; turn < through_nginx.served_by.size(); ++turn) {
    std::printf(
        "turn %zu via nginx: served by %s, reply %s the single server's (%zu bytes)\n", turn + 1,
        through_nginx.served_by[turn].c_str(),
        turn < reference.replies.size() && through_nginx.replies.at(turn) == reference.replies[turn]
            ? "equal to"
            : "DIFFERENT from",
        through_nginx.replies.at(turn).size());
  }
  // Round-robin: each turn on the other replica than the last.
  ASSERT_EQ(through_nginx.served_by.size(), static_cast<size_t>(kTurns));
  for (int turn = 1; turn < kTurns; ++turn) {
    EXPECT_NE(through_nginx.served_by[turn], through_nginx.served_by[turn - 1]);
  }
  EXPECT_EQ(std::set<std::string>(through_nginx.served_by.begin(), through_nginx.served_by.end()),
            (std::set<std::string>{"127.0.0.1:" + std::to_string(a.port()),
                                   "127.0.0.1:" + std::to_string(b.port())}));
  // Every turn after the first resumed the state the other replica saved in Redis: the
  // second replica had never seen the conversation, the first had only its older turns.
  for (const ServerProcess* replica : {&a, &b}) {
    EXPECT_EQ(metric(*replica, "mamba2_requests_total"), kTurns / 2);
    EXPECT_GE(metric(*replica, "mamba2_shared_store_hits_total"), 1);
    EXPECT_GT(metric(*replica, "mamba2_shared_store_entries"), 0);
    EXPECT_EQ(metric(*replica, "mamba2_shared_store_errors_total"), 0);
  }
  EXPECT_EQ(
      metric(a, "mamba2_shared_store_hits_total") + metric(b, "mamba2_shared_store_hits_total"),
      kTurns - 1);
  for (const ServerProcess* replica : {&a, &b}) {
    std::printf(
        "replica 127.0.0.1:%d: %lld requests, %lld states resumed from Redis, %lld errors\n",
        replica->port(), static_cast<long long>(metric(*replica, "mamba2_requests_total")),
        static_cast<long long>(metric(*replica, "mamba2_shared_store_hits_total")),
        static_cast<long long>(metric(*replica, "mamba2_shared_store_errors_total")));
  }

  // Redis gone: both replicas log it and keep answering, with the same replies.
  redis.stop();
  EXPECT_EQ(chat(port, 2).replies,
            std::vector<std::string>(reference.replies.begin(), reference.replies.begin() + 2));
  EXPECT_GE(
      metric(a, "mamba2_shared_store_errors_total") + metric(b, "mamba2_shared_store_errors_total"),
      1);
  nginx.stop();
  EXPECT_EQ(a.stop(), 0);
  EXPECT_EQ(b.stop(), 0);
}

}  // namespace
}  // namespace mamba2
