// The audit trail: every action the model attempted, one canonical JSON line each, in
// <directory>/audit.jsonl, rotated by size to audit.1.jsonl … audit.<keep_files>.jsonl.
//
// Each record carries "seq" (1, 2, 3 … for the life of the trail, across rotations and restarts)
// and "prev", the SHA-256 of the previous line's bytes (64 '0's before the first record ever).
// Lines are nlohmann's compact dump of an object, whose keys are sorted, so the hash is over
// exactly the bytes stored and a reader needs no canonicalisation to check it.
//
// What the chain proves: a line edited, removed, inserted or moved in the middle of the kept
// files breaks the link from the line after it, and verify_audit names where.
// What it does not prove:
//   - Someone who can write the files can rewrite the whole chain from the edited line on, with
//     correct hashes: there is no key. The chain makes tampering visible, not impossible.
//   - Removing the newest lines (truncating the file) leaves a shorter chain that is intact, and
//     an edit of the very last line has no following line to contradict it. Neither can be seen
//     from the files alone.
//   - Lines are not fsync'd one by one: a power cut can lose the newest records, which then
//     looks like the truncation above.
//   - Once the oldest file is deleted by rotation, the first kept record's prev points at a line
//     that no longer exists: the chain is anchored there and checked from there on.
// journald holds a second copy of each record (systemd/journal.hpp), out of the reach of the
// service's own user, against which a rewritten or truncated trail can be compared.
//
// Nothing here throws: failures are returned as text. One audit_trail writes a directory; it is
// used from the io thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace lb::trust {

struct audit_options {
  std::string directory;
  std::size_t max_bytes = 10u << 20;  // audit.jsonl is rotated before a line would take it past this
  std::size_t keep_files = 5;         // rotated files kept; the oldest beyond is deleted
};

// trust.audit.directory, else the state directory (live.state_directory, $STATE_DIRECTORY);
// empty means there is no trail.
std::string audit_directory(const config::config& cfg);

// The trail's options as configured (directory as audit_directory says).
audit_options audit_options_for(const config::config& cfg);

// "audit.jsonl" for index 0 (the file written), "audit.<index>.jsonl" for the rotated ones.
std::string audit_file_name(std::size_t index);

// The names of the trail's files in `directory`, oldest first; empty when there are none or the
// directory cannot be read.
std::vector<std::string> audit_files(const std::string& directory);

class audit_trail {
 public:
  // Creates the directory (0750) and audit.jsonl (0640) when missing, and finds where the chain
  // ends: the last line of the newest file that has one. A line cut short by a crash is closed
  // with a newline and chained over: the next record's prev is the hash of its bytes, and
  // verify_audit reports it.
  static std::variant<std::unique_ptr<audit_trail>, std::string> open(audit_options o);

  ~audit_trail();
  audit_trail(const audit_trail&) = delete;
  audit_trail& operator=(const audit_trail&) = delete;

  // Adds "seq", "time" (RFC 3339 UTC with milliseconds) and "prev" to `record` (a JSON object;
  // members of those names are replaced), rotates when the line would not fit, and writes the
  // line with one write(). Returns what failed, if anything; the next append then finds the end
  // of the chain again from the files, so a half-written line is chained over, not glued to.
  std::optional<std::string> append(nlohmann::json record);

  // The record of the latest append, as stamped: what the journal's copy should carry. When the
  // write failed it still says which seq and prev the record would have had.
  const nlohmann::json& last_record() const { return last_; }

  std::uint64_t next_seq() const { return next_seq_; }

 private:
  explicit audit_trail(audit_options o) : options_(std::move(o)) {}
  std::optional<std::string> find_chain_end();
  std::optional<std::string> rotate();
  void close_file();

  audit_options options_;
  int fd_ = -1;
  std::size_t size_ = 0;  // bytes in audit.jsonl
  std::uint64_t next_seq_ = 1;
  std::string prev_;        // hash of the last line written
  bool lost_place_ = true;  // a write or rotation failed: find the chain's end before the next line
  nlohmann::json last_;
};

// What verify_audit found. `records` counts the lines that parsed as records.
struct audit_check {
  bool intact = true;
  std::size_t records = 0;
  std::size_t files = 0;
  std::vector<std::string> problems;  // "audit.jsonl:17: …", in file order
};

// Walks the kept files oldest to newest and checks that every line is a record, that seq goes up
// by one from line to line, and that each prev is the hash of the line before it, across file
// boundaries. The first record of the oldest kept file anchors the chain: its own prev can be
// checked only when it is the first record ever (seq 1, prev all zeros), because the line it
// names was deleted with an older file. No files means an intact, empty trail.
audit_check verify_audit(const std::string& directory);

// Every record of the kept files, oldest first, skipping lines that are not records; with
// `since`, only those whose time is at or after it.
std::vector<nlohmann::json> read_audit(const std::string& directory,
                                       std::optional<std::chrono::system_clock::time_point> since);

// A record's "time" as a time point; nullopt unless it is RFC 3339 UTC as append writes it.
std::optional<std::chrono::system_clock::time_point> audit_time(const nlohmann::json& record);

// One line for a person, without the time:
//   kitchen  open_garage {"door":"main"}  approved by alice (ack) → confirmed  812 ms
// Control characters from the record are escaped, so a hostile argument cannot break the line or
// send escape sequences to a terminal.
std::string audit_summary(const nlohmann::json& record);

}  // namespace lb::trust
