#include "server/http_api.h"

#include <chrono>
#include <memory>
#include <random>

#include "server/api_error.h"
#include "server/completion_request.h"
#include "server/job.h"
#include "server/openai_json.h"

namespace mamba2::server {
namespace {

using nlohmann::json;

// How often a stream waiting for text looks whether its client is still there.
constexpr std::chrono::milliseconds kStreamPoll{100};

std::string dump(const json& body) {
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

void send_error(httplib::Response& res, const ApiError& error) {
  res.status = error.status();
  res.set_content(dump(error.to_json()), "application/json");
}

ApiError generation_failed(const std::string& why) {
  return ApiError(500, "generation failed: " + why, "", "", "server_error");
}

// The job's text as server-sent events, as it comes; the client going away cancels the job.
void stream_job(httplib::Response& res, std::shared_ptr<Job> job, ResponseHeader header,
                bool include_usage) {
  res.set_header("Cache-Control", "no-cache");
  auto first = std::make_shared<bool>(true);
  res.set_chunked_content_provider(
      "text/event-stream",
      [job, header, include_usage, first](size_t, httplib::DataSink& sink) {
        const JobUpdate update = job->take(kStreamPoll);
        std::string out;
        if (!update.text.empty()) {
          out += sse_event(chunk_json(header, update.text, *first));
          *first = false;
        }
        if (update.done) {
          if (!update.error.empty()) {
            out += sse_event(generation_failed(update.error).to_json());
          } else {
            out += sse_event(final_chunk_json(header, finish_reason_name(update.reason)));
            if (include_usage) {
              out += sse_event(usage_chunk_json(
                  header, usage_json(update.prompt_tokens, update.completion_tokens)));
            }
          }
          out += kSseDone;
        }
        if (!out.empty() && !sink.write(out.data(), out.size())) {
          job->cancel();
          return false;
        }
        if (update.done) sink.done();
        return true;
      },
      [job](bool) { job->cancel(); });  // also when the connection broke
}

void handle_completion(const ApiContext& api, bool chat, const httplib::Request& req,
                       httplib::Response& res) {
  CompletionRequest request =
      parse_completion_request(req.body, chat, api.settings.limits.max_tokens);
  const Prompt prompt =
      make_prompt(request, api.tokenizer, api.chat_template, *api.config, api.settings.limits);
  if (!request.seed_given) request.sampler.seed = std::random_device{}();
  std::vector<std::string> stops = request.stops;
  if (chat) {
    for (const std::string& stop : api.chat_template.stop_strings()) stops.push_back(stop);
  }
  auto job = std::make_shared<Job>(prompt.ids, request.sampler,
                                   GenerationOptions{std::move(stops), prompt.max_tokens});
  ++api.metrics->requests;
  api.metrics->prompt_tokens += static_cast<int64_t>(prompt.ids.size());
  api.scheduler->submit(job);

  ResponseHeader header = make_response_header(chat, api.settings.model_name);
  if (request.stream) {
    stream_job(res, std::move(job), std::move(header), request.include_usage);
    return;
  }
  const JobUpdate update = job->wait();
  if (!update.error.empty()) throw generation_failed(update.error);
  res.set_content(dump(completion_json(header, update.text, finish_reason_name(update.reason),
                                       usage_json(update.prompt_tokens, update.completion_tokens))),
                  "application/json");
}

bool authorized(const ApiSettings& settings, const httplib::Request& req) {
  return settings.api_key.empty() || req.path == "/health" ||
         req.get_header_value("Authorization") == "Bearer " + settings.api_key;
}

}  // namespace

void install_api(httplib::Server& http, const ApiContext& context) {
  const ApiContext* api = &context;
  http.set_pre_routing_handler([api](const httplib::Request& req, httplib::Response& res) {
    if (authorized(api->settings, req)) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401, "missing or incorrect API key (Authorization: Bearer KEY)", "",
                             "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Statuses that no handler explained (404, 413 for a body over --max-body, ...).
  http.set_error_handler([api](const httplib::Request&, httplib::Response& res) {
    if (res.status < 500) ++api->metrics->requests_refused;
    if (res.body.empty()) send_error(res, error_for_status(res.status));
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
        try {
          std::rethrow_exception(error);
        } catch (const ApiError& api_error) {
          send_error(res, api_error);
        } catch (const std::exception& other) {
          send_error(res, ApiError(500, other.what(), "", "", "server_error"));
        }
      });

  for (const bool chat : {false, true}) {
    http.Post(chat ? "/v1/chat/completions" : "/v1/completions",
              [api, chat](const httplib::Request& req, httplib::Response& res) {
                handle_completion(*api, chat, req, res);
              });
  }
  http.Get("/v1/models", [api](const httplib::Request&, httplib::Response& res) {
    const json model = {{"id", api->settings.model_name},
                        {"object", "model"},
                        {"created", 0},
                        {"owned_by", "mamba2cpu"}};
    res.set_content(dump({{"object", "list"}, {"data", json::array({model})}}), "application/json");
  });
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  http.Get("/metrics", [api](const httplib::Request&, httplib::Response& res) {
    res.set_content(api->metrics->prometheus_text(), "text/plain; version=0.0.4");
  });
}

}  // namespace mamba2::server
