// `livebridge confirm`: a person's side of approval requests, from a shell on the home server.
// Without arguments it lists the requests waiting (the retained <prefix>/confirm/pending); with
// `ID yes|no` it answers one on <prefix>/confirm/<ID> and prints what the bridge did with it.
#pragma once

#include <chrono>
#include <istream>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "config/secrets.hpp"

namespace lb::app {

struct confirm_request {
  std::string id;                            // empty: list the waiting requests
  std::optional<bool> yes;                   // with an id: the answer
  std::chrono::milliseconds timeout{60000};  // a garage door may take its time to report
};

// Exit codes: 0 listed, or answered and the bridge did what was asked (carried it out, or
// declined it); 1 the bridge refused the answer or the approved call failed; 75 no broker or
// no result in time.
int run_confirm(const config::config& cfg, const config::secrets& secrets, const confirm_request& request);

// `livebridge hash-pin`: the PIN from `in` (never from argv, which `ps` shows), printed in the
// stored form the PIN credential may hold instead of the PIN. Exit 0, or 64 for no valid PIN.
int run_hash_pin(std::istream& in);

// Who answers, as the audit trail names them: "cli:<login>" (the sudo user, if any).
std::string cli_person();

}  // namespace lb::app
