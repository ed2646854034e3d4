// Drives the turn machine with an arbitrary sequence of events, carrying out its actions the way
// the bridge does, and checks the promises the README makes: every prompt is sent to the model
// once or refused once, never both and never twice; at most one turn runs at a time; every turn
// that was opened is finished once. Used by a unit test with random walks and by a fuzz target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "app/turn_fsm.hpp"

namespace lb::test {

class turn_fsm_walk {
 public:
  explicit turn_fsm_walk(std::size_t max_queued) : machine_(max_queued) {}

  // One event chosen by `code`; false (with why()) as soon as a promise is broken.
  bool step(std::uint8_t code) {
    using opener = app::turn_fsm::opener;
    switch (code % 16) {
      case 0: {
        const int id = next_id_++;
        offered_[id] = 0;
        return carry_out(machine_.on_prompt(app::prompt{nlohmann::json(id), std::to_string(id)}));
      }
      case 1:
        return carry_out(machine_.on_session_ready());
      case 2:
        return carry_out(machine_.on_session_lost("lost"));
      case 3:
        machine_.on_session_closing();
        return true;
      case 4:
        return carry_out(machine_.on_reply_link(true));
      case 5:
        return carry_out(machine_.on_reply_link(false));
      case 6:
        return carry_out(machine_.on_hold(true));
      case 7:
        return carry_out(machine_.on_hold(false));
      case 8:
        machine_.expect_model_turn(nlohmann::json("voice"), opener::voice);
        return true;
      case 9:
        return carry_out(machine_.on_model_output());
      case 10:
        machine_.on_call_started();
        return true;
      case 11:
        machine_.on_call_answered();
        return true;
      case 12:
        return carry_out(machine_.on_model_turn_complete());
      case 13:
        return carry_out(machine_.on_turn_timeout("timeout"));
      case 14:
        session_refuses_ = !session_refuses_;
        return true;
      default:
        return carry_out(machine_.on_stop());
    }
  }

  // Stops the machine and checks that nothing was left without its one outcome.
  bool finish() {
    if (!carry_out(machine_.on_stop())) return false;
    if (open_turns_ != 0) return fail("a turn was never finished");
    for (const auto& [id, outcomes] : offered_)
      if (outcomes != 1)
        return fail("prompt " + std::to_string(id) + " had " + std::to_string(outcomes) + " outcomes");
    return true;
  }

  const std::string& why() const { return why_; }

 private:
  bool carry_out(const app::turn_fsm::actions& actions) {
    using kind = app::turn_fsm::action::kind;
    for (const auto& a : actions) {
      switch (a.what) {
        case kind::start_turn:
          if (open_turns_ != 0) return fail("a turn started while another ran");
          if (session_refuses_) {
            machine_.on_turn_not_sent(a.turn_prompt);
            break;
          }
          ++open_turns_;
          if (!count(a.turn_prompt)) return false;
          break;
        case kind::open_turn:
          if (open_turns_ != 0) return fail("the model opened a turn while another ran");
          ++open_turns_;
          break;
        case kind::finish_turn:
          if (open_turns_ != 1) return fail("a turn finished that was not running");
          --open_turns_;
          break;
        case kind::refuse_prompt:
          if (!count(a.turn_prompt)) return false;
          break;
        case kind::arm_timer:
        case kind::renew_session:
          break;
      }
    }
    return true;
  }

  bool count(const app::prompt& p) {
    if (!p.id.is_number_integer()) return fail("an outcome for a prompt never offered");
    const auto it = offered_.find(p.id.get<int>());
    if (it == offered_.end()) return fail("an outcome for a prompt never offered");
    if (++it->second > 1) return fail("prompt " + std::to_string(it->first) + " got a second outcome");
    return true;
  }

  bool fail(std::string why) {
    why_ = std::move(why);
    return false;
  }

  app::turn_fsm machine_;
  std::map<int, int> offered_;  // prompt id → outcomes so far (sent to the model, or refused)
  int next_id_ = 0;
  int open_turns_ = 0;
  bool session_refuses_ = false;
  std::string why_;
};

}  // namespace lb::test
