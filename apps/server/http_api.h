// The HTTP endpoints: POST /v1/completions and /v1/chat/completions (whole or streamed as
// server-sent events), GET /v1/models, /health and /metrics; every refusal as OpenAI's error
// JSON; --api-key checked as a Bearer token on everything but /health.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <string>

#include "mamba2/chat_template.h"
#include "mamba2/model.h"
#include "mamba2/tokenizer.h"
#include "server/metrics.h"
#include "server/prompt.h"
#include "server/scheduler.h"

namespace mamba2::server {

struct ApiSettings {
  std::string model_name;  // what /v1/models lists and responses name
  std::string api_key;     // empty: no key needed
  PromptLimits limits;
};

// Everything the handlers use must outlive `http`'s listening.
struct ApiContext {
  ApiSettings settings;
  const ModelConfig* config;
  const Tokenizer* tokenizer;  // null for an id-only model
  ChatTemplate chat_template;
  Scheduler* scheduler;
  Metrics* metrics;
};

void install_api(httplib::Server& http, const ApiContext& context);

}  // namespace mamba2::server
