// The journal's copy of the audit trail: each record as one structured entry, which journald
// keeps out of the reach of the service's own user (trust/audit_trail.hpp says why that matters).
//
// The entry is sent over journald's native protocol on a non-blocking socket. sd_journal_sendv
// writes on a blocking one: a journald that has stopped reading would stall the io thread, and a
// second copy is not worth that. A record that cannot be sent at once (no journal, as in tests,
// or a full queue) is dropped.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lb::systemd {

using journal_fields = std::vector<std::pair<std::string, std::string>>;

// MESSAGE (trust::audit_summary), PRIORITY (4 for a refused or failed action, else 6),
// SYSLOG_IDENTIFIER=livebridge, then LIVEBRIDGE_<MEMBER> for each top-level member of the record
// (strings as they are, everything else as compact JSON; null members left out). Names are
// upper-cased, other characters become '_'. Each value is cut at max_journal_value bytes, and at
// most max_journal_members members are sent, so an entry stays far below a datagram's limit.
inline constexpr std::size_t max_journal_value = 4096;
inline constexpr std::size_t max_journal_members = 24;
journal_fields audit_journal_fields(const nlohmann::json& record);

// Sends `fields` as one entry to the journal socket at `socket_path`, without blocking; false when
// it was not sent.
inline constexpr const char* journal_socket_path = "/run/systemd/journal/socket";
bool send_to_journal(const journal_fields& fields, const std::string& socket_path = journal_socket_path);

// audit_journal_fields, sent; silent when there is no journal.
void send_audit_to_journal(const nlohmann::json& record);

}  // namespace lb::systemd
