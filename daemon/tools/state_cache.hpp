// The latest state seen on the query tools' topics, so that "is the light on?" is answered from
// what the device last reported instead of by an action. Fed every incoming MQTT message; runs on
// the io thread only.
//
// Most messages are for topics nobody queries (a busy zigbee network sends thousands of state
// reports a second), so deciding "not wanted" is kept cheap: one hash lookup for the literal
// filters, and a level-by-level comparison only for the filters with '+' (or a trailing '#'),
// skipped when the level counts differ. That path allocates nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/message.hpp"

namespace lb::tools {

using json = nlohmann::json;

class state_cache {
 public:
  using clock = std::chrono::steady_clock;

  // A wildcard filter over a large network can match more topics than anyone will ask about.
  // Beyond this many topics the one updated least recently is forgotten, which bounds memory to
  // this many payloads.
  static constexpr std::size_t default_capacity = 4096;

  struct entry {
    json state;                     // the payload as payload_to_json reads it
    bool retained = false;          // the broker's retained copy, not a report seen live
    clock::time_point received_at;  // when livebridge received it
  };

  // `filters` are MQTT subscription filters ('+' levels, a trailing '#').
  explicit state_cache(std::vector<std::string> filters, std::size_t capacity = default_capacity);
  // Holds views into its own strings: neither copied nor moved.
  state_cache(const state_cache&) = delete;
  state_cache& operator=(const state_cache&) = delete;

  // Whether messages on `topic` are kept.
  bool wanted(std::string_view topic) const;

  // Keeps `msg` when a filter wants its topic and returns what is now stored for it, else null.
  // `now` stands for an unset msg.received_at. A retained copy equal to the state already kept
  // does not replace it: after a reconnect the broker sends its retained copies again, and the
  // earlier time (of a live report, or of the first delivery of that copy) is the truer one.
  const entry* offer(const incoming_message& msg, clock::time_point now);

  // The latest state on exactly this topic, or null.
  const entry* find(std::string_view topic) const;

  // Takes over the entries of `previous` (a dispatcher replaced by a reload) that this cache's
  // filters want, keeping their times: the broker does not resend retained copies for filters it
  // already has, so a fresh cache would know nothing until each device reports again.
  void adopt(state_cache& previous);

  std::size_t size() const { return index_.size(); }
  std::size_t capacity() const { return capacity_; }
  const std::vector<std::string>& filters() const { return filters_; }

 private:
  struct wildcard_filter {
    std::vector<std::string> levels;  // "+" matches any one level; excludes a trailing '#'
    bool multi_level = false;         // ended in '#': matches its parent and everything below
  };
  struct node {
    std::string topic;
    entry value;
  };
  using order_list = std::list<node>;

  static bool matches(const wildcard_filter& f, std::string_view topic, std::size_t topic_levels);
  const entry* store(std::string_view topic, entry value);

  std::vector<std::string> filters_;
  std::unordered_set<std::string_view> literal_;  // views into filters_
  std::vector<wildcard_filter> wildcards_;
  std::size_t capacity_;
  order_list order_;                                                  // front = updated least recently
  std::unordered_map<std::string_view, order_list::iterator> index_;  // views into order_'s topics
};

}  // namespace lb::tools
