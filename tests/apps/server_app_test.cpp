// Runs the real mamba2-server on 127.0.0.1 with the embedded byte-level model and talks to it
// with httplib's client (and a raw socket, to hang up mid-stream).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/apps/server_client.h"

namespace mamba2 {
namespace {

using nlohmann::json;
using testing::metric;
using testing::post;
using testing::Reply;
using testing::ServerProcess;
using testing::text_of;

const std::string kModel = MAMBA2_DEFAULT_MODEL;

std::vector<std::string> server_args(std::vector<std::string> extra) {
  std::vector<std::string> args = {"-m", kModel, "-t", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// The events of a streamed response, [DONE] as the string "[DONE]".
std::vector<json> stream(const ServerProcess& server, const std::string& path, const json& body) {
  auto client = server.client();
  const auto res = client.Post(path, body.dump(), "application/json");
  EXPECT_TRUE(res);
  if (!res) return {};
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  std::vector<json> events;
  size_t at = 0;
  for (size_t end; (end = res->body.find("\n\n", at)) != std::string::npos; at = end + 2) {
    const std::string event = res->body.substr(at, end - at);
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
    const std::string data = event.substr(6);
    events.push_back(data == "[DONE]" ? json("[DONE]") : json::parse(data));
  }
  EXPECT_EQ(at, res->body.size()) << "a partial event at the end";
  return events;
}

// The metric once it reads `value`, or what it reads after 5 s: the scheduler frees a slot just
// after the reply's last bytes are handed over, so a client may see its reply a moment earlier.
int64_t settled_metric(const ServerProcess& server, const std::string& name, int64_t value) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (metric(server, name) != value && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return metric(server, name);
}

TEST(ServerApp, CompletionsChatModelsAndHealthAnswerAsOpenAiDoes) {
  ServerProcess server(server_args({}));
  const Reply completion =
      post(server, "/v1/completions",
           json{{"prompt", "Once upon a time"}, {"max_tokens", 12}, {"temperature", 0}});
  ASSERT_EQ(completion.status, 200) << completion.body;
  EXPECT_EQ(completion.body["object"], "text_completion");
  EXPECT_EQ(completion.body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(text_of(completion.body).size(), 12u);  // a byte-level model: a token per byte
  EXPECT_EQ(completion.body["usage"],
            (json{{"prompt_tokens", 16}, {"completion_tokens", 12}, {"total_tokens", 28}}));

  const Reply chat = post(server, "/v1/chat/completions",
                          json{{"messages",
                                {{{"role", "system"}, {"content", "A story."}},
                                 {{"role", "user"}, {"content", "Once upon a time"}}}},
                               {"max_tokens", 8},
                               {"seed", 5}});
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(chat.body["object"], "chat.completion");
  EXPECT_EQ(chat.body["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(chat.body["usage"]["completion_tokens"], 8);

  auto client = server.client();
  const auto models = client.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(json::parse(models->body)["data"][0]["id"], "default.gguf");
  const auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(settled_metric(server, "mamba2_requests_total", 2), 2);
  EXPECT_EQ(settled_metric(server, "mamba2_generated_tokens_total", 20), 20);
  EXPECT_EQ(server.stop(), 0);
}

// --template auto takes the model's own chat template, as mamba2-chat's does; this model names
// none, so chats are laid out plain, with a note.
TEST(ServerApp, TemplateAutoUsesTheModelsChatTemplate) {
  ServerProcess server(server_args({"--template", "auto"}));
  EXPECT_NE(server.err().find("note: the model names no chat template"), std::string::npos)
      << server.err();
  const Reply chat =
      post(server, "/v1/chat/completions",
           json{{"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 2}});
  EXPECT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(server.stop(), 0);
}

TEST(ServerApp, StreamedChunksConcatenateToTheWholeTextWithTheSameSeed) {
  ServerProcess server(server_args({}));
  for (const bool chat : {false, true}) {
    SCOPED_TRACE(chat ? "chat" : "completion");
    const std::string path = chat ? "/v1/chat/completions" : "/v1/completions";
    json request = {{"max_tokens", 40}, {"temperature", 1.0}, {"seed", 42}, {"stop", "\n"}};
    if (chat) {
      request["messages"] = {{{"role", "user"}, {"content", "The cat"}}};
    } else {
      request["prompt"] = "The cat";
    }
    const Reply whole = post(server, path, request);
    ASSERT_EQ(whole.status, 200) << whole.body;

    request["stream"] = true;
    request["stream_options"] = {{"include_usage", true}};
    const std::vector<json> events = stream(server, path, request);
    ASSERT_GE(events.size(), 4u);
    EXPECT_EQ(events.back(), "[DONE]");
    std::string text;
    for (size_t i = 0; i + 3 < events.size(); ++i) {
      const json& choice = events[i]["choices"][0];
      EXPECT_TRUE(choice["finish_reason"].is_null());
      text +=
          chat ? choice["delta"]["content"].get<std::string>() : choice["text"].get<std::string>();
      if (chat && i == 0) {
        EXPECT_EQ(choice["delta"]["role"], "assistant");
      }
    }
    EXPECT_EQ(text, text_of(whole.body));
    const json& last = events[events.size() - 3]["choices"][0];
    EXPECT_EQ(last["finish_reason"], whole.body["choices"][0]["finish_reason"]);
    EXPECT_EQ(events[events.size() - 2]["usage"], whole.body["usage"]);
    EXPECT_EQ(events[0]["object"], chat ? "chat.completion.chunk" : "text_completion");
  }
}

TEST(ServerApp, EveryRefusalHasItsStatusAndOpenAiErrorJson) {
  ServerProcess server(server_args(
      {"-n", "64", "--max-prompt-tokens", "32", "--max-body", "4096", "--api-key", "sesame"}));
  const httplib::Headers key = {{"Authorization", "Bearer sesame"}};
  struct Case {
    const char* what;
    std::string path, body;
    httplib::Headers headers;
    int status;
    const char* param;  // nullptr: null
  };
  const std::string completions = "/v1/completions", chat = "/v1/chat/completions";
  const std::vector<Case> cases = {
      {"malformed JSON", completions, R"({"prompt": "a)", key, 400, nullptr},
      {"not an object", completions, "[1, 2]", key, 400, nullptr},
      {"no prompt", completions, R"({"max_tokens": 3})", key, 400, "prompt"},
      {"empty prompt", completions, R"({"prompt": ""})", key, 400, "prompt"},
      {"prompt of the wrong type", completions, R"({"prompt": {"a": 1}})", key, 400, "prompt"},
      {"max_tokens of the wrong type", completions, R"({"prompt": "a", "max_tokens": "ten"})", key,
       400, "max_tokens"},
      {"temperature of the wrong type", completions, R"({"prompt": "a", "temperature": "hot"})",
       key, 400, "temperature"},
      {"top_k not an integer", completions, R"({"prompt": "a", "top_k": 1.5})", key, 400, "top_k"},
      {"top_p out of range", completions, R"({"prompt": "a", "top_p": 7})", key, 400, "top_p"},
      {"stop of the wrong type", completions, R"({"prompt": "a", "stop": 5})", key, 400, "stop"},
      {"more than 16 stop strings", completions,
       json{{"prompt", "a"}, {"stop", std::vector<std::string>(17, "x")}}.dump(), key, 400, "stop"},
      {"stream of the wrong type", completions, R"({"prompt": "a", "stream": "yes"})", key, 400,
       "stream"},
      {"max_tokens beyond -n", completions, R"({"prompt": "a", "max_tokens": 65})", key, 400,
       "max_tokens"},
      {"prompt beyond --max-prompt-tokens", completions,
       json{{"prompt", std::string(33, 'a')}}.dump(), key, 400, "prompt"},
      {"token id outside the vocabulary", completions, R"({"prompt": [1, 256]})", key, 400,
       "prompt"},
      {"no messages", chat, R"({"messages": []})", key, 400, "messages"},
      {"last message not a user's", chat,
       R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})",
       key, 400, "messages"},
      {"unknown role", chat, R"({"messages": [{"role": "robot", "content": "a"}]})", key, 400,
       "messages"},
      {"two choices", completions, R"({"prompt": "a", "n": 2})", key, 400, "n"},
      {"body over --max-body", completions, json{{"prompt", std::string(5000, 'a')}}.dump(), key,
       413, nullptr},
      {"no API key", completions, R"({"prompt": "a"})", {}, 401, nullptr},
      {"wrong API key",
       completions,
       R"({"prompt": "a"})",
       {{"Authorization", "Bearer x"}},
       401,
       nullptr},
      {"no such endpoint", "/v1/embeddings", R"({"input": "a"})", key, 404, nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const Reply reply = post(server, c.path, c.body, c.headers);
    EXPECT_EQ(reply.status, c.status) << reply.body;
    ASSERT_TRUE(reply.body.is_object()) << reply.body;
    const json& error = reply.body["error"];
    EXPECT_TRUE(error["message"].is_string()) << reply.body;
    EXPECT_TRUE(error["type"].is_string()) << reply.body;
    EXPECT_TRUE(error.contains("code")) << reply.body;
    EXPECT_EQ(error["param"], c.param ? json(c.param) : json(nullptr)) << reply.body;
  }
  // The server is unharmed, and /health needs no key.
  EXPECT_EQ(post(server, completions, R"({"prompt": "a", "max_tokens": 2})", key).status, 200);
  auto client = server.client();
  const auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(server.stop(), 0);
}

// Sends a streaming request on a raw socket, reads its first event and hangs up.
void hang_up_mid_stream(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  const std::string body =
      R"({"prompt": "Once upon a time", "stream": true, "max_tokens": 1000000})";
  const std::string request =
      "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string received;
  char buffer[4096];
  while (received.find("data: ") == std::string::npos) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    ASSERT_GT(n, 0);
    received.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
}

TEST(ServerApp, AClientHangingUpMidStreamFreesItsSlotAtOnce) {
  ServerProcess server(server_args({"--parallel", "1", "-n", "1000000"}));
  hang_up_mid_stream(server.port());
  EXPECT_EQ(settled_metric(server, "mamba2_active_slots", 0), 0);
  EXPECT_LT(metric(server, "mamba2_generated_tokens_total"), 100000);
  // The one slot takes the next request.
  const Reply next =
      post(server, "/v1/completions", json{{"prompt", "The dog"}, {"max_tokens", 4}});
  EXPECT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(server.stop(), 0);
}

TEST(ServerApp, ConcurrentRequestsEqualTheirSingleRequestResults) {
  ServerProcess server(server_args({"--parallel", "4", "--cache-mem", "0"}));
  const std::vector<std::string> prompts = {"Once upon a time", "The little dog", "Lily said",
                                            "One day, Tom",     "The sun was",    "Mom and Dad",
                                            "A big red ball",   "In the park"};
  auto request = [](const std::string& prompt, int i) {
    return json{{"prompt", prompt}, {"max_tokens", 24 + 4 * i}, {"temperature", 0}};
  };
  std::vector<std::string> alone;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Reply reply = post(server, "/v1/completions", request(prompts[i], static_cast<int>(i)));
    ASSERT_EQ(reply.status, 200) << reply.body;
    alone.push_back(text_of(reply.body));
  }
  std::vector<std::string> together(prompts.size());
  std::vector<int> statuses(prompts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < prompts.size(); ++i) {
    threads.emplace_back([&, i] {
      const Reply reply = post(server, "/v1/completions", request(prompts[i], static_cast<int>(i)));
      statuses[i] = reply.status;
      if (reply.status == 200) together[i] = text_of(reply.body);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(statuses[i], 200);
    EXPECT_EQ(together[i], alone[i]) << prompts[i];
  }
  EXPECT_EQ(settled_metric(server, "mamba2_active_slots", 0), 0);
  EXPECT_EQ(settled_metric(server, "mamba2_queue_length", 0), 0);
  EXPECT_EQ(server.stop(), 0);
}

// A conversation of three turns, each prompt extending the last reply: the same replies with and
// without the prefix cache, and with it the later turns resume cached states.
TEST(ServerApp, ThePrefixCacheChangesNoResult) {
  auto conversation = [](const ServerProcess& server) {
    std::vector<std::string> replies;
    std::string prompt = "Once upon a time, there was a dog.";
    for (int turn = 0; turn < 3; ++turn) {
      const Reply reply = post(server, "/v1/completions",
                               json{{"prompt", prompt}, {"max_tokens", 30}, {"temperature", 0}});
      EXPECT_EQ(reply.status, 200) << reply.body;
      replies.push_back(text_of(reply.body));
      prompt += replies.back() + " The end. Then";
    }
    json messages = {{{"role", "user"}, {"content", "Tell me about a cat."}}};
    for (int turn = 0; turn < 2; ++turn) {
      const Reply reply =
          post(server, "/v1/chat/completions",
               json{{"messages", messages}, {"max_tokens", 20}, {"temperature", 0}});
      EXPECT_EQ(reply.status, 200) << reply.body;
      replies.push_back(text_of(reply.body));
      messages.push_back({{"role", "assistant"}, {"content", replies.back()}});
      messages.push_back({{"role", "user"}, {"content", "And then?"}});
    }
    return replies;
  };
  ServerProcess uncached(server_args({"--cache-mem", "0", "-b", "16"}));
  ServerProcess cached(server_args({"-b", "16"}));
  EXPECT_EQ(conversation(cached), conversation(uncached));
  EXPECT_EQ(metric(uncached, "mamba2_prefix_cache_hits_total"), 0);
  EXPECT_GE(metric(cached, "mamba2_prefix_cache_hits_total"), 3);
  EXPECT_GT(metric(cached, "mamba2_prefix_cache_saved_tokens_total"), 100);
  EXPECT_GT(metric(cached, "mamba2_state_store_bytes"), 0);
}

}  // namespace
}  // namespace mamba2
