#include "discovery/catalog.hpp"

namespace lb::discovery {

catalog::catalog(std::string prefix) : prefix_(std::move(prefix)) {}

std::vector<std::string> catalog::subscription_filters() const {
  // "+/+/config" also covers <prefix>/device/<id>/config.
  return {prefix_ + "/+/+/config", prefix_ + "/+/+/+/config"};
}

bool catalog::is_config_topic(std::string_view topic) const {
  return topic.size() > prefix_.size() + 1 && topic.starts_with(prefix_) && topic[prefix_.size()] == '/' &&
         topic.ends_with("/config");
}

catalog::change catalog::on_config(std::string_view topic, std::string_view payload) {
  if (!is_config_topic(topic)) return change::none;
  const auto it = configs_.find(topic);
  if (payload.empty()) {
    if (it == configs_.end()) return change::none;
    total_bytes_ -= it->second.payload.size();
    configs_.erase(it);
    ++generation_;
    return change::updated;
  }
  const std::size_t held_now = it == configs_.end() ? 0 : it->second.payload.size();
  if (total_bytes_ - held_now + payload.size() > max_total_bytes) return change::refused_full;
  if (it != configs_.end()) {
    if (it->second.payload == payload) return change::none;
    total_bytes_ = total_bytes_ - held_now + payload.size();
    it->second = held{std::string(payload), parse_config(prefix_, topic, payload)};
    ++generation_;
    return change::updated;
  }
  if (configs_.size() >= max_configs) return change::refused_full;
  total_bytes_ += payload.size();
  configs_.emplace(std::string(topic), held{std::string(payload), parse_config(prefix_, topic, payload)});
  ++generation_;
  return change::updated;
}

std::vector<const entity*> catalog::entities() const {
  std::vector<const entity*> out;
  for (const auto& [topic, h] : configs_)
    for (const auto& e : h.parsed.entities) out.push_back(&e);
  return out;
}

std::vector<std::string> catalog::problems() const {
  std::vector<std::string> out;
  for (const auto& [topic, h] : configs_)
    out.insert(out.end(), h.parsed.problems.begin(), h.parsed.problems.end());
  return out;
}

}  // namespace lb::discovery
