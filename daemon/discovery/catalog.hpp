// Every discovery message seen under the prefix, keyed by its config topic, read into entities.
// Retained configs arrive at every subscription, and Home Assistant's birth message makes the
// bridges send them all again: an unchanged payload changes nothing, an empty one removes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/entity.hpp"

namespace lb::discovery {

class catalog {
 public:
  // A home sends one message per entity; beyond this many config topics new ones are refused, so
  // that a flood of made-up topics cannot grow memory without bound.
  static constexpr std::size_t max_configs = 10'000;
  static constexpr std::size_t max_total_bytes = 16u << 20;  // of all payloads held

  explicit catalog(std::string prefix);

  // The filters that receive every config under the prefix, per entity and per device.
  std::vector<std::string> subscription_filters() const;
  bool is_config_topic(std::string_view topic) const;

  enum class change { none, updated, refused_full };
  change on_config(std::string_view topic, std::string_view payload);

  // Incremented by every change: a consumer compares it to what it last built from.
  std::uint64_t generation() const { return generation_; }
  std::vector<const entity*> entities() const;
  // Problems of the messages held now, one line each.
  std::vector<std::string> problems() const;
  std::size_t configs() const { return configs_.size(); }
  const std::string& prefix() const { return prefix_; }

 private:
  struct held {
    std::string payload;
    parsed_config parsed;
  };
  std::string prefix_;
  std::map<std::string, held, std::less<>> configs_;
  std::uint64_t generation_ = 0;
  std::size_t total_bytes_ = 0;
};

}  // namespace lb::discovery
