// livebridge-bench: the tool round trip, throughput, memory, idle CPU and start-up of the real
// livebridge binary, side by side with the MQTT floor, in one run. Not a test: it prints a table
// and writes JSON; tests/bench/run-bench.sh builds what it needs and calls it.
//
// The parts: a private mosquitto (set_tcp_nodelay, as deploy/ recommends), an instantly
// acknowledging simulated zigbee2mqtt bridge, the fake Live server over TLS driven by this
// program, and livebridge itself. The floor is a minimal MQTT client doing the same set → state
// round trip through the same broker and simulator.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_parts.hpp"
#include "devices.hpp"
#include "fake_live_server.hpp"
#include "mqtt_peer.hpp"
#include "notify_socket.hpp"
#include "process.hpp"
#include "simulated_model.hpp"

namespace lb::bench {
namespace {

using namespace std::chrono_literals;
using test::fake_live_server;

constexpr long round_trip_blocks = 10;  // the floor and livebridge take turns, this many each

struct options {
  std::string binary;
  long calls = 10000;      // sequential round trips, and the floor's
  long long_calls = 0;     // then this many more, to compare memory after 10k and after 100k
  long batches = 1000;     // throughput: toolCalls of 16 calls each
  int idle_seconds = 60;   // idle CPU is measured over this
  int startups = 5;        // start-up to READY=1, median of this many
  int audio_seconds = 60;  // length of the spoken answer streamed for the AUDIO memory phase
  std::string log_level = "info";
  bool events = true;  // mqtt.events: two extra publishes per call
  std::string json_file;
};

std::string bench_config(const fake_live_server& server, const test::mosquitto_broker& broker,
                         const test::test_pki& pki, bool events, const std::string& live_extra = {}) {
  std::string rooms = "bench";
  for (int d = 0; d < device_count; ++d) rooms += ", " + device_name(d);
  return "live:\n  url: " + server.url() +
         "\n  model: models/gemini-live-2.5-flash-preview\n  ca_file: " + pki.ca_cert + "\n" + live_extra +
         "mqtt:\n  url: " + broker.url() +
         "\n  client_id: lb-bench\n  events: " + (events ? "true" : "false") +
         "\ntrust:\n  loop_guard: " + std::to_string(bench_model::loop_guard) +
         "\n"
         "tools:\n"
         "  - name: set_light\n"
         "    parameters:\n"
         "      properties:\n"
         "        room: {type: string, enum: [" +
         rooms +
         "]}\n"
         "        state: {type: string, enum: [\"ON\", \"OFF\"]}\n"
         "      required: [room, state]\n"
         "    publish: {topic: \"zigbee2mqtt/{{room}}/set\", payload: {state: \"{{state}}\"}}\n"
         "    ack: {topic: \"zigbee2mqtt/{{room}}\", match: {state: \"{{state}}\"}, timeout: 5s}\n";
}

std::vector<long long> read_probe(const std::string& file, const char* key, std::size_t first) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  const json doc = json::parse(text.str(), nullptr, false);
  std::vector<long long> out;
  if (!doc.is_object() || !doc.contains(key)) return out;
  for (const auto& v : doc[key]) {
    if (out.size() == first) break;
    out.push_back(v.get<long long>());
  }
  return out;
}

// The fake Live server as both daemons meet it: TLS, the bench's API key, no message log.
fake_live_server::options server_options(const test::test_pki& pki) {
  fake_live_server::options so;
  so.cert_chain_file = pki.server_cert;
  so.private_key_file = pki.server_key;
  so.keep_messages = false;
  so.api_key = "bench-key";
  return so;
}

// What the AUDIO phase saw of the daemon's memory.
struct audio_result {
  memory before;             // connected and idle, before the prompt
  long sampled_peak_kb = 0;  // highest RSS sampled every 100 ms while the answer streamed in
  memory after;              // a second after the reply; hwm_kb is the process's peak ever
  double reply_seconds = 0;  // the audio the reply says was kept
};

// A daemon configured for spoken answers is asked one prompt, which the model answers with
// `opt.audio_seconds` of speech streamed in real time: a 100 ms chunk of 24 kHz PCM every 100 ms,
// each with its transcript fragment, as a native-audio model does.
audio_result measure_audio(const options& opt, const test::temp_dir& dir, const test::test_pki& pki,
                           const test::mosquitto_broker& broker, std::map<std::string, std::string> env) {
  constexpr int chunk_ms = 100;
  const json part = test::audio_part(test::tone(chunk_ms / 1000.0));
  const json chunk = {
      {"serverContent",
       {{"modelTurn", {{"parts", json::array({part})}}}, {"outputTranscription", {{"text", " and then"}}}}}};
  // Runs on the server's thread only; `left` chunks still to send.
  std::function<void(fake_live_server::connection&, int)> stream = [&](fake_live_server::connection& conn,
                                                                       int left) {
    conn.send(chunk);
    if (left > 1) {
      conn.after(std::chrono::milliseconds(chunk_ms), [&stream, &conn, left] { stream(conn, left - 1); });
      return;
    }
    conn.send(json{{"serverContent", {{"generationComplete", true}}}});
    conn.send(json{{"serverContent", {{"turnComplete", true}}}});
  };

  const auto so = server_options(pki);
  const int chunks = opt.audio_seconds * 1000 / chunk_ms;
  fake_live_server server(so, [&](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("clientContent")) stream(conn, chunks);
  });
  dir.write("audio.yaml",
            bench_config(server, broker, pki, opt.events,
                         "  response_modality: AUDIO\n  audio: {directory: " + dir.file("audio") + "}\n"));
  test::notify_socket notify(dir.file("notify-audio"));
  env["NOTIFY_SOCKET"] = notify.path();
  env.erase("LIVEBRIDGE_PROBE_FILE");  // the round-trip daemon's probes are read after this phase
  test::process bridge({opt.binary, "--config", dir.file("audio.yaml"), "--log-level", opt.log_level},
                       dir.file("audio.log"), env);
  if (wait_until_up(notify) < 0)
    throw std::runtime_error("livebridge (AUDIO) did not come up: " + bridge.log());
  test::mqtt_peer asker(broker.uri(), "bench-asker");
  asker.subscribe("livebridge/reply");
  std::this_thread::sleep_for(2s);

  audio_result result;
  result.before = memory_of(bridge.pid());
  std::printf("AUDIO: a %d s spoken answer, streamed in real time ...\n", opt.audio_seconds);
  std::fflush(stdout);
  asker.publish("livebridge/prompt", json{{"id", "story"}, {"text", "Tell me a long story."}}.dump());
  const auto deadline = clock::now() + std::chrono::seconds(opt.audio_seconds + 60);
  std::vector<test::seen_message> replies;
  while (replies.empty() && clock::now() < deadline) {
    result.sampled_peak_kb = std::max(result.sampled_peak_kb, memory_of(bridge.pid()).rss_kb);
    std::this_thread::sleep_for(100ms);
    replies = asker.messages_on("livebridge/reply");
  }
  if (replies.empty()) throw std::runtime_error("no reply to the AUDIO prompt: " + bridge.log());
  std::this_thread::sleep_for(1s);  // steady again: the turn's memory is given back after the reply
  result.after = memory_of(bridge.pid());
  const json reply = json::parse(replies.front().payload, nullptr, false);
  if (!reply.is_object() || !reply.contains("audio"))
    throw std::runtime_error("the AUDIO reply has no audio: " + replies.front().payload);
  result.reply_seconds = reply["audio"].value("seconds", 0.0);
  bridge.signal(SIGTERM);
  bridge.wait(10s);
  return result;
}

int run(const options& opt) {
  test::temp_dir dir;
  test::test_pki pki(dir);
  test::mosquitto_broker broker(dir);
  std::set<std::string> names{"bench"};
  for (int d = 0; d < device_count; ++d) names.insert(device_name(d));
  test::z2m_bridge z2m(broker.uri(), names);

  std::printf(
      "livebridge-bench: %ld round trips, %ld more for the memory comparison, %ld×16 throughput calls\n",
      opt.calls, opt.long_calls, opt.batches);
  std::fflush(stdout);

  bench_model model;
  const auto so = server_options(pki);
  fake_live_server server(
      so, [&model](fake_live_server::connection& c, const json& m) { model.on_message(c, m); });
  model.attach(server);
  dir.write("livebridge.yaml", bench_config(server, broker, pki, opt.events));
  dir.write("gemini-api-key", "bench-key\n");
  std::map<std::string, std::string> env{{"CREDENTIALS_DIRECTORY", dir.path()},
                                         {"GEMINI_API_KEY", ""},
                                         {"LIVEBRIDGE_PROBE_FILE", dir.file("probes.json")}};
  const std::vector<std::string> argv{opt.binary, "--config", dir.file("livebridge.yaml"), "--log-level",
                                      opt.log_level};

  // 1. Start-up: process start → READY=1, with broker and server local.
  std::vector<long long> startups;
  for (int i = 0; i < opt.startups; ++i) {
    test::notify_socket notify(dir.file("notify-" + std::to_string(i)));
    env["NOTIFY_SOCKET"] = notify.path();
    const auto started = clock::now();
    test::process p(argv, dir.file("startup.log"), env);
    const int index = notify.wait_for("READY=1", 10s);
    if (index < 0) throw std::runtime_error("no READY=1: " + p.log());
    startups.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(notify.arrived_at(index) - started).count());
    p.signal(SIGTERM);
    p.wait(10s);
  }

  // 2. The daemon under measurement; up when its STATUS= says both sides are connected.
  test::notify_socket notify(dir.file("notify"));
  env["NOTIFY_SOCKET"] = notify.path();
  test::process bridge(argv, dir.file("livebridge.log"), env);
  if (wait_until_up(notify) < 0 || !model.wait_connected(10s))
    throw std::runtime_error("livebridge did not come up: " + bridge.log());
  std::this_thread::sleep_for(2s);
  const memory idle = memory_of(bridge.pid());
  const long long cpu_before = cpu_ns(bridge.pid());
  std::printf("idle for %d s ...\n", opt.idle_seconds);
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(opt.idle_seconds));
  const double idle_cpu_ms_per_min = static_cast<double>(cpu_ns(bridge.pid()) - cpu_before) / 1e6 *
                                     (60.0 / static_cast<double>(opt.idle_seconds));

  // 3. Round trips, the floor's and livebridge's in alternating blocks, so that the machine's
  // drift over the run (large on a shared VM) falls on both alike.
  std::vector<long long> floor_samples, round_trip_samples;
  long round_trip_failed = 0;
  {
    floor_client floor_mqtt(broker.uri(), 1);
    for (long done = 0; done < opt.calls;) {
      const long block = std::min(opt.calls - done, std::max(1L, opt.calls / round_trip_blocks));
      for (auto ns : floor_mqtt.round_trips(block)) floor_samples.push_back(ns);
      for (auto ns : model.round_trips(block)) round_trip_samples.push_back(ns);
      round_trip_failed += model.failed();
      done += block;
    }
  }
  const auto floor = summarize(floor_samples);
  const long floor_stalls = over_10ms(floor_samples);
  const auto round_trip = summarize(round_trip_samples);
  long stalls = over_10ms(round_trip_samples);
  const memory after_calls = memory_of(bridge.pid());
  memory after_long = after_calls;
  if (opt.long_calls > 0) {
    stalls += over_10ms(model.round_trips(opt.long_calls));
    after_long = memory_of(bridge.pid());
  }

  // 4. Throughput.
  long answered = 0, failed = 0;
  const long long cpu_before_throughput = cpu_ns(bridge.pid());
  const double calls_per_second = model.throughput(opt.batches, answered, failed);
  // CPU time is steadier than the wall clock on a shared machine, and says what a call costs.
  const double cpu_us_per_call = static_cast<double>(cpu_ns(bridge.pid()) - cpu_before_throughput) / 1e3 /
                                 static_cast<double>(std::max(1L, answered));
  const memory after_throughput = memory_of(bridge.pid());

  bridge.signal(SIGTERM);
  bridge.wait(10s);

  // 5. Memory during a spoken answer, with its own daemon.
  std::optional<audio_result> audio;
  if (opt.audio_seconds > 0) audio = measure_audio(opt, dir, pki, broker, env);

  const auto frame_to_publish = summarize(
      read_probe(dir.file("probes.json"), "frame_to_publish_ns", static_cast<std::size_t>(opt.calls)));
  const auto ack_to_response = summarize(
      read_probe(dir.file("probes.json"), "ack_to_response_ns", static_cast<std::size_t>(opt.calls)));
  const auto startup = summarize(startups);

  // The report.
  std::printf("\n%-44s %10s %10s %10s %10s\n", "tool round trip (µs)", "p50", "p90", "p99", "max");
  auto row = [](const char* name, const percentiles& p) {
    std::printf("%-44s %10.1f %10.1f %10.1f %10.1f\n", name, p.p50, p.p90, p.p99, p.max);
  };
  row("floor: MQTT client → broker → device → back", floor);
  row("livebridge: toolCall → toolResponse", round_trip);
  std::printf("%-44s %10.1f %10s %10.1f\n", "livebridge − floor", round_trip.p50 - floor.p50, "",
              round_trip.p99 - floor.p99);
  std::printf("%-44s %10.2f %10s %10.2f\n", "livebridge / floor", round_trip.p50 / floor.p50, "",
              round_trip.p99 / floor.p99);
  if (frame_to_publish.n > 0) {
    row("in-process: frame read → publish handed", frame_to_publish);
    row("in-process: ack received → response written", ack_to_response);
  } else {
    std::printf("(in-process probes: not in this build; configure with -DLIVEBRIDGE_PROBES=ON)\n");
  }
  std::printf(
      "\nthroughput: %.0f calls/s (%ld answered, %ld failed, %ld sent); livebridge CPU %.1f µs per call\n",
      calls_per_second, answered, failed, opt.batches * device_count, cpu_us_per_call);
  std::printf("round trips failed: %ld of %ld\n", round_trip_failed, opt.calls);
  std::printf("round trips over 10 ms: livebridge %ld of %ld, floor %ld of %zu\n", stalls,
              opt.calls + opt.long_calls, floor_stalls, floor.n);
  std::printf("RSS (MiB): idle %.1f · after %ld calls %.1f", idle.rss_kb / 1024.0, opt.calls,
              after_calls.rss_kb / 1024.0);
  if (opt.long_calls > 0)
    std::printf(" · after %ld calls %.1f", opt.calls + opt.long_calls, after_long.rss_kb / 1024.0);
  std::printf(" · after throughput %.1f · peak %.1f\n", after_throughput.rss_kb / 1024.0,
              after_throughput.hwm_kb / 1024.0);
  if (audio) {
    std::printf(
        "RSS during a %d s AUDIO reply (MiB): before %.1f · peak sampled %.1f · after the reply %.1f · "
        "peak %.1f (%.1f s of audio kept)\n",
        opt.audio_seconds, audio->before.rss_kb / 1024.0, audio->sampled_peak_kb / 1024.0,
        audio->after.rss_kb / 1024.0, audio->after.hwm_kb / 1024.0, audio->reply_seconds);
  }
  std::printf("idle CPU: %.2f ms per minute\n", idle_cpu_ms_per_min);
  std::printf("start-up to READY=1 (ms): median %.1f, max %.1f over %zu starts\n", startup.p50 / 1000.0,
              startup.max / 1000.0, startup.n);

  if (!opt.json_file.empty()) {
    json out = {
        {"calls", opt.calls},
        {"floor", to_json(floor)},
        {"round_trip", to_json(round_trip)},
        {"round_trip_failed", round_trip_failed},
        {"round_trips_over_10ms", stalls},
        {"floor_round_trips_over_10ms", floor_stalls},
        {"frame_to_publish", to_json(frame_to_publish)},
        {"ack_to_response", to_json(ack_to_response)},
        {"throughput_calls_per_s", calls_per_second},
        {"throughput_answered", answered},
        {"throughput_failed", failed},
        {"throughput_cpu_us_per_call", cpu_us_per_call},
        {"rss_kb",
         {{"idle", idle.rss_kb},
          {"after_calls", after_calls.rss_kb},
          {"after_long_calls", after_long.rss_kb},
          {"after_throughput", after_throughput.rss_kb},
          {"peak", after_throughput.hwm_kb}}},
        {"idle_cpu_ms_per_min", idle_cpu_ms_per_min},
        {"audio", audio ? json{{"seconds", opt.audio_seconds},
                               {"rss_kb_before", audio->before.rss_kb},
                               {"rss_kb_sampled_peak", audio->sampled_peak_kb},
                               {"rss_kb_after", audio->after.rss_kb},
                               {"rss_kb_peak", audio->after.hwm_kb},
                               {"reply_audio_seconds", audio->reply_seconds}}
                        : json()},
        {"startup_to_ready", to_json(startup)},
    };
    std::ofstream(opt.json_file) << out.dump(2) << "\n";
  }
  return round_trip_failed == 0 && failed == 0 && answered == opt.batches * device_count ? 0 : 1;
}

}  // namespace
}  // namespace lb::bench

int main(int argc, char** argv) {
  lb::bench::options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--binary")
      opt.binary = value();
    else if (a == "--calls")
      opt.calls = std::stol(value());
    else if (a == "--long-calls")
      opt.long_calls = std::stol(value());
    else if (a == "--batches")
      opt.batches = std::stol(value());
    else if (a == "--idle-seconds")
      opt.idle_seconds = std::stoi(value());
    else if (a == "--audio-seconds")
      opt.audio_seconds = std::stoi(value());
    else if (a == "--startups")
      opt.startups = std::stoi(value());
    else if (a == "--log-level")
      opt.log_level = value();
    else if (a == "--json")
      opt.json_file = value();
    else if (a == "--events")
      opt.events = value() != "off";
    else {
      std::fprintf(stderr,
                   "usage: livebridge-bench --binary PATH [--calls N] [--long-calls N] [--batches N] "
                   "[--idle-seconds S] [--audio-seconds S] [--startups N] [--log-level L] [--events on|off] "
                   "[--json FILE]\n");
      return 64;
    }
  }
  if (opt.binary.empty()) {
    std::fprintf(stderr, "livebridge-bench: --binary is required\n");
    return 64;
  }
  try {
    return lb::bench::run(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "livebridge-bench: %s\n", e.what());
    return 1;
  }
}
