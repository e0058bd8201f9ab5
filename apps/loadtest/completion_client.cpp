#include "loadtest/completion_client.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace mamba2::loadtest {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The usage and finish reason a reply must carry, checked once it is complete.
std::string check_end(const json& usage, const std::string& finish_reason,
                      const CompletionCall& call, CompletionOutcome& outcome) {
  if (finish_reason != "length" && finish_reason != "stop") {
    return "finish_reason \"" + finish_reason + "\"";
  }
  if (!usage.is_object()) return "no usage";
  const auto prompt_tokens = usage.value("prompt_tokens", int64_t{-1});
  outcome.completion_tokens = usage.value("completion_tokens", int64_t{-1});
  if (prompt_tokens != static_cast<int64_t>(call.prompt.size())) {
    return "usage.prompt_tokens " + std::to_string(prompt_tokens);
  }
  if (outcome.completion_tokens < 0 || outcome.completion_tokens > call.max_tokens ||
      usage.value("total_tokens", int64_t{-1}) != prompt_tokens + outcome.completion_tokens) {
    return "usage " + usage.dump();
  }
  if (finish_reason == "length" && outcome.completion_tokens != call.max_tokens) {
    return "finish_reason length after " + std::to_string(outcome.completion_tokens) + " tokens";
  }
  return "";
}

}  // namespace

CompletionOutcome run_completion(const Target& target, const CompletionCall& call, int timeout_s) {
  CompletionOutcome outcome;
  json body = {{"prompt", call.prompt},
               {"max_tokens", call.max_tokens},
               {"seed", call.seed},
               {"stream", call.stream}};
  if (call.stream) body["stream_options"] = {{"include_usage", true}};

  httplib::Client client("127.0.0.1", target.port);
  client.set_connection_timeout(timeout_s, 0);
  client.set_read_timeout(timeout_s, 0);
  client.set_write_timeout(timeout_s, 0);
  httplib::Request request;
  request.method = "POST";
  request.path = "/v1/completions";
  request.body = body.dump();
  request.set_header("Content-Type", "application/json");
  if (!target.api_key.empty()) request.set_header("Authorization", "Bearer " + target.api_key);

  // Server-sent events as they arrive: "data: {...}\n\n" ... "data: [DONE]\n\n".
  std::string pending, finish_reason, event_error;
  json usage;
  bool done = false;
  Clock::time_point first, last;
  const auto start = Clock::now();
  auto on_event = [&](const std::string& event) {
    if (event.rfind("data: ", 0) != 0) return "an event without data: " + event.substr(0, 60);
    const std::string data = event.substr(6);
    if (done) return std::string("an event after [DONE]");
    if (data == "[DONE]") {
      done = true;
      return std::string();
    }
    const json chunk = json::parse(data, nullptr, false);
    if (chunk.is_discarded() || !chunk.is_object())
      return "a malformed event: " + data.substr(0, 60);
    if (chunk.contains("error")) return "an error event: " + chunk["error"].dump();
    if (chunk.contains("usage") && chunk["usage"].is_object()) usage = chunk["usage"];
    const json& choices = chunk.value("choices", json::array());
    for (const json& choice : choices) {
      const std::string text = choice.value("text", "");
      if (!text.empty()) {
        last = Clock::now();
        if (outcome.first_token_s < 0) {
          first = last;
          outcome.first_token_s = seconds(first - start);
        }
        outcome.text += text;
      }
      if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
        finish_reason = choice["finish_reason"];
      }
    }
    return std::string();
  };
  if (call.stream) {
    request.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
      pending.append(data, size);
      for (size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
        const std::string event = pending.substr(0, end);
        pending.erase(0, end + 2);
        try {
          event_error = on_event(event);
        } catch (const json::exception& bad) {
          event_error = std::string("a malformed event: ") + bad.what();
        }
        if (!event_error.empty()) return false;
      }
      return true;
    };
  }
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  const bool sent = client.send(request, response, error);
  outcome.total_s = seconds(Clock::now() - start);
  if (!event_error.empty()) return outcome.error = event_error, outcome;
  if (!sent) return outcome.error = "no reply: " + httplib::to_string(error), outcome;
  if (response.status != 200) {
    outcome.error =
        "status " + std::to_string(response.status) + ": " + response.body.substr(0, 200);
    return outcome;
  }
  if (call.stream) {
    if (!done || !pending.empty())
      return outcome.error = "the stream ended without [DONE]", outcome;
  } else {
    const json whole = json::parse(response.body, nullptr, false);
    if (whole.is_discarded() || !whole.contains("choices") || whole["choices"].empty()) {
      return outcome.error = "a malformed reply: " + response.body.substr(0, 200), outcome;
    }
    try {
      const json& choice = whole["choices"][0];
      outcome.text = choice.value("text", "");
      finish_reason = choice.value("finish_reason", "");
      usage = whole.value("usage", json());
    } catch (const json::exception& bad) {
      return outcome.error = std::string("a malformed reply: ") + bad.what(), outcome;
    }
  }
  outcome.error = check_end(usage, finish_reason, call, outcome);
  if (call.stream && outcome.completion_tokens > 1 && outcome.first_token_s >= 0) {
    outcome.per_token_s =
        seconds(last - first) / static_cast<double>(outcome.completion_tokens - 1);
  }
  return outcome;
}

}  // namespace mamba2::loadtest
