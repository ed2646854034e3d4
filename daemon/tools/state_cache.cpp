#include "tools/state_cache.hpp"

#include <algorithm>
#include <utility>

#include "tools/ack_match.hpp"

namespace lb::tools {
namespace {

std::size_t level_count(std::string_view topic) {
  return 1 + static_cast<std::size_t>(std::count(topic.begin(), topic.end(), '/'));
}

}  // namespace

state_cache::state_cache(std::vector<std::string> filters, std::size_t capacity)
    : capacity_(std::max<std::size_t>(capacity, 1)) {
  for (auto& f : filters) {
    if (f.empty() || std::find(filters_.begin(), filters_.end(), f) != filters_.end()) continue;
    filters_.push_back(std::move(f));
  }
  // filters_ is complete: the views below stay valid.
  for (const std::string& f : filters_) {
    wildcard_filter w;
    bool wild = false;
    std::size_t pos = 0;
    while (true) {
      const auto end = f.find('/', pos);
      std::string level = f.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      if (level == "#" && end == std::string::npos) {
        w.multi_level = true;
        wild = true;
        break;
      }
      if (level == "+") wild = true;
      w.levels.push_back(std::move(level));
      if (end == std::string::npos) break;
      pos = end + 1;
    }
    if (wild) {
      wildcards_.push_back(std::move(w));
    } else {
      literal_.insert(std::string_view(f));
    }
  }
}

bool state_cache::matches(const wildcard_filter& f, std::string_view topic, std::size_t topic_levels) {
  if (f.multi_level ? topic_levels < f.levels.size() : topic_levels != f.levels.size()) return false;
  // MQTT: a filter starting with a wildcard does not match topics starting with '$' ($SYS/...).
  const bool starts_wild = f.levels.empty() || f.levels.front() == "+";
  if (starts_wild && !topic.empty() && topic.front() == '$') return false;
  std::size_t pos = 0;
  for (const std::string& level : f.levels) {
    const auto end = topic.find('/', pos);
    const std::string_view part =
        topic.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (level != "+" && part != level) return false;
    pos = end == std::string_view::npos ? topic.size() : end + 1;
  }
  return true;
}

bool state_cache::wanted(std::string_view topic) const {
  if (filters_.empty()) return false;  // no query tools: not even a hash
  if (literal_.contains(topic)) return true;
  if (wildcards_.empty()) return false;
  const std::size_t levels = level_count(topic);
  for (const auto& w : wildcards_)
    if (matches(w, topic, levels)) return true;
  return false;
}

const state_cache::entry* state_cache::offer(const incoming_message& msg, clock::time_point now) {
  if (!wanted(msg.topic)) return nullptr;
  entry value{payload_to_json(msg.payload), msg.retained,
              msg.received_at == clock::time_point{} ? now : msg.received_at};
  if (value.retained) {
    const auto it = index_.find(msg.topic);
    if (it != index_.end() && it->second->value.state == value.state) {
      order_.splice(order_.end(), order_, it->second);  // confirmed current: not the next to go
      return &it->second->value;
    }
  }
  return store(msg.topic, std::move(value));
}

const state_cache::entry* state_cache::store(std::string_view topic, entry value) {
  if (const auto it = index_.find(topic); it != index_.end()) {
    it->second->value = std::move(value);
    order_.splice(order_.end(), order_, it->second);
    return &it->second->value;
  }
  if (index_.size() >= capacity_) {
    index_.erase(std::string_view(order_.front().topic));
    order_.pop_front();
  }
  order_.push_back(node{std::string(topic), std::move(value)});
  const auto last = std::prev(order_.end());
  index_.emplace(std::string_view(last->topic), last);
  return &last->value;
}

const state_cache::entry* state_cache::find(std::string_view topic) const {
  const auto it = index_.find(topic);
  return it == index_.end() ? nullptr : &it->second->value;
}

void state_cache::adopt(state_cache& previous) {
  // Oldest first, so the order of updates carries over.
  for (auto& n : previous.order_) {
    if (wanted(n.topic)) store(n.topic, std::move(n.value));
  }
  previous.index_.clear();
  previous.order_.clear();
}

}  // namespace lb::tools
