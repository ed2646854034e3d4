#include "app/turn_fsm.hpp"

namespace lb::app {

using action = turn_fsm::action;
using kind = turn_fsm::action::kind;

void turn_fsm::start_if_possible(actions& out) {
  if (!can_start_turn() || queue_.empty()) return;
  prompt next = std::move(queue_.front());
  queue_.pop_front();
  phase_ = phase::in_turn;
  calls_pending_ = 0;
  expected_.reset();  // whatever the model says now belongs to this prompt
  out.push_back({kind::start_turn, std::move(next), std::nullopt, opener::prompt});
}

void turn_fsm::finish(actions& out, std::optional<std::string> error) {
  out.push_back({kind::finish_turn, {}, std::move(error), opener::prompt});
  phase_ = phase::idle;
  calls_pending_ = 0;
}

turn_fsm::actions turn_fsm::on_prompt(prompt p) {
  actions out;
  if (phase_ == phase::stopped) {
    out.push_back({kind::refuse_prompt, std::move(p), "livebridge is shutting down", opener::prompt});
    return out;
  }
  if (queue_.size() >= max_queued_) {
    out.push_back({kind::refuse_prompt, std::move(p),
                   "the prompt queue is full (" + std::to_string(max_queued_) + " waiting); try again later",
                   opener::prompt});
    return out;
  }
  queue_.push_back(std::move(p));
  start_if_possible(out);
  return out;
}

turn_fsm::actions turn_fsm::on_session_ready() {
  actions out;
  session_ready_ = true;
  start_if_possible(out);
  return out;
}

turn_fsm::actions turn_fsm::on_session_lost(const std::string& reason) {
  actions out;
  session_ready_ = false;
  // Whatever the model was going to say, and whatever it was expected to say, died with the
  // connection.
  expected_.reset();
  if (phase_ == phase::in_turn) {
    finish(out, "the Live session was lost before the model answered: " + reason);
  } else if (phase_ == phase::abandoned) {
    phase_ = phase::idle;
  }
  return out;
}

turn_fsm::actions turn_fsm::on_reply_link(bool up) {
  actions out;
  reply_link_up_ = up;
  start_if_possible(out);
  return out;
}

turn_fsm::actions turn_fsm::on_hold(bool held) {
  actions out;
  held_ = held;
  start_if_possible(out);
  return out;
}

void turn_fsm::expect_model_turn(nlohmann::json id, opener by, std::string source) {
  if (phase_ == phase::stopped) return;
  // A voice turn is opened by the microphone stream, not by a prompt topic.
  if (by == opener::voice) source = "voice";
  expected_ = expected_turn{std::move(id), by, std::move(source)};
}

turn_fsm::actions turn_fsm::on_model_output() {
  actions out;
  if (phase_ != phase::idle || !expected_) return out;
  prompt p{std::move(expected_->id), "", std::move(expected_->source)};
  const opener by = expected_->by;
  expected_.reset();
  phase_ = phase::in_turn;
  calls_pending_ = 0;
  out.push_back({kind::open_turn, std::move(p), std::nullopt, by});
  return out;
}

void turn_fsm::on_turn_not_sent(prompt p) {
  if (phase_ != phase::in_turn) return;
  queue_.push_front(std::move(p));
  phase_ = phase::idle;
  session_ready_ = false;
}

void turn_fsm::name_expected_voice_turn(const nlohmann::json& id) {
  if (expected_ && expected_->by == opener::voice) expected_->id = id;
}

void turn_fsm::on_call_started() {
  if (phase_ == phase::in_turn) ++calls_pending_;
}

void turn_fsm::on_call_answered() {
  if (phase_ == phase::in_turn && calls_pending_ > 0) --calls_pending_;
}

turn_fsm::actions turn_fsm::on_model_turn_complete() {
  actions out;
  if (phase_ == phase::abandoned) {
    // The late answer is over: the model is free for the next prompt.
    phase_ = phase::idle;
    start_if_possible(out);
  } else if (phase_ == phase::in_turn && calls_pending_ == 0) {
    // With BLOCKING calls pending the server may complete its turn right after the toolCall; the
    // user's turn ends with the model's answer after the last toolResponse.
    finish(out, std::nullopt);
    start_if_possible(out);
  }
  return out;
}

turn_fsm::actions turn_fsm::on_turn_timeout(const std::string& why) {
  actions out;
  if (phase_ == phase::in_turn) {
    out.push_back({kind::finish_turn, {}, why, opener::prompt});
    phase_ = phase::abandoned;
    calls_pending_ = 0;
    out.push_back({kind::arm_timer, {}, std::nullopt, opener::prompt});
  } else if (phase_ == phase::abandoned) {
    out.push_back({kind::renew_session, {}, std::nullopt, opener::prompt});
  }
  return out;
}

turn_fsm::actions turn_fsm::on_stop() {
  actions out;
  if (phase_ == phase::stopped) return out;
  if (phase_ == phase::in_turn) finish(out, "livebridge is shutting down");
  for (auto& p : queue_)
    out.push_back({kind::refuse_prompt, std::move(p), "livebridge is shutting down", opener::prompt});
  queue_.clear();
  expected_.reset();
  phase_ = phase::stopped;
  return out;
}

}  // namespace lb::app
