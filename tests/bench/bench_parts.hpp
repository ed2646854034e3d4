// What both benchmark programs (livebridge-bench, livebridge-compare) are built from: sample
// statistics, a process's CPU and memory from /proc, the MQTT floor client, and the model's side
// of sequential tool calls played on the fake Live server.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "fake_live_server.hpp"
#include "notify_socket.hpp"

namespace lb::bench {

using clock = std::chrono::steady_clock;
using nlohmann::json;

long long ns_since(clock::time_point t);

// Round trips a person would notice as a hiccup rather than noise (the paho send-thread stall of
// a full second showed up here).
long over_10ms(const std::vector<long long>& samples_ns);

struct percentiles {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;  // microseconds
  std::size_t n = 0;
};
percentiles summarize(std::vector<long long> ns);
json to_json(const percentiles& p);

// From /proc/<pid>/status: resident and peak resident memory in KiB.
struct memory {
  long rss_kb = 0, hwm_kb = 0;
};
memory memory_of(pid_t pid);

// CPU time of every thread of `pid`, in nanoseconds (schedstat, not the 10 ms tick of /proc/stat).
long long cpu_ns(pid_t pid);
// User plus system time of `pid` from /proc/<pid>/stat, in nanoseconds (clock-tick resolution).
// Unlike cpu_ns it keeps the time of threads that have ended, so it suits a runtime such as
// Node's whose helper threads come and go.
long long stat_cpu_ns(pid_t pid);

// Up when the daemon's STATUS= says both sides are connected; the datagram's index or -1.
int wait_until_up(const test::notify_socket& notify,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The floor: publish a set, wait for the state that answers it, publish the next from the
// message callback, the way an event-driven client would. The same library, broker and device
// as livebridge.
class floor_client {
 public:
  floor_client(const std::string& broker_uri, int command_qos, const std::string& device = "bench");
  ~floor_client();
  std::vector<long long> round_trips(long calls);

 private:
  void send();
  std::string wanted() const { return remaining_ % 2 == 0 ? "ON" : "OFF"; }
  void on_state(const std::string& payload);  // on paho's thread; the next set goes out from here

  ::mqtt::async_client cli_;
  int qos_;
  std::string set_topic_;
  std::mutex mutex_;
  std::condition_variable finished_;
  std::vector<long long> samples_;
  long remaining_ = 0;
  clock::time_point sent_at_;
};

// The throughput phase's devices, "dev00" … "dev15", one call each per toolCall.
inline constexpr int device_count = 16;
std::string device_name(int d);

// The model's side, played on the fake server's thread.
class bench_model {
 public:
  // livebridge's loop guard counts a session's unprompted calls by tool and arguments; the
  // benchmark's configs raise it to its maximum, and the calls go round the 17 lights in both
  // states, so that a session takes 34 × this many calls before a call is refused.
  static constexpr long loop_guard = 1000;
  // The function call (name and args, no id) for the call that has `remaining` calls after it.
  using call_maker = std::function<json(long remaining)>;
  // set_light on "bench", "dev00" … "dev15" in turn, in both states.
  static json set_light_round_robin(long remaining);

  void attach(test::fake_live_server& server);
  bool wait_connected(std::chrono::milliseconds timeout);

  // Sequential round trips: one call per toolCall.
  std::vector<long long> round_trips(long calls, call_maker make = set_light_round_robin);
  // toolCalls of 16 calls to 16 devices, back to back; returns calls per second.
  double throughput(long batches, long& answered, long& failed);
  // Calls answered with an error in the last phase.
  long failed() const { return failed_; }
  // The first answer of the last phase that was an error ({} when none was).
  const json& first_error() const { return first_error_; }

  void on_message(test::fake_live_server::connection& conn, const json& msg);

 private:
  enum class phase { idle, round_trip, throughput };

  void run_phase(phase p, long count);
  void finish();
  void next_round_trip(test::fake_live_server::connection& conn);
  void next_batch(test::fake_live_server::connection& conn);

  test::fake_live_server* server_ = nullptr;
  std::mutex mutex_;
  std::condition_variable changed_;
  test::fake_live_server::connection* conn_ = nullptr;  // used only on the server thread after setup
  bool finished_ = false;
  // Set by the main thread before a phase is posted to the server thread, which alone uses them
  // while it runs; the main thread reads them after it finished.
  phase current_ = phase::idle;
  call_maker make_call_;
  long remaining_ = 0;
  int outstanding_ = 0;
  long answered_ = 0;
  long failed_ = 0;
  json first_error_;
  clock::time_point sent_at_;
  std::vector<long long> samples_;
};

}  // namespace lb::bench
