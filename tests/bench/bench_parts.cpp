#include "bench_parts.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

// mqtt_peer.hpp names paho's ::mqtt as `mqtt` inside lb::test, so it comes before lb::mqtt.
#include "mqtt_peer.hpp"
// (keep this order)
#include "mqtt/tcp_nodelay.hpp"

namespace lb::bench {

using test::fake_live_server;

long long ns_since(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - t).count();
}

long over_10ms(const std::vector<long long>& samples_ns) {
  return static_cast<long>(
      std::count_if(samples_ns.begin(), samples_ns.end(), [](long long ns) { return ns > 10'000'000; }));
}

percentiles summarize(std::vector<long long> ns) {
  percentiles p;
  p.n = ns.size();
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    const auto i =
        static_cast<std::size_t>(std::max(0.0, q * static_cast<double>(ns.size()) - 1.0 + 0.999999));
    return static_cast<double>(ns[std::min(i, ns.size() - 1)]) / 1000.0;
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = static_cast<double>(ns.back()) / 1000.0;
  return p;
}

json to_json(const percentiles& p) {
  return json{{"n", p.n}, {"p50_us", p.p50}, {"p90_us", p.p90}, {"p99_us", p.p99}, {"max_us", p.max}};
}

memory memory_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  memory m;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_kb = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_kb = std::stol(line.substr(6));
  }
  return m;
}

long long cpu_ns(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  long long total = 0;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(dir + "/" + e->d_name + "/schedstat");
      long long ran = 0;
      if (in >> ran) total += ran;
    }
    ::closedir(d);
  }
  return total;
}

long long stat_cpu_ns(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are
  // state (3) … utime (14), stime (15).
  const auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(s.substr(close + 1));
  std::string skip;
  for (int field = 3; field <= 13; ++field) fields >> skip;
  long long utime = 0, stime = 0;
  fields >> utime >> stime;
  static const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  return (utime + stime) * (1'000'000'000LL / ticks_per_second);
}

int wait_until_up(const test::notify_socket& notify, std::chrono::milliseconds timeout) {
  return notify.wait_until(
      [](const std::string& m) {
        return m.find("live: connected") != std::string::npos &&
               m.find("mqtt: connected ·") != std::string::npos;
      },
      timeout);
}

floor_client::floor_client(const std::string& broker_uri, int command_qos, const std::string& device)
    : cli_(broker_uri, "bench-floor", ::mqtt::create_options(MQTTVERSION_5)),
      qos_(command_qos),
      set_topic_("zigbee2mqtt/" + device + "/set") {
  cli_.set_message_callback([this](::mqtt::const_message_ptr msg) { on_state(msg->to_string()); });
  cli_.connect(::mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).clean_start(true).finalize())
      ->wait();
  lb::mqtt::set_tcp_nodelay_towards(test::port_of(broker_uri));  // as livebridge does
  cli_.subscribe("zigbee2mqtt/" + device, 1)->wait();
}

floor_client::~floor_client() {
  try {
    cli_.disconnect()->wait();
  } catch (const ::mqtt::exception&) {
  }
}

std::vector<long long> floor_client::round_trips(long calls) {
  {
    std::lock_guard lock(mutex_);
    samples_.clear();
    samples_.reserve(static_cast<std::size_t>(calls));
    remaining_ = calls;
  }
  send();
  std::unique_lock lock(mutex_);
  finished_.wait(lock, [&] { return remaining_ == 0; });
  return std::move(samples_);
}

void floor_client::send() {
  sent_at_ = clock::now();
  cli_.publish(::mqtt::make_message(set_topic_, json{{"state", wanted()}}.dump(), qos_, false));
}

void floor_client::on_state(const std::string& payload) {
  const json state = json::parse(payload, nullptr, false);
  std::unique_lock lock(mutex_);
  if (remaining_ == 0 || !state.is_object() || state.value("state", "") != wanted()) return;
  samples_.push_back(ns_since(sent_at_));
  if (--remaining_ == 0) {
    finished_.notify_all();
    return;
  }
  lock.unlock();
  send();
}

std::string device_name(int d) {
  return (d < 10 ? "dev0" : "dev") + std::to_string(d);
}

json bench_model::set_light_round_robin(long remaining) {
  constexpr long lights = device_count + 1;
  const long light = remaining % lights;
  return {{"name", "set_light"},
          {"args",
           {{"room", light == 0 ? std::string("bench") : device_name(static_cast<int>(light - 1))},
            {"state", (remaining / lights) % 2 ? "ON" : "OFF"}}}};
}

void bench_model::attach(fake_live_server& server) {
  server_ = &server;
  server.on_setup([this](fake_live_server::connection& conn, const json&) {
    conn.send(json{{"setupComplete", json::object()}});
    {
      std::lock_guard lock(mutex_);
      conn_ = &conn;
    }
    changed_.notify_all();
  });
}

bool bench_model::wait_connected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return conn_ != nullptr; });
}

std::vector<long long> bench_model::round_trips(long calls, call_maker make) {
  make_call_ = std::move(make);
  run_phase(phase::round_trip, calls);
  return std::move(samples_);
}

double bench_model::throughput(long batches, long& answered, long& failed) {
  const auto started = clock::now();
  run_phase(phase::throughput, batches);
  const double seconds = static_cast<double>(ns_since(started)) / 1e9;
  answered = answered_;
  failed = failed_;
  return static_cast<double>(answered_) / seconds;
}

void bench_model::on_message(fake_live_server::connection& conn, const json& msg) {
  if (!msg.contains("toolResponse")) return;
  // One toolResponse may answer several calls.
  int answers = 0;
  for (const auto& r : msg["toolResponse"]["functionResponses"]) {
    ++answers;
    if (!r["response"].contains("output") && failed_++ == 0) first_error_ = r;
  }
  answered_ += answers;
  if (current_ == phase::round_trip) {
    samples_.push_back(ns_since(sent_at_));
    next_round_trip(conn);
  } else if (current_ == phase::throughput && (outstanding_ -= answers) <= 0) {
    next_batch(conn);
  }
}

void bench_model::run_phase(phase p, long count) {
  answered_ = 0;
  failed_ = 0;
  first_error_ = json::object();
  samples_.clear();
  samples_.reserve(static_cast<std::size_t>(count));
  remaining_ = count;
  current_ = p;
  server_->post([this, p] {
    if (p == phase::round_trip) next_round_trip(*conn_);
    if (p == phase::throughput) next_batch(*conn_);
  });
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return finished_; });
  finished_ = false;
}

void bench_model::finish() {
  current_ = phase::idle;
  std::lock_guard lock(mutex_);
  finished_ = true;
  changed_.notify_all();
}

void bench_model::next_round_trip(fake_live_server::connection& conn) {
  if (remaining_-- == 0) return finish();
  json call = make_call_(remaining_);
  call["id"] = fake_live_server::new_call_id();
  const json frame = {{"toolCall", {{"functionCalls", json::array({call})}}}};
  sent_at_ = clock::now();
  conn.send(frame);
}

void bench_model::next_batch(fake_live_server::connection& conn) {
  if (remaining_-- == 0) return finish();
  json calls = json::array();
  for (int d = 0; d < device_count; ++d) {
    calls.push_back({{"id", fake_live_server::new_call_id()},
                     {"name", "set_light"},
                     {"args", {{"room", device_name(d)}, {"state", remaining_ % 2 ? "ON" : "OFF"}}}});
  }
  outstanding_ = device_count;
  conn.send(json{{"toolCall", {{"functionCalls", calls}}}});
}

}  // namespace lb::bench
