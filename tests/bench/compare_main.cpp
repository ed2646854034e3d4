// livebridge-compare: livebridge against a bridge built on Google's official Node SDK
// (tests/bench/node-bridge) and against the bare MQTT floor, doing the same job: toolCall →
// zigbee2mqtt command (QoS 0) → the light's state → toolResponse. Not a test: it prints a table
// and writes JSON; `tests/bench/run-bench.sh three-way` builds and installs what it needs.
//
// The parts: a private mosquitto, the simulated light in a process of its own (livebridge-sim),
// the fake Live server over plain ws:// (one per bridge, the model's side played by this
// program), livebridge, the Node bridge, and the floor client in this process. The three take
// turns in every round, each round starting with the next of them, so that the shared machine's
// drift falls on all alike. Then: the same under a busy network (state chatter on many topics),
// a daemon with hundreds of declared tools, and livebridge's instructions per call under
// valgrind's callgrind, which unlike the wall clock repeat from run to run.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_parts.hpp"
#include "fake_live_server.hpp"
#include "mqtt_peer.hpp"
#include "notify_socket.hpp"
#include "process.hpp"

namespace lb::bench {
namespace {

using namespace std::chrono_literals;
using test::fake_live_server;

constexpr const char* model_name = "models/gemini-live-2.5-flash-preview";
constexpr const char* api_key = "bench-key";

struct options {
  std::string binary;  // livebridge
  std::string sim;     // livebridge-sim, which plays the light
  std::string node = "node";
  std::string node_bridge;  // bridge.mjs, beside its node_modules
  int rounds = 3;
  long calls = 5000;   // per contender and round
  long warmup = 500;   // per contender, before the first round, not counted
  bool events = true;  // the default config: livebridge publishes its events; the Node bridge has none
  std::string log_level = "info";
  int busy_topics = 200;
  int busy_rate = 2000;  // chatter messages per second, over all topics
  int busy_seconds = 10;
  int tools = 500;
  int startups = 5;
  long callgrind_calls = 2000;
  std::string valgrind = "valgrind";
  std::string callgrind_control = "callgrind_control";
  std::string callgrind_keep;  // a directory for the callgrind profiles of the calls and the chatter
  std::string json_file;
};

// A fake Live server over plain ws:// with the model's side attached.
struct live_end {
  bench_model model;
  std::unique_ptr<fake_live_server> server;
  live_end() {
    fake_live_server::options so;
    so.tls = false;
    so.keep_messages = false;
    so.api_key = api_key;
    server = std::make_unique<fake_live_server>(
        so, [this](fake_live_server::connection& c, const json& m) { model.on_message(c, m); });
    model.attach(*server);
  }
};

std::string rooms_list(const char* separator) {
  std::string rooms = "bench";
  for (int d = 0; d < device_count; ++d) rooms += separator + device_name(d);
  return rooms;
}

std::string config_head(const fake_live_server& server, const test::mosquitto_broker& broker, bool events) {
  return "live:\n  url: " + server.url() + "\n  model: " + model_name + "\nmqtt:\n  url: " + broker.url() +
         "\n  client_id: lb-bench\n  events: " + (events ? "true" : "false") +
         "\ntrust:\n  loop_guard: " + std::to_string(bench_model::loop_guard) + "\ntools:\n";
}

// The one tool both bridges declare.
std::string one_tool_config(const fake_live_server& server, const test::mosquitto_broker& broker,
                            bool events) {
  return config_head(server, broker, events) +
         "  - name: set_light\n"
         "    parameters:\n"
         "      properties:\n"
         "        room: {type: string, enum: [" +
         rooms_list(", ") +
         "]}\n"
         "        state: {type: string, enum: [\"ON\", \"OFF\"]}\n"
         "      required: [room, state]\n"
         "    publish: {topic: \"zigbee2mqtt/{{room}}/set\", payload: {state: \"{{state}}\"}, qos: 0}\n"
         "    ack: {topic: \"zigbee2mqtt/{{room}}\", match: {state: \"{{state}}\"}, timeout: 5s}\n";
}

std::string many_tool_name(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "light_%03d", i);
  return name;
}

// `count` tools, one per light, each with its own command and state topic, as a home that
// declares every device on its own.
std::string many_tools_config(const fake_live_server& server, const test::mosquitto_broker& broker,
                              bool events, int count) {
  std::string out = config_head(server, broker, events);
  for (int i = 0; i < count; ++i) {
    const std::string n = many_tool_name(i);
    out +=
        "  - name: " + n + "\n    description: Switch " + n +
        " on or off\n"
        "    parameters: {properties: {state: {type: string, enum: [\"ON\", \"OFF\"]}}, required: [state]}\n"
        "    publish: {topic: \"zigbee2mqtt/" +
        n + "/set\", payload: {state: \"{{state}}\"}, qos: 0}\n    ack: {topic: \"zigbee2mqtt/" + n +
        "\", match: {state: \"{{state}}\"}, timeout: 5s}\n";
  }
  return out;
}

// The model's failed calls in its last phase; the first of them is shown, so that a broken
// setup says why rather than only counting.
long failures_of(const bench_model& model, const std::string& who) {
  const long failed = model.failed();
  if (failed > 0)
    std::fprintf(stderr, "%s: %ld calls failed, the first: %s\n", who.c_str(), failed,
                 model.first_error().dump().c_str());
  return failed;
}

// The environment systemd gives the packaged service, its state directory among it: the audit
// trail (one record per call, written to audit.jsonl) is on, as it is by default in a home. One
// state directory per daemon (each has a notify socket of its own), so no session handle passes
// from one fake server to the next.
std::map<std::string, std::string> daemon_env(const test::temp_dir& dir, const std::string& notify_path) {
  const std::string state = notify_path + ".state";
  std::filesystem::create_directories(state);
  return {{"CREDENTIALS_DIRECTORY", dir.path()},
          {"GEMINI_API_KEY", ""},
          {"NOTIFY_SOCKET", notify_path},
          {"STATE_DIRECTORY", state}};
}

// One of the three, as the rounds see it.
struct contender {
  contender(std::string n, std::function<std::vector<long long>(long)> r, std::function<long()> f, pid_t p,
            bool own)
      : name(std::move(n)), run(std::move(r)), failed(std::move(f)), pid(p), own_process(own) {}
  std::string name;
  std::function<std::vector<long long>(long)> run;
  std::function<long()> failed;  // calls answered with an error in the last run
  pid_t pid;                     // whose CPU is counted
  bool own_process;              // false: the floor, inside this program; no RSS of its own
  std::vector<long long> samples;
  std::vector<double> round_p50_us;
  long long cpu_ns = 0;
  long failures = 0;
  memory mem;             // after the rounds
  memory mem_after_busy;  // after the busy network too
};

// Chatter on the broker: `rate` state reports per second spread over `topics` zigbee2mqtt
// devices that no call is waiting for, published from a thread of its own until stopped.
class chatter {
 public:
  // `limit`: stop by itself after this many messages (0: only when stopped).
  chatter(const std::string& broker_uri, int topics, int rate, long limit = 0)
      : peer_(broker_uri, "bench-chatter"), topics_(topics), rate_(rate), limit_(limit) {}
  ~chatter() { stop(); }
  void start() {
    running_ = true;
    thread_ = std::thread([this] { loop(); });
  }
  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }
  // With a limit: waits until all of it is published.
  void finish() {
    if (thread_.joinable()) thread_.join();
  }
  long published() const { return published_.load(); }

 private:
  void loop() {
    constexpr auto slice = 10ms;
    const long per_slice = std::max(1L, static_cast<long>(rate_) / 100);
    auto next = clock::now();
    long n = 0;
    while (running_ && (limit_ == 0 || n < limit_)) {
      for (long i = 0; i < per_slice && (limit_ == 0 || n < limit_); ++i, ++n) {
        char topic[64];
        std::snprintf(topic, sizeof topic, "zigbee2mqtt/chatter_%03ld", n % topics_);
        peer_.publish(topic,
                      json{{"state", n % 3 ? "ON" : "OFF"},
                           {"brightness", n % 255},
                           {"linkquality", 60 + n % 100},
                           {"power", static_cast<double>(n % 500) / 10.0},
                           {"update", {{"state", "idle"}}}}
                          .dump(),
                      0);
        published_.fetch_add(1);
      }
      next += slice;
      std::this_thread::sleep_until(next);
    }
  }

  test::mqtt_peer peer_;
  int topics_;
  int rate_;
  long limit_;
  std::atomic<bool> running_{false};
  std::atomic<long> published_{0};
  std::thread thread_;
};

// The last "totals:" of a callgrind dump: the instructions (Ir) it counted.
long long callgrind_total(const std::string& file) {
  std::ifstream in(file);
  long long total = -1;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("totals:", 0) == 0) total = std::stoll(line.substr(7));
  }
  return total;
}

// What callgrind counted in livebridge: from exec to connected, and per call.
struct callgrind_result {
  long long startup_instructions = -1;
  double instructions_per_call = -1;
  double idle_instructions_per_second = -1;
  double instructions_per_unwanted_message = -1;  // less the idle rate; 1 tool only
  long unwanted_messages = 0;
  double seconds = 0;  // the calls' wall time under callgrind
  long calls = 0;
  long failed = 0;
};

callgrind_result run_callgrind(const options& opt, const test::temp_dir& dir,
                               const test::mosquitto_broker& broker, const std::string& label, int tools) {
  live_end end;
  const std::string config = dir.file("callgrind-" + label + ".yaml");
  dir.write("callgrind-" + label + ".yaml", tools > 0
                                                ? many_tools_config(*end.server, broker, opt.events, tools)
                                                : one_tool_config(*end.server, broker, opt.events));
  const std::string out = dir.file("callgrind-" + label + ".out");
  test::notify_socket notify(dir.file("notify-cg-" + label));
  test::process bridge({opt.valgrind, "--tool=callgrind", "--callgrind-out-file=" + out, opt.binary,
                        "--config", config, "--log-level", opt.log_level},
                       dir.file("callgrind-" + label + ".log"), daemon_env(dir, notify.path()));
  if (wait_until_up(notify, 180s) < 0 || !end.model.wait_connected(30s))
    throw std::runtime_error("livebridge under callgrind did not come up: " + bridge.log());
  const std::string pid = std::to_string(bridge.pid());
  callgrind_result r;
  // Each dump holds what was counted since the one before (or since a zero).
  if (test::run({opt.callgrind_control, "--dump=startup", pid}, dir.file("callgrind-control.log")) != 0)
    throw std::runtime_error("callgrind_control --dump failed: " +
                             test::read_file(dir.file("callgrind-control.log")));
  r.startup_instructions = callgrind_total(out + ".1");

  auto call = [tools](long remaining) {
    if (tools == 0) return bench_model::set_light_round_robin(remaining);
    return json{{"name", many_tool_name(static_cast<int>(remaining % tools))},
                {"args", {{"state", (remaining / tools) % 2 ? "ON" : "OFF"}}}};
  };
  end.model.round_trips(std::max(20L, opt.callgrind_calls / 10), call);  // warm caches and pools
  // What the daemon counts while nothing happens (its timers, paho's threads), so that the
  // per-call figure can be seen not to depend on how long the calls took.
  test::run({opt.callgrind_control, "--zero", pid}, dir.file("callgrind-control.log"));
  const auto idle_started = clock::now();
  std::this_thread::sleep_for(2s);
  test::run({opt.callgrind_control, "--dump=idle", pid}, dir.file("callgrind-control.log"));
  const double idle_seconds = static_cast<double>(ns_since(idle_started)) / 1e9;
  r.idle_instructions_per_second = static_cast<double>(callgrind_total(out + ".2")) / idle_seconds;

  test::run({opt.callgrind_control, "--zero", pid}, dir.file("callgrind-control.log"));
  const auto calls_started = clock::now();
  end.model.round_trips(opt.callgrind_calls, call);
  r.failed = failures_of(end.model, "livebridge under callgrind");
  test::run({opt.callgrind_control, "--dump=calls", pid}, dir.file("callgrind-control.log"));
  r.seconds = static_cast<double>(ns_since(calls_started)) / 1e9;
  r.calls = opt.callgrind_calls;
  const long long calls_total = callgrind_total(out + ".3");
  if (calls_total >= 0)
    r.instructions_per_call = static_cast<double>(calls_total) / static_cast<double>(r.calls);
  // State reports on topics the daemon is subscribed to (zigbee2mqtt/+) that no call waits for.
  if (tools == 0 && opt.busy_topics > 0) {
    constexpr long messages = 5000;
    test::run({opt.callgrind_control, "--zero", pid}, dir.file("callgrind-control.log"));
    const auto started = clock::now();
    chatter talk(broker.uri(), opt.busy_topics, opt.busy_rate, messages);
    talk.start();
    talk.finish();
    // Until the daemon has worked through them: its CPU time stands still for half a second.
    for (long long before = -1, now = stat_cpu_ns(bridge.pid()); now != before;
         now = stat_cpu_ns(bridge.pid())) {
      before = now;
      std::this_thread::sleep_for(500ms);
    }
    test::run({opt.callgrind_control, "--dump=chatter", pid}, dir.file("callgrind-control.log"));
    const double seconds = static_cast<double>(ns_since(started)) / 1e9;
    const double counted = static_cast<double>(callgrind_total(out + ".4"));
    r.unwanted_messages = messages;
    r.instructions_per_unwanted_message =
        (counted - r.idle_instructions_per_second * seconds) / static_cast<double>(messages);
  }
  if (!opt.callgrind_keep.empty()) {
    std::ifstream from(out + ".3", std::ios::binary);
    std::ofstream(opt.callgrind_keep + "/callgrind-" + label + "-calls.out", std::ios::binary)
        << from.rdbuf();
    std::ifstream chatter_from(out + ".4", std::ios::binary);
    if (chatter_from)
      std::ofstream(opt.callgrind_keep + "/callgrind-" + label + "-chatter.out", std::ios::binary)
          << chatter_from.rdbuf();
  }
  bridge.signal(SIGTERM);
  bridge.wait(60s);
  return r;
}

struct startup_result {
  percentiles to_ready, to_connected;  // from exec
  std::size_t setup_bytes = 0;         // the setup frame the daemon sent
};

// Start-up of the daemon with `config`, `opt.startups` times: exec → READY=1 and exec → both
// links up (the Live setup answered, every SUBACK in), the latter to within about a millisecond.
startup_result measure_startups(const options& opt, const test::temp_dir& dir, fake_live_server& server,
                                const std::string& config, const std::string& label) {
  std::vector<long long> ready, connected;
  startup_result r;
  for (int i = 0; i < opt.startups; ++i) {
    test::notify_socket notify(dir.file("notify-" + label + "-" + std::to_string(i)));
    const auto started = clock::now();
    test::process p({opt.binary, "--config", config, "--log-level", opt.log_level}, dir.file("startup.log"),
                    daemon_env(dir, notify.path()));
    const int r_index = notify.wait_for("READY=1", 30s);
    // Both links up, as the log says: STATUS= goes out at most once a second, too coarse here.
    const auto deadline = clock::now() + 60s;
    while (clock::now() < deadline && (p.log_count("mqtt.connected") == 0 || p.log_count("live.ready") == 0))
      std::this_thread::sleep_for(1ms);
    const auto up_at = clock::now();
    if (r_index < 0 || up_at >= deadline) throw std::runtime_error("no start-up (" + label + "): " + p.log());
    ready.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(notify.arrived_at(r_index) - started).count());
    connected.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(up_at - started).count());
    p.signal(SIGTERM);
    p.wait(10s);
  }
  const auto seen = server.received();
  if (!seen.empty()) r.setup_bytes = seen.back().dump().size();
  r.to_ready = summarize(ready);
  r.to_connected = summarize(connected);
  return r;
}

std::string node_versions(const std::string& log) {
  const std::string marker = "node-bridge: ready (";
  const auto at = log.find(marker);
  if (at == std::string::npos) return "";
  const auto end = log.find(')', at);
  return log.substr(at + marker.size(), end - at - marker.size());
}

int run(const options& opt) {
  test::temp_dir dir;
  test::mosquitto_broker broker(dir);
  dir.write("gemini-api-key", std::string(api_key) + "\n");

  // The light (and the many-tools phase's lights) in a process of its own, so that this
  // program's CPU while the floor runs is the floor's.
  std::vector<std::string> sim_argv{opt.sim, "--mqtt", broker.uri(), "--z2m-light", "bench"};
  for (int d = 0; d < device_count; ++d) {
    sim_argv.push_back("--z2m-light");
    sim_argv.push_back(device_name(d));
  }
  for (int i = 0; i < opt.tools; ++i) {
    sim_argv.push_back("--z2m-light");
    sim_argv.push_back(many_tool_name(i));
  }
  test::process sim(sim_argv, dir.file("sim.log"));
  if (!sim.wait_for_log("url=", 30s)) throw std::runtime_error("livebridge-sim did not start: " + sim.log());

  std::printf(
      "livebridge-compare: %d rounds × %ld sequential calls per contender (after %ld warm-up calls)\n",
      opt.rounds, opt.calls, opt.warmup);
  std::fflush(stdout);

  // livebridge.
  live_end lb_end;
  dir.write("livebridge.yaml", one_tool_config(*lb_end.server, broker, opt.events));
  test::notify_socket notify(dir.file("notify"));
  auto bridge = std::make_unique<test::process>(
      std::vector<std::string>{opt.binary, "--config", dir.file("livebridge.yaml"), "--log-level",
                               opt.log_level},
      dir.file("livebridge.log"), daemon_env(dir, notify.path()));
  if (wait_until_up(notify) < 0 || !lb_end.model.wait_connected(10s))
    throw std::runtime_error("livebridge did not come up: " + bridge->log());

  // The Node bridge, on its own fake server.
  live_end node_end;
  const std::string base_url = "http://127.0.0.1:" + std::to_string(node_end.server->port());
  auto node = std::make_unique<test::process>(
      std::vector<std::string>{opt.node, opt.node_bridge, "--base-url", base_url, "--broker", broker.url(),
                               "--model", model_name, "--rooms", rooms_list(",")},
      dir.file("node.log"), std::map<std::string, std::string>{{"GEMINI_API_KEY", api_key}});
  if (!node->wait_for_log("node-bridge: ready", 60s) || !node_end.model.wait_connected(10s))
    throw std::runtime_error("the Node bridge did not come up: " + node->log());
  const std::string versions = node_versions(node->log());

  floor_client floor_mqtt(broker.uri(), 0);

  std::vector<contender> all;
  all.emplace_back(
      "floor: MQTT client → broker → light → back", [&](long n) { return floor_mqtt.round_trips(n); },
      [] { return 0L; }, ::getpid(), false);
  all.emplace_back(
      "livebridge: toolCall → toolResponse", [&](long n) { return lb_end.model.round_trips(n); },
      [&] { return failures_of(lb_end.model, "livebridge"); }, bridge->pid(), true);
  all.emplace_back(
      "Node SDK bridge: toolCall → toolResponse", [&](long n) { return node_end.model.round_trips(n); },
      [&] { return failures_of(node_end.model, "Node bridge"); }, node->pid(), true);

  for (auto& c : all) {
    c.run(opt.warmup);
    c.failures += c.failed();
  }
  for (int r = 0; r < opt.rounds; ++r) {
    std::printf("round %d of %d ...\n", r + 1, opt.rounds);
    std::fflush(stdout);
    for (std::size_t k = 0; k < all.size(); ++k) {
      contender& c = all[(static_cast<std::size_t>(r) + k) % all.size()];
      const long long cpu_before = stat_cpu_ns(c.pid);
      auto samples = c.run(opt.calls);
      c.cpu_ns += stat_cpu_ns(c.pid) - cpu_before;
      c.failures += c.failed();
      c.round_p50_us.push_back(summarize(samples).p50);
      c.samples.insert(c.samples.end(), samples.begin(), samples.end());
    }
  }
  for (auto& c : all) {
    if (c.own_process) c.mem = memory_of(c.pid);
  }

  // Busy network: state chatter on topics both bridges are subscribed to (zigbee2mqtt/+).
  struct busy_figures {
    double cpu_us_per_message = 0;
    double idle_cpu_ms_per_s = 0;
    std::vector<long long> samples;
    long failures = 0;
  };
  std::vector<busy_figures> busy(all.size());
  double achieved_rate = 0;
  long chatter_messages = 0;
  if (opt.busy_seconds > 0) {
    std::printf("busy network: %d topics, %d messages/s, %d s without calls, then %ld calls each ...\n",
                opt.busy_topics, opt.busy_rate, opt.busy_seconds, opt.calls);
    std::fflush(stdout);
    const auto quiet = std::chrono::seconds(std::max(1, opt.busy_seconds / 2));
    std::vector<long long> cpu0(all.size()), cpu1(all.size()), cpu2(all.size());
    for (std::size_t i = 0; i < all.size(); ++i) cpu0[i] = stat_cpu_ns(all[i].pid);
    std::this_thread::sleep_for(quiet);
    for (std::size_t i = 0; i < all.size(); ++i) cpu1[i] = stat_cpu_ns(all[i].pid);
    chatter talk(broker.uri(), opt.busy_topics, opt.busy_rate);
    const auto started = clock::now();
    talk.start();
    std::this_thread::sleep_for(std::chrono::seconds(opt.busy_seconds));
    chatter_messages = talk.published();
    const double seconds = static_cast<double>(ns_since(started)) / 1e9;
    for (std::size_t i = 0; i < all.size(); ++i) cpu2[i] = stat_cpu_ns(all[i].pid);
    achieved_rate = static_cast<double>(chatter_messages) / seconds;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const double idle_ns_per_s =
          static_cast<double>(cpu1[i] - cpu0[i]) / static_cast<double>(std::chrono::seconds(quiet).count());
      busy[i].idle_cpu_ms_per_s = idle_ns_per_s / 1e6;
      const double extra_ns = static_cast<double>(cpu2[i] - cpu1[i]) - idle_ns_per_s * seconds;
      busy[i].cpu_us_per_message = extra_ns / 1e3 / static_cast<double>(std::max(1L, chatter_messages));
    }
    for (std::size_t i = 0; i < all.size(); ++i) {
      busy[i].samples = all[i].run(opt.calls);
      busy[i].failures = all[i].failed();
    }
    talk.stop();
  }
  for (auto& c : all) {
    if (c.own_process) c.mem_after_busy = memory_of(c.pid);
  }
  node->signal(SIGTERM);
  node->wait(10s);
  node.reset();
  bridge->signal(SIGTERM);
  bridge->wait(10s);
  bridge.reset();

  // Many declared tools: start-up, and the per-call cost with every call to another tool.
  std::optional<startup_result> startup_one, startup_many;
  percentiles many_round_trip;
  double many_cpu_us_per_call = 0;
  memory many_mem;
  long many_failures = 0;
  auto many_call = [&opt](long remaining) {
    return json{{"name", many_tool_name(static_cast<int>(remaining % opt.tools))},
                {"args", {{"state", (remaining / opt.tools) % 2 ? "ON" : "OFF"}}}};
  };
  if (opt.tools > 0) {
    std::printf("%d declared tools: %d start-ups each of 1 and %d tools, then %ld calls ...\n", opt.tools,
                opt.startups, opt.tools, opt.calls);
    std::fflush(stdout);
    {
      live_end startup_end;
      dir.write("startup-one.yaml", one_tool_config(*startup_end.server, broker, opt.events));
      dir.write("startup-many.yaml", many_tools_config(*startup_end.server, broker, opt.events, opt.tools));
      startup_one = measure_startups(opt, dir, *startup_end.server, dir.file("startup-one.yaml"), "one");
      startup_many = measure_startups(opt, dir, *startup_end.server, dir.file("startup-many.yaml"), "many");
    }
    live_end many_end;
    dir.write("many.yaml", many_tools_config(*many_end.server, broker, opt.events, opt.tools));
    test::notify_socket many_notify(dir.file("notify-many"));
    test::process many({opt.binary, "--config", dir.file("many.yaml"), "--log-level", opt.log_level},
                       dir.file("many.log"), daemon_env(dir, many_notify.path()));
    if (wait_until_up(many_notify, 60s) < 0 || !many_end.model.wait_connected(10s))
      throw std::runtime_error("livebridge with many tools did not come up: " + many.log());
    many_end.model.round_trips(opt.warmup, many_call);
    many_failures += failures_of(many_end.model, "livebridge, many tools");
    const long long cpu_before = stat_cpu_ns(many.pid());
    many_round_trip = summarize(many_end.model.round_trips(opt.calls, many_call));
    many_cpu_us_per_call =
        static_cast<double>(stat_cpu_ns(many.pid()) - cpu_before) / 1e3 / static_cast<double>(opt.calls);
    many_failures += failures_of(many_end.model, "livebridge, many tools");
    many_mem = memory_of(many.pid());
    many.signal(SIGTERM);
    many.wait(10s);
  }

  // Instructions, counted by callgrind: the same from run to run on any load.
  std::optional<callgrind_result> cg_one, cg_many;
  if (opt.callgrind_calls > 0) {
    std::printf("callgrind: livebridge with 1 tool, then with %d tools, %ld calls each ...\n", opt.tools,
                opt.callgrind_calls);
    std::fflush(stdout);
    cg_one = run_callgrind(opt, dir, broker, "one", 0);
    if (opt.tools > 0) cg_many = run_callgrind(opt, dir, broker, "many", opt.tools);
  }

  // The report.
  const auto floor = summarize(all[0].samples);
  const long total_calls = opt.calls * opt.rounds;
  std::printf("\n%d rounds × %ld sequential calls, QoS 0 commands, plain ws://, mqtt.events %s\n", opt.rounds,
              opt.calls, opt.events ? "on" : "off");
  std::printf("%-42s %9s %9s %9s %11s %9s %9s\n", "tool round trip (µs)", "p50", "p90", "p99", "over floor",
              "CPU/call", "peak RSS");
  std::printf("%-42s %9s %9s %9s %11s %9s %9s\n", "", "", "", "", "(p50, µs)", "(µs)", "(MiB)");
  for (const auto& c : all) {
    const auto p = summarize(c.samples);
    const double cpu = static_cast<double>(c.cpu_ns) / 1e3 / static_cast<double>(std::max(1L, total_calls));
    char rss[32] = "—";
    if (c.own_process) std::snprintf(rss, sizeof rss, "%.1f", c.mem.hwm_kb / 1024.0);
    std::printf("%-42s %9.1f %9.1f %9.1f %11.1f %9.1f %9s\n", c.name.c_str(), p.p50, p.p90, p.p99,
                p.p50 - floor.p50, cpu, rss);
  }
  std::printf("(floor CPU: this program while only the floor ran in it; Node bridge: %s)\n",
              versions.c_str());
  for (const auto& c : all) {
    std::printf("%s: p50 per round", c.name.substr(0, c.name.find(':')).c_str());
    for (double v : c.round_p50_us) std::printf(" %.1f", v);
    std::printf(" · over 10 ms: %ld of %zu · failed: %ld\n", over_10ms(c.samples), c.samples.size(),
                c.failures);
  }
  if (opt.busy_seconds > 0) {
    std::printf("\nbusy network: %d state topics, %.0f messages/s achieved (%ld in %d s)\n", opt.busy_topics,
                achieved_rate, chatter_messages, opt.busy_seconds);
    std::printf("  CPU per unwanted message: livebridge %.2f µs (target ≤ 10), Node bridge %.2f µs\n",
                busy[1].cpu_us_per_message, busy[2].cpu_us_per_message);
    std::printf("%-42s %9s %9s %9s %11s\n", "  round trip under chatter (µs)", "p50", "p90", "p99",
                "Δp50 quiet");
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto p = summarize(busy[i].samples);
      std::printf("  %-40s %9.1f %9.1f %9.1f %11.1f\n", all[i].name.substr(0, all[i].name.find(':')).c_str(),
                  p.p50, p.p90, p.p99, p.p50 - summarize(all[i].samples).p50);
    }
  }
  if (startup_one && startup_many) {
    std::printf("\n%d declared tools (setup frame %.1f KiB; 1 tool: %.1f KiB)\n", opt.tools,
                startup_many->setup_bytes / 1024.0, startup_one->setup_bytes / 1024.0);
    std::printf(
        "  start-up, median of %d (ms): exec → READY=1 %.1f (1 tool %.1f) · exec → connected %.1f (1 tool "
        "%.1f)\n",
        opt.startups, startup_many->to_ready.p50 / 1000.0, startup_one->to_ready.p50 / 1000.0,
        startup_many->to_connected.p50 / 1000.0, startup_one->to_connected.p50 / 1000.0);
    std::printf(
        "  round trip (µs), each call to the next tool: p50 %.1f p90 %.1f p99 %.1f · CPU %.1f µs per call · "
        "peak RSS %.1f MiB · failed %ld\n",
        many_round_trip.p50, many_round_trip.p90, many_round_trip.p99, many_cpu_us_per_call,
        many_mem.hwm_kb / 1024.0, many_failures);
  }
  auto print_cg = [](const char* what, const callgrind_result& r) {
    std::printf(
        "  %-10s %10.0f instructions per call (%ld calls in %.1f s, %ld failed) · idle %.0f per second · "
        "%lld exec → connected\n",
        what, r.instructions_per_call, r.calls, r.seconds, r.failed, r.idle_instructions_per_second,
        r.startup_instructions);
    if (r.unwanted_messages > 0)
      std::printf(
          "  %-10s %10.0f instructions per unwanted message (%ld chatter messages, less the idle rate)\n", "",
          r.instructions_per_unwanted_message, r.unwanted_messages);
  };
  if (cg_one) {
    std::printf("\ncallgrind (livebridge, all threads):\n");
    print_cg("1 tool", *cg_one);
    if (cg_many) print_cg((std::to_string(opt.tools) + " tools").c_str(), *cg_many);
  }

  if (!opt.json_file.empty()) {
    json contenders = json::array();
    for (const auto& c : all) {
      contenders.push_back(
          {{"name", c.name},
           {"round_trip", to_json(summarize(c.samples))},
           {"over_floor_p50_us", summarize(c.samples).p50 - floor.p50},
           {"round_p50_us", c.round_p50_us},
           {"cpu_us_per_call",
            static_cast<double>(c.cpu_ns) / 1e3 / static_cast<double>(std::max(1L, total_calls))},
           {"peak_rss_kb", c.own_process ? json(c.mem.hwm_kb) : json()},
           {"rss_kb", c.own_process ? json(c.mem.rss_kb) : json()},
           {"peak_rss_kb_after_busy_network", c.own_process ? json(c.mem_after_busy.hwm_kb) : json()},
           {"over_10ms", over_10ms(c.samples)},
           {"failed", c.failures}});
    }
    json out = {{"rounds", opt.rounds}, {"calls_per_round", opt.calls}, {"warmup_calls", opt.warmup},
                {"events", opt.events}, {"node_bridge", versions},      {"contenders", contenders}};
    if (opt.busy_seconds > 0) {
      json per = json::array();
      for (std::size_t i = 0; i < all.size(); ++i) {
        per.push_back(
            {{"name", all[i].name},
             {"cpu_us_per_unwanted_message", all[i].own_process ? json(busy[i].cpu_us_per_message) : json()},
             {"idle_cpu_ms_per_s", busy[i].idle_cpu_ms_per_s},
             {"round_trip", to_json(summarize(busy[i].samples))},
             {"failed", busy[i].failures}});
      }
      out["busy_network"] = {{"topics", opt.busy_topics},      {"rate_wanted", opt.busy_rate},
                             {"rate_achieved", achieved_rate}, {"messages", chatter_messages},
                             {"seconds", opt.busy_seconds},    {"contenders", per}};
    }
    if (startup_one && startup_many) {
      auto su = [](const startup_result& s) {
        return json{{"to_ready", to_json(s.to_ready)},
                    {"to_connected", to_json(s.to_connected)},
                    {"setup_bytes", s.setup_bytes}};
      };
      out["many_tools"] = {{"tools", opt.tools},
                           {"startup", su(*startup_many)},
                           {"startup_one_tool", su(*startup_one)},
                           {"round_trip", to_json(many_round_trip)},
                           {"cpu_us_per_call", many_cpu_us_per_call},
                           {"peak_rss_kb", many_mem.hwm_kb},
                           {"failed", many_failures}};
    }
    auto cg = [](const callgrind_result& r) {
      return json{{"instructions_per_call", r.instructions_per_call},
                  {"calls", r.calls},
                  {"failed", r.failed},
                  {"calls_seconds", r.seconds},
                  {"instructions_per_unwanted_message",
                   r.unwanted_messages > 0 ? json(r.instructions_per_unwanted_message) : json()},
                  {"unwanted_messages", r.unwanted_messages},
                  {"idle_instructions_per_second", r.idle_instructions_per_second},
                  {"startup_instructions", r.startup_instructions}};
    };
    if (cg_one)
      out["callgrind"] = {{"one_tool", cg(*cg_one)}, {"many_tools", cg_many ? cg(*cg_many) : json()}};
    std::ofstream(opt.json_file) << out.dump(2) << "\n";
  }

  long failures = many_failures;
  for (const auto& c : all) failures += c.failures;
  for (const auto& b : busy) failures += b.failures;
  if (cg_one) failures += cg_one->failed;
  if (cg_many) failures += cg_many->failed;
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lb::bench

int main(int argc, char** argv) {
  lb::bench::options opt;
  const char* usage =
      "usage: livebridge-compare --binary LIVEBRIDGE --sim LIVEBRIDGE-SIM --node-bridge BRIDGE.mjs [--node "
      "NODE]\n"
      "  [--rounds N] [--calls N] [--warmup N] [--events on|off] [--log-level L]\n"
      "  [--busy-topics N] [--busy-rate N] [--busy-seconds S (0: skip)] [--tools N (0: skip)] [--startups "
      "N]\n"
      "  [--callgrind-calls N (0: skip)] [--valgrind PATH] [--callgrind-control PATH]\n"
      "  [--callgrind-keep DIR (the calls' profiles, for callgrind_annotate)] [--json FILE]\n";
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
        return argv[++i];
      };
      if (a == "--binary")
        opt.binary = value();
      else if (a == "--sim")
        opt.sim = value();
      else if (a == "--node")
        opt.node = value();
      else if (a == "--node-bridge")
        opt.node_bridge = value();
      else if (a == "--rounds")
        opt.rounds = std::stoi(value());
      else if (a == "--calls")
        opt.calls = std::stol(value());
      else if (a == "--warmup")
        opt.warmup = std::stol(value());
      else if (a == "--events")
        opt.events = value() != "off";
      else if (a == "--log-level")
        opt.log_level = value();
      else if (a == "--busy-topics")
        opt.busy_topics = std::stoi(value());
      else if (a == "--busy-rate")
        opt.busy_rate = std::stoi(value());
      else if (a == "--busy-seconds")
        opt.busy_seconds = std::stoi(value());
      else if (a == "--tools")
        opt.tools = std::stoi(value());
      else if (a == "--startups")
        opt.startups = std::stoi(value());
      else if (a == "--callgrind-calls")
        opt.callgrind_calls = std::stol(value());
      else if (a == "--valgrind")
        opt.valgrind = value();
      else if (a == "--callgrind-control")
        opt.callgrind_control = value();
      else if (a == "--callgrind-keep")
        opt.callgrind_keep = value();
      else if (a == "--json")
        opt.json_file = value();
      else {
        std::fputs(usage, stderr);
        return 64;
      }
    }
    if (opt.binary.empty() || opt.sim.empty() || opt.node_bridge.empty() || opt.rounds < 1 || opt.calls < 1 ||
        opt.busy_topics < 1) {
      std::fputs(usage, stderr);
      return 64;
    }
    return lb::bench::run(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "livebridge-compare: %s\n", e.what());
    return 1;
  }
}
