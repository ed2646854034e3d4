#include "trust/gate.hpp"

#include <algorithm>
#include <cstdio>

#include "common/duration.hpp"

namespace lb::trust {
namespace {

// A PIN and, say, a time of day are fine in one sentence; more PIN-like numbers are guessing.
constexpr std::size_t max_pin_candidates = 2;

verdict refuse(std::string code, std::string message) {
  return {verdict::kind::refuse, std::move(code), std::move(message) + "; nothing was done", ""};
}

bool within(const tools::daily_window& w, int minute) {
  if (w.from_minute <= w.to_minute) return minute >= w.from_minute && minute < w.to_minute;
  return minute >= w.from_minute || minute < w.to_minute;  // past midnight
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::string window_text(const tools::daily_window& w) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%02d:%02d-%02d:%02d", w.from_minute / 60, w.from_minute % 60,
                w.to_minute / 60, w.to_minute % 60);
  return buf;
}

gate::gate(const config::trust_config& cfg, std::optional<pin_verifier> pin)
    : cfg_(cfg), pin_(std::move(pin)), lockout_(cfg.pin_attempts, cfg.lockout) {}

void gate::reconfigure(const config::trust_config& cfg, std::optional<pin_verifier> pin) {
  cfg_ = cfg;
  pin_ = std::move(pin);
  lockout_.set_limits(cfg.pin_attempts, cfg.lockout);
}

void gate::set_rate_limits(const std::vector<tools::tool_spec>& tools) {
  // The calls already counted stay counted under the new limit; a tool without one is forgotten.
  for (auto it = rates_.begin(); it != rates_.end();) {
    const auto spec =
        std::find_if(tools.begin(), tools.end(), [&](const auto& t) { return t.name == it->first; });
    if (spec == tools.end() || !spec->guard.rate) {
      it = rates_.erase(it);
    } else {
      it->second.set_limit(*spec->guard.rate);
      ++it;
    }
  }
}

std::string gate::without_pin(std::string_view words) const {
  return pin_ ? pin_->redact(words) : std::string(words);
}

std::optional<verdict> gate::check_limits(const tools::tool_spec& tool, const nlohmann::json& args,
                                          const turn_evidence& evidence, const call_facts& facts) const {
  const tools::guard_spec& g = tool.guard;
  if (!g.sources.empty() &&
      std::find(g.sources.begin(), g.sources.end(), evidence.source) == g.sources.end()) {
    std::string allowed;
    for (const auto& s : g.sources) allowed += (allowed.empty() ? "" : ", ") + s;
    return refuse("sourceNotAllowed", tool.name + " may not be used from the prompt source '" +
                                          evidence.source + "' (allowed: " + allowed + ")");
  }
  if (g.allowed_hours && !within(*g.allowed_hours, facts.local_minute))
    return refuse("outsideAllowedHours",
                  tool.name + " may only be used between " + window_text(*g.allowed_hours) + " local time");
  for (const auto& b : g.bounds) {
    const auto it = args.is_object() ? args.find(b.argument) : args.end();
    if (it == args.end() || !it->is_number()) continue;  // optional and absent: nothing to bound
    const double v = it->get<double>();
    if ((b.minimum && v < *b.minimum) || (b.maximum && v > *b.maximum)) {
      std::string range = b.minimum && b.maximum ? number_text(*b.minimum) + " to " + number_text(*b.maximum)
                          : b.minimum            ? "at least " + number_text(*b.minimum)
                                                 : "at most " + number_text(*b.maximum);
      return refuse("argumentOutOfBounds", "argument '" + b.argument + "' of " + tool.name + " is " +
                                               number_text(v) + "; the owner allows " + range);
    }
  }
  return std::nullopt;
}

std::optional<verdict> gate::take_rate(const tools::tool_spec& tool, clock::time_point now) {
  if (!tool.guard.rate) return std::nullopt;
  auto it = rates_.find(tool.name);
  if (it == rates_.end()) it = rates_.emplace(tool.name, rate_window(*tool.guard.rate)).first;
  if (it->second.try_take(now)) return std::nullopt;
  return refuse("rateLimited", tool.name + " has been used " + std::to_string(tool.guard.rate->calls) +
                                   " times within " + format_duration(tool.guard.rate->per) +
                                   ", the most the owner allows; it can be used again in " +
                                   format_duration(it->second.retry_after(now)));
}

verdict gate::judge(const tools::tool_spec& tool, const nlohmann::json& args, const std::string& digest,
                    turn_evidence& evidence, const call_facts& facts) {
  // The loop guard counts every attempt, refused or not: a model retrying a refused call in a
  // loop is what it is for.
  const std::size_t earlier = evidence.calls_seen[digest]++;
  if (auto v = check_limits(tool, args, evidence, facts)) return *v;
  if (earlier >= cfg_.loop_guard && !tool.query)
    return refuse("loopGuard", tool.name + " was called with these arguments " + std::to_string(earlier + 1) +
                                   " times in this turn; at most " + std::to_string(cfg_.loop_guard) +
                                   " are carried out. Do not call it again in this turn");
  std::string how;
  switch (tools::confirmation_needed(tool, args)) {
    case tools::confirmation::none:
      break;
    case tools::confirmation::ack:
      // The rate limit is taken when the approved call runs, not when a person is asked.
      return {verdict::kind::ask_person, "ackNeeded", "", "ack"};
    case tools::confirmation::pin: {
      verdict v = judge_pin(digest, evidence, facts.now);
      if (v.what != verdict::kind::run) return v;
      how = "pin";
      break;
    }
  }
  if (auto v = take_rate(tool, facts.now)) return *v;
  if (how == "pin") evidence.carried_out_on_pin.insert(digest);
  return {verdict::kind::run, "", "", how};
}

verdict gate::judge_pin(const std::string& digest, turn_evidence& evidence, clock::time_point now) {
  if (!pin_)  // the loader refuses such a config; a fail-closed answer should it ever happen
    return refuse("challengeFailedNotSetup", "this action needs the owner's PIN, and none is set up");
  if (lockout_.locked(now))
    return refuse("tooManyFailedAttempts",
                  "too many wrong PINs; PIN confirmations are locked for another " +
                      format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(
                          lockout_.locked_until() - now)));
  if (evidence.carried_out_on_pin.contains(digest))
    return refuse("pinNeeded",
                  "the PIN of this turn already approved this exact action once; the person must say "
                  "the PIN again in a new turn to repeat it");
  // Every PIN-like number the person gave this turn is an attempt: one sentence cannot try a
  // dozen PINs for the price of one.
  std::set<std::string> candidates;
  for (const auto* words : {&evidence.typed, &evidence.heard})
    for (const auto& run : digit_runs(*words))
      if (run.digits.size() >= pin_verifier::min_length && run.digits.size() <= pin_verifier::max_length)
        candidates.insert(run.digits);
  const auto count_wrong = [&](std::size_t attempts) {
    bool locks = false;
    if (evidence.pin_attempt_counted) return false;
    evidence.pin_attempt_counted = true;
    for (std::size_t i = 0; i < attempts; ++i) locks = lockout_.on_wrong(now) || locks;
    return locks;
  };
  const auto locked_now = [&] {
    return refuse("tooManyFailedAttempts",
                  "too many wrong PINs; PIN confirmations are locked for " + format_duration(cfg_.lockout));
  };
  if (candidates.size() > max_pin_candidates) {
    // Guessing. Nothing is checked, even while the transcript grows; once it is final the guesses
    // count.
    if (evidence.transcript_may_grow) return {verdict::kind::wait_for_words, "pinNeeded", "", "pin"};
    if (count_wrong(candidates.size()) || lockout_.locked(now)) return locked_now();
    return refuse("challengeFailedPinNeeded",
                  "the person gave " + std::to_string(candidates.size()) +
                      " numbers that could be PINs; ask them to say only the PIN");
  }
  // Only the person's own words count: the typed prompt and the transcript of their voice. The
  // model's arguments and anything a device reported are never looked at.
  const auto typed = pin_->check(evidence.typed);
  const auto heard = pin_->check(evidence.heard);
  if (typed == pin_verifier::verdict::correct || heard == pin_verifier::verdict::correct) {
    lockout_.on_correct();
    return {verdict::kind::run, "", "", "pin"};
  }
  // The transcript of a voice turn may still be on its way (it is not ordered with the calls).
  if (evidence.transcript_may_grow) return {verdict::kind::wait_for_words, "pinNeeded", "", "pin"};
  if (!candidates.empty()) {
    if (count_wrong(candidates.size()) || lockout_.locked(now)) return locked_now();
    return refuse("challengeFailedPinNeeded",
                  "the PIN the person gave is not correct; ask them to say or type it again");
  }
  return refuse(
      "pinNeeded",
      "this action needs the owner's PIN, said or typed by the person in this turn. Ask them for it; "
      "a PIN from an earlier turn, from a device or from you is not accepted");
}

verdict gate::admit_approved(const tools::tool_spec& tool, clock::time_point now) {
  if (auto v = take_rate(tool, now)) return *v;
  return {verdict::kind::run, "", "", "ack"};
}

}  // namespace lb::trust
