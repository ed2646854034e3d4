#include "systemd/journal.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "common/json_access.hpp"
#include "common/json_text.hpp"
#include "trust/audit_trail.hpp"

namespace lb::systemd {
using nlohmann::json;

namespace {

// At most `max` bytes; the journal's copy says that it was cut, and the file keeps the whole.
std::string bounded(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  const std::size_t total = text.size();
  text.resize(max);
  return text + "…(" + std::to_string(total - max) + " more bytes)";
}

// Journal field names are upper-case letters, digits and '_', at most 64 characters.
std::string field_name(const std::string& member) {
  std::string name = "LIVEBRIDGE_";
  for (const char c : member) {
    if (c >= 'a' && c <= 'z') {
      name += static_cast<char>(c - 'a' + 'A');
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      name += c;
    } else {
      name += '_';
    }
  }
  if (name.size() > 64) name.resize(64);
  return name;
}

void put_le64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

int journal_socket() {
  static const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  return fd;
}

}  // namespace

journal_fields audit_journal_fields(const json& record) {
  journal_fields fields;
  if (!record.is_object()) return fields;
  const auto ok = record.find("ok");
  const bool failed = ok != record.end() && ok->is_boolean() && !ok->get<bool>();
  const bool warn = failed || string_member(record, "decision") == "refused";
  fields.emplace_back("MESSAGE", bounded("audit: " + trust::audit_summary(record), 1024));
  fields.emplace_back("PRIORITY", warn ? "4" : "6");
  fields.emplace_back("SYSLOG_IDENTIFIER", "livebridge");
  std::size_t members = 0;
  for (const auto& [key, value] : record.items()) {
    if (value.is_null()) continue;
    if (++members > max_journal_members) break;
    std::string text = value.is_string() ? value.get<std::string>() : json_text(value);
    fields.emplace_back(field_name(key), bounded(std::move(text), max_journal_value));
  }
  return fields;
}

// The native protocol: "NAME=value\n", or for a value holding a newline, "NAME\n", its length
// as 64-bit little-endian, the value and "\n".
bool send_to_journal(const journal_fields& fields, const std::string& socket_path) {
  std::string datagram;
  for (const auto& [name, value] : fields) {
    datagram += name;
    if (value.find('\n') == std::string::npos) {
      datagram += '=';
    } else {
      datagram += '\n';
      put_le64(datagram, value.size());
    }
    datagram += value;
    datagram += '\n';
  }
  const int fd = journal_socket();
  sockaddr_un address{};
  if (fd < 0 || socket_path.size() >= sizeof address.sun_path) return false;
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
  iovec part{datagram.data(), datagram.size()};
  msghdr message{};
  message.msg_name = &address;
  message.msg_namelen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path.size());
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  return ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(datagram.size());
}

void send_audit_to_journal(const json& record) {
  // Without journald (a machine or container without systemd) there is no one to format the
  // entry for.
  if (::access(journal_socket_path, F_OK) != 0) return;
  try {
    send_to_journal(audit_journal_fields(record));
  } catch (const std::exception&) {
    // Only an allocation can fail here; the file keeps the record.
  }
}

}  // namespace lb::systemd
