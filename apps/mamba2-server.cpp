// mamba2-server: an OpenAI-compatible HTTP server (completions and chat completions, streamed or
// whole) over one model, with continuous batching of concurrent requests and a prefix-state
// cache, optionally backed by a directory or by Redis shared among replicas. Binds 127.0.0.1 unless
// told otherwise; flags as llama-server names them.
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "common/cli.h"
#include "common/load_progress.h"
#include "common/model_template.h"
#include "mamba2/conversation_state.h"
#include "mamba2/error.h"
#include "mamba2/model_loader.h"
#include "server/dir_state_store.h"
#include "server/http_api.h"
#include "server/redis_state_store.h"
#include "server/scheduler.h"

namespace {

int stop_pipe[2];  // SIGINT and SIGTERM write here

}  // namespace

int main(int argc, char** argv) {
  using namespace mamba2;
  CLI::App app{"An OpenAI-compatible server for a Mamba-2 model", "mamba2-server"};
  std::string model_path, host = "127.0.0.1", template_name = "plain", alias;
  int port = 8080, threads = 0, http_threads = 0;
  server::SchedulerOptions scheduler_options;
  server::ApiSettings settings;
  settings.limits = {.max_prompt_tokens = 32768, .max_tokens = 4096, .context = 0};
  int64_t cache_mib = 1024, max_body = 1 << 20;
  std::string state_dir, redis_address;
  int64_t state_dir_mib = 4096;
  server::RedisOptions redis_options;

  app.add_option("-m,--model", model_path, "GGUF file or model directory")->required();
  app.add_option("--host", host, "address to listen on (default 127.0.0.1)");
  app.add_option("--port", port, "port to listen on; 0 picks a free one (default 8080)")
      ->check(CLI::Range(0, 65535));
  app.add_option("-t,--threads", threads, "threads for the model (default: all cores)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--parallel", scheduler_options.parallel,
                 "slots: requests generating together (default 4)")
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  app.add_option("-b,--batch-size", scheduler_options.prefill_piece,
                 "prompt tokens run between two decode steps; prefix states are kept at "
                 "multiples of it (default 512)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  app.add_option("-n,--n-predict", settings.limits.max_tokens,
                 "max_tokens at most, and when a request gives none (default 4096)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  app.add_option("-c,--ctx-size", settings.limits.context,
                 "prompt and reply tokens together at most (default 0: no limit)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_option("--max-prompt-tokens", settings.limits.max_prompt_tokens,
                 "longest prompt accepted (default 32768)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  app.add_option("--max-body", max_body, "largest request body in bytes (default 1048576)")
      ->check(CLI::Range(int64_t{64}, int64_t{1} << 32));
  app.add_option("--cache-mem", cache_mib, "MiB of prefix states kept (default 1024; 0: none)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  app.add_option("--state-dir", state_dir,
                 "also keep prefix states as files in DIR, which outlive the server");
  app.add_option("--state-dir-mem", state_dir_mib,
                 "MiB of states --state-dir keeps; the least recently used go (default 4096)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  app.add_option("--redis", redis_address,
                 "also keep prefix states in Redis at HOST:PORT, shared with every replica "
                 "naming it")
      ->excludes("--state-dir");
  app.add_option("--redis-ttl", redis_options.ttl_seconds,
                 "seconds an unused state stays in Redis (default 3600)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 31));
  app.add_option("--redis-timeout", redis_options.timeout_ms,
                 "milliseconds a Redis call may take before the server goes on without it "
                 "(default 1000)")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}));
  app.add_option("--api-key", settings.api_key, "require Authorization: Bearer KEY");
  app.add_option("--template", template_name,
                 "chat template: plain (default), chatml, mistral, or auto (the model's own)");
  app.add_option("-a,--alias", alias, "the model's name in responses (default: the file's)");
  app.add_option("--threads-http", http_threads,
                 "threads serving connections (default: --parallel + 8)")
      ->check(CLI::Range(0, 1024));

  return apps::run_app(app, argc, argv, [&] {
    if (pipe(stop_pipe) != 0) throw Error("mamba2-server", "cannot make a pipe");
    // A client gone mid-write is an error return, not SIGPIPE.
    signal(SIGPIPE, SIG_IGN);
    // "auto" needs the model's chat template; any other name is checked before the load.
    ChatTemplateKind template_kind = ChatTemplateKind::kPlain;
    if (template_name != "auto") template_kind = parse_chat_template(template_name);
    apps::LoadProgress progress("mamba2-server");
    scheduler_options.threading = ThreadingContext(threads);
    scheduler_options.cache_bytes = cache_mib << 20;
    const auto model = load_model(model_path, progress.callback(), scheduler_options.threading);
    if (template_name == "auto") {
      const auto& data = model->weights().tokenizer;
      const ChatTemplateChoice choice =
          choose_chat_template(template_name, data ? &*data : nullptr);
      if (!choice.notice.empty()) {
        std::fprintf(stderr, "mamba2-server: note: %s\n", choice.notice.c_str());
      }
      template_kind = choice.kind;
    }
    const std::optional<Tokenizer> tokenizer = apps::model_tokenizer(*model);
    const Tokenizer* tokenizer_ptr = tokenizer ? &*tokenizer : nullptr;
    if (!tokenizer && template_kind != ChatTemplateKind::kPlain) {
      throw Error("--template", "the model has no tokenizer, so only the plain template applies");
    }
    settings.model_name =
        alias.empty() ? std::filesystem::path(model_path).filename().string() : alias;

    // States are restored only onto the model they were computed with.
    const server::StoreIdentity identity{model_fingerprint(*model), model->config()};
    const int64_t max_tokens = settings.limits.max_prompt_tokens + settings.limits.max_tokens;
    std::unique_ptr<server::StateStore> shared_store;
    if (!state_dir.empty()) {
      shared_store = std::make_unique<server::DirStateStore>(state_dir, identity,
                                                             state_dir_mib << 20, max_tokens);
    } else if (!redis_address.empty()) {
      const server::RedisOptions address = server::parse_redis_address(redis_address);
      redis_options.host = address.host;
      redis_options.port = address.port;
      redis_options.max_tokens = max_tokens;
      shared_store = std::make_unique<server::RedisStateStore>(redis_options, identity);
    }

    server::Metrics metrics;
    server::Scheduler scheduler(model, tokenizer_ptr, scheduler_options, metrics,
                                std::move(shared_store));
    const server::ApiContext api{
        settings,      &model->config(),
        tokenizer_ptr, apps::model_chat_template(template_kind, tokenizer_ptr),
        &scheduler,    &metrics};
    httplib::Server http;
    const int pool =
        http_threads > 0 ? http_threads : static_cast<int>(scheduler_options.parallel) + 8;
    http.new_task_queue = [pool] { return new httplib::ThreadPool(static_cast<size_t>(pool)); };
    http.set_payload_max_length(static_cast<size_t>(max_body));
    server::install_api(http, api);

    const int bound =
        port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
    if (bound < 0) throw Error(host + ":" + std::to_string(port), "cannot listen there");
    // SIGINT and SIGTERM may land on any thread (OpenBLAS starts its own before main): the
    // handler only writes to a pipe, and this thread stops the server.
    std::thread stopper([&] {
      char byte;
      while (read(stop_pipe[0], &byte, 1) < 0 && errno == EINTR) {
      }
      http.stop();
    });
    struct sigaction on_stop {};
    on_stop.sa_handler = [](int) { [[maybe_unused]] const auto n = write(stop_pipe[1], "x", 1); };
    sigaction(SIGINT, &on_stop, nullptr);
    sigaction(SIGTERM, &on_stop, nullptr);
    std::fprintf(stderr, "mamba2-server: listening on http://%s:%d\n", host.c_str(), bound);
    http.listen_after_bind();
    [[maybe_unused]] const auto n = write(stop_pipe[1], "x", 1);  // listening ended otherwise
    stopper.join();
    return 0;
  });
}
