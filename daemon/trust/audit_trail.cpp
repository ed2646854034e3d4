#include "trust/audit_trail.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "common/json_access.hpp"
#include "common/json_text.hpp"
#include "common/sha256.hpp"

namespace lb::trust {
using nlohmann::json;

namespace {

const std::string zero_hash(64, '0');

std::string errno_text(int e) {
  return std::strerror(e);
}

std::string path_of(const std::string& directory, std::size_t index) {
  return directory + "/" + audit_file_name(index);
}

// The index of an audit file name (0 for audit.jsonl), or nullopt for any other name.
std::optional<std::size_t> index_of(std::string_view name) {
  if (name == "audit.jsonl") return 0;
  constexpr std::string_view head = "audit.", tail = ".jsonl";
  if (name.size() <= head.size() + tail.size() || name.substr(0, head.size()) != head ||
      name.substr(name.size() - tail.size()) != tail)
    return std::nullopt;
  const std::string_view digits = name.substr(head.size(), name.size() - head.size() - tail.size());
  if (digits.front() == '0') return std::nullopt;
  std::size_t index = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return index;
}

// The indices of the audit files in `directory`, ascending (newest first). A missing directory
// has none.
std::variant<std::vector<std::size_t>, std::string> list_files(const std::string& directory) {
  std::vector<std::size_t> found;
  std::error_code ec;
  std::filesystem::directory_iterator it(directory, ec);
  if (ec == std::errc::no_such_file_or_directory) return found;
  if (ec) return "cannot read " + directory + ": " + ec.message();
  for (const std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
    if (auto index = index_of(it->path().filename().string())) found.push_back(*index);
  }
  if (ec) return "cannot read " + directory + ": " + ec.message();
  std::sort(found.begin(), found.end());
  return found;
}

// A record's seq, when the line is one of the trail's records.
std::optional<std::uint64_t> record_seq(const json& j) {
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find("seq");
  if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
  const auto seq = it->get<std::uint64_t>();
  return seq >= 1 ? std::optional(seq) : std::nullopt;
}

std::string now_rfc3339() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm t{};
  ::gmtime_r(&secs, &t);
  char buf[96];  // tm's fields are ints: room for the widest the format warning assumes
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1,
                t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

// The lines of a file from its end: the newest line first. A final newline ends the last line;
// without one, the last line is what a torn write left.
class reverse_lines {
 public:
  reverse_lines(int fd, off_t size) : fd_(fd), pos_(size), done_(size == 0) {}

  bool next(std::string& line) {
    while (!done_) {
      if (const auto nl = buf_.rfind('\n'); nl != std::string::npos) {
        line = buf_.substr(nl + 1);
        buf_.resize(nl);
        return true;
      }
      if (pos_ == 0) {
        line = std::move(buf_);
        buf_.clear();
        done_ = true;
        return true;
      }
      const off_t chunk = std::min<off_t>(pos_, 64 * 1024);
      std::string piece(static_cast<std::size_t>(chunk), '\0');
      const ssize_t n = ::pread(fd_, piece.data(), piece.size(), pos_ - chunk);
      if (n != static_cast<ssize_t>(chunk)) {
        error = n < 0 ? errno : EIO;
        done_ = true;
        return false;
      }
      pos_ -= chunk;
      if (at_end_) {
        at_end_ = false;
        if (piece.back() == '\n') piece.pop_back();
      }
      buf_.insert(0, piece);
    }
    return false;
  }

  int error = 0;

 private:
  int fd_;
  off_t pos_;
  bool done_;
  bool at_end_ = true;
  std::string buf_;
};

struct file_line {
  std::string file;  // "audit.1.jsonl"
  std::size_t number = 0;
  std::string bytes;  // without the newline
  bool terminated = true;
};

// Calls `each` for every line of the kept files, oldest file first. Returns problems with the
// set of files itself (unreadable, or a rotated file missing between two that exist).
template <typename F>
std::vector<std::string> for_each_line(const std::string& directory, std::size_t& files, F&& each) {
  std::vector<std::string> problems;
  auto listed = list_files(directory);
  if (auto* error = std::get_if<std::string>(&listed)) return {*error};
  const auto& indices = std::get<std::vector<std::size_t>>(listed);
  files = indices.size();
  if (indices.empty()) return problems;
  // Rotation numbers the files without gaps; a gap is a file deleted out of turn.
  for (std::size_t i = 0, expected = 1; i < indices.size(); ++i) {
    if (indices[i] == 0) continue;
    if (indices[i] == expected + 1) problems.push_back(audit_file_name(expected) + " is missing (deleted?)");
    if (indices[i] > expected + 1)
      problems.push_back(audit_file_name(expected) + " to " + audit_file_name(indices[i] - 1) +
                         " are missing (deleted?)");
    expected = indices[i] + 1;
  }
  for (auto index = indices.rbegin(); index != indices.rend(); ++index) {
    file_line line;
    line.file = audit_file_name(*index);
    std::ifstream in(path_of(directory, *index), std::ios::binary);
    if (!in) {
      problems.push_back("cannot read " + line.file + ": " + errno_text(errno));
      continue;
    }
    while (std::getline(in, line.bytes)) {
      ++line.number;
      line.terminated = !in.eof();
      each(line);
    }
    if (in.bad())
      problems.push_back("cannot read " + line.file + " after line " + std::to_string(line.number));
  }
  return problems;
}

std::string location(const file_line& l) {
  return l.file + ":" + std::to_string(l.number);
}

// Text from a record, safe for one terminal line: control characters (C0, DEL and C1, which some
// terminals take as escape sequences) are written as escapes.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    char buf[8];
    if (c < 0x20 || c == 0x7f) {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(text[i + 1]));
      out += buf;
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// At most `max` bytes, cut at a character boundary.
std::string shortened(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  text.resize(cut);
  return text + "…";
}

std::string member_text(const json& record, const char* key) {
  return shortened(printable(string_member(record, key)), 200);
}

std::string decision_text(const json& record) {
  const std::string decision = string_member(record, "decision");
  const auto c = record.find("confirmation");
  const json confirmation = c != record.end() ? *c : json();
  const std::string how = member_text(confirmation, "how");
  const std::string by = member_text(confirmation, "by");
  const std::string request = member_text(confirmation, "request");
  const std::string reason = member_text(record, "reason");
  std::string out;
  if (decision == "carried_out") {
    out = "carried out";
  } else if (decision == "dry_run") {
    out = "dry run";
  } else if (decision == "confirmation_requested") {
    out = "confirmation requested";
    std::string detail = how;
    if (!request.empty()) detail += (detail.empty() ? "request " : ", request ") + request;
    if (!detail.empty()) out += " (" + detail + ")";
  } else if (decision == "approved" || decision == "declined") {
    out = decision;
    if (!by.empty()) out += " by " + by;
    if (!how.empty()) out += " (" + how + ")";
  } else if (decision.empty()) {
    out = "?";
  } else {
    out = shortened(printable(decision), 40);  // refused, expired, or one this version does not know
  }
  if (!reason.empty() && decision != "carried_out" && decision != "approved") out += ": " + reason;
  return out;
}

// What came of it: the device's confirmation status, or the error the model was told.
std::string result_text(const json& record) {
  const std::string decision = string_member(record, "decision");
  if (decision != "carried_out" && decision != "approved" && decision != "dry_run") return {};
  if (const auto outcome = record.find("outcome"); outcome != record.end() && outcome->is_object()) {
    if (const auto output = outcome->find("output"); output != outcome->end()) {
      const std::string status = member_text(*output, "status");
      if (!status.empty()) return status;
    }
    const std::string error = member_text(*outcome, "error");
    if (!error.empty()) return "error: " + error;
  }
  if (const auto ok = record.find("ok"); ok != record.end() && ok->is_boolean())
    return ok->get<bool>() ? "ok" : "failed";
  return {};
}

}  // namespace

std::string audit_directory(const config::config& cfg) {
  if (cfg.trust.audit.directory && !cfg.trust.audit.directory->empty()) return *cfg.trust.audit.directory;
  return config::resolved_state_directory(cfg.live);
}

audit_options audit_options_for(const config::config& cfg) {
  return {audit_directory(cfg), cfg.trust.audit.max_bytes, cfg.trust.audit.keep_files};
}

std::string audit_file_name(std::size_t index) {
  return index == 0 ? "audit.jsonl" : "audit." + std::to_string(index) + ".jsonl";
}

std::vector<std::string> audit_files(const std::string& directory) {
  std::vector<std::string> names;
  auto listed = list_files(directory);
  if (const auto* indices = std::get_if<std::vector<std::size_t>>(&listed)) {
    for (auto index = indices->rbegin(); index != indices->rend(); ++index)
      names.push_back(audit_file_name(*index));
  }
  return names;
}

std::variant<std::unique_ptr<audit_trail>, std::string> audit_trail::open(audit_options o) {
  try {
    if (o.directory.empty()) return std::string("no audit directory");
    std::error_code ec;
    const bool created = std::filesystem::create_directories(o.directory, ec);
    if (ec) return "cannot create " + o.directory + ": " + ec.message();
    if (created) {
      using p = std::filesystem::perms;
      std::filesystem::permissions(o.directory, p::owner_all | p::group_read | p::group_exec, ec);
    }
    if (!std::filesystem::is_directory(o.directory, ec)) return o.directory + " is not a directory";
    std::unique_ptr<audit_trail> trail(new audit_trail(std::move(o)));
    if (auto error = trail->find_chain_end()) return *error;
    return trail;
  } catch (const std::exception& e) {
    return std::string("cannot open the audit trail: ") + e.what();
  }
}

audit_trail::~audit_trail() {
  close_file();
}

void audit_trail::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

// Reads back from the newest file to the last line (whose hash the next prev is) and to the
// last record (whose seq the next one follows). Lines after that record that are not records
// (torn writes) each took a seq of their own, so the next seq counts them.
std::optional<std::string> audit_trail::find_chain_end() {
  close_file();
  const std::string& dir = options_.directory;
  auto listed = list_files(dir);
  if (auto* error = std::get_if<std::string>(&listed)) return *error;

  std::string prev = zero_hash;
  bool have_last_line = false;
  std::uint64_t not_records = 0;
  std::optional<std::uint64_t> last_seq;
  for (const std::size_t index : std::get<std::vector<std::size_t>>(listed)) {
    const std::string path = path_of(dir, index);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return "cannot read " + path + ": " + errno_text(errno);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      return "cannot read " + path + ": " + errno_text(e);
    }
    reverse_lines lines(fd, st.st_size);
    std::string line;
    while (!last_seq && lines.next(line)) {
      if (!have_last_line) {
        prev = sha256_hex(line);
        have_last_line = true;
      }
      last_seq = record_seq(json::parse(line, nullptr, false));
      if (!last_seq) ++not_records;
    }
    ::close(fd);
    if (lines.error != 0) return "cannot read " + path + ": " + errno_text(lines.error);
    if (last_seq) break;
  }

  const std::string path = path_of(dir, 0);
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return "cannot open " + path + ": " + errno_text(errno);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return "cannot open " + path + ": " + errno_text(errno);
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0) {
    // A crash mid-write leaves a line without its newline: close it, so that the next record
    // starts a line of its own and the torn bytes stay a line that the chain links over.
    const int rd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    char last = '\n';
    const bool read_ok = rd >= 0 && ::pread(rd, &last, 1, st.st_size - 1) == 1;
    if (rd >= 0) ::close(rd);
    if (!read_ok) return "cannot read " + path;
    if (last != '\n') {
      if (::write(fd_, "\n", 1) != 1) return "cannot write " + path + ": " + errno_text(errno);
      ++size_;
    }
  }
  prev_ = prev;
  next_seq_ = (last_seq ? *last_seq : 0) + not_records + 1;
  lost_place_ = false;
  return std::nullopt;
}

std::optional<std::string> audit_trail::rotate() {
  close_file();
  const std::string& dir = options_.directory;
  auto listed = list_files(dir);
  if (auto* error = std::get_if<std::string>(&listed)) return *error;
  const std::size_t keep = options_.keep_files;
  // Everything at or beyond the last kept place goes: also files left from a larger keep_files,
  // which would otherwise sit before the renamed ones and break the chain's order.
  for (const std::size_t index : std::get<std::vector<std::size_t>>(listed)) {
    if (index < keep) continue;  // with keep_files 0, audit.jsonl itself goes
    const std::string path = path_of(dir, index);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return "cannot delete " + path + ": " + errno_text(errno);
  }
  for (std::size_t i = keep; i-- > 0;) {
    const std::string from = path_of(dir, i), to = path_of(dir, i + 1);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
      return "cannot rename " + from + " to " + to + ": " + errno_text(errno);
  }
  const std::string path = path_of(dir, 0);
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return "cannot open " + path + ": " + errno_text(errno);
  size_ = 0;
  return std::nullopt;
}

std::optional<std::string> audit_trail::append(json record) {
  try {
    if (!record.is_object()) return std::string("an audit record must be a JSON object");
    record["time"] = now_rfc3339();
    if (lost_place_) {
      if (auto error = find_chain_end()) {
        last_ = std::move(record);
        return *error;
      }
    }
    record["seq"] = next_seq_;
    record["prev"] = prev_;
    last_ = std::move(record);  // kept for the journal's copy; the line is written from it
    // Control characters, newlines and NUL are escaped by the dump, and invalid UTF-8 is
    // replaced: the line holds no newline of its own and can always be parsed back.
    std::string line = json_text(last_);
    const std::string hash = sha256_hex(line);
    // Without this line's hash the next record could not link to it: written, the chain would
    // break silently at the next line.
    if (hash.empty()) return std::string("cannot hash the audit record (out of memory?); it was not written");
    if (size_ > 0 && size_ + line.size() + 1 > options_.max_bytes) {
      if (auto error = rotate()) {
        lost_place_ = true;
        return "audit rotation failed: " + *error;
      }
    }
    line += '\n';
    ssize_t n = 0;
    do {
      n = ::write(fd_, line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(line.size())) {
      lost_place_ = true;
      const std::string path = path_of(options_.directory, 0);
      if (n < 0) return "cannot write " + path + ": " + errno_text(errno);
      return "cannot write " + path + ": only " + std::to_string(n) + " of " + std::to_string(line.size()) +
             " bytes written";
    }
    size_ += line.size();
    prev_ = hash;
    ++next_seq_;
    return std::nullopt;
  } catch (const std::exception& e) {
    lost_place_ = true;
    return std::string("cannot append to the audit trail: ") + e.what();
  }
}

audit_check verify_audit(const std::string& directory) {
  audit_check check;
  try {
    std::optional<std::string> prev_hash;  // unset before the anchor
    std::string prev_location;
    std::optional<std::uint64_t> last_seq;
    std::vector<std::string> line_problems;
    auto file_problems = for_each_line(directory, check.files, [&](const file_line& line) {
      const std::string where = location(line);
      if (!line.terminated)
        line_problems.push_back(where + ": the line is cut short (a write torn by a crash?)");
      const json j = json::parse(line.bytes, nullptr, false);
      const auto seq = record_seq(j);
      if (!seq) {
        if (line.terminated)
          line_problems.push_back(where + ": not an audit record (a torn write, or edited?)");
        if (last_seq) ++*last_seq;  // it took a seq number: the writer counts it so
      } else {
        ++check.records;
        const std::string prev = string_member(j, "prev");
        const bool prev_ok = prev_hash ? prev == *prev_hash : (*seq != 1 || prev == zero_hash);
        const bool seq_ok = !last_seq || *seq == *last_seq + 1;
        const std::string from = last_seq ? std::to_string(*last_seq) : "", to = std::to_string(*seq);
        if (!seq_ok && !prev_ok && *seq > *last_seq) {
          const std::uint64_t gap = *seq - *last_seq - 1;
          line_problems.push_back(where + ": seq jumps from " + from + " to " + to +
                                  " and prev does not match the record before it (" + std::to_string(gap) +
                                  (gap == 1 ? " record" : " records") + " removed?)");
        } else if (!seq_ok && !prev_ok) {
          line_problems.push_back(where + ": seq " + to + " follows " + from +
                                  " and prev does not match the record before it (records moved or copied?)");
        } else if (!seq_ok) {
          line_problems.push_back(where + ": seq " + to + " follows " + from +
                                  ", though prev matches the record before it (seq edited?)");
        } else if (!prev_ok && !prev_hash) {
          line_problems.push_back(where + ": the first record's prev is not all zeros (edited?)");
        } else if (!prev_ok) {
          line_problems.push_back(where + ": prev does not match the record before it (" + prev_location +
                                  " edited, or records removed?)");
        }
        last_seq = seq;
      }
      prev_hash = sha256_hex(line.bytes);
      prev_location = where;
    });
    check.problems = std::move(file_problems);
    check.problems.insert(check.problems.end(), line_problems.begin(), line_problems.end());
  } catch (const std::exception& e) {
    check.problems.push_back(std::string("cannot verify the audit trail: ") + e.what());
  }
  check.intact = check.problems.empty();
  return check;
}

std::vector<json> read_audit(const std::string& directory,
                             std::optional<std::chrono::system_clock::time_point> since) {
  std::vector<json> records;
  try {
    std::size_t files = 0;
    for_each_line(directory, files, [&](const file_line& line) {
      json j = json::parse(line.bytes, nullptr, false);
      if (!record_seq(j)) return;
      if (since) {
        const auto t = audit_time(j);
        if (!t || *t < *since) return;
      }
      records.push_back(std::move(j));
    });
  } catch (const std::exception&) {
    // What was read so far is returned; verify_audit says what is wrong with the rest.
  }
  return records;
}

std::optional<std::chrono::system_clock::time_point> audit_time(const json& record) {
  const std::string text = string_member(record, "time");
  // YYYY-MM-DDTHH:MM:SS.mmmZ
  static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != shape.size()) return std::nullopt;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    if (shape[i] == 'd' ? !digit : text[i] != shape[i]) return std::nullopt;
  }
  auto number = [&](std::size_t at, std::size_t len) {
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  std::tm t{};
  t.tm_year = number(0, 4) - 1900;
  t.tm_mon = number(5, 2) - 1;
  t.tm_mday = number(8, 2);
  t.tm_hour = number(11, 2);
  t.tm_min = number(14, 2);
  t.tm_sec = number(17, 2);
  if (t.tm_mon > 11 || t.tm_mday < 1 || t.tm_mday > 31 || t.tm_hour > 23 || t.tm_min > 59 || t.tm_sec > 60)
    return std::nullopt;
  const std::time_t secs = ::timegm(&t);
  return std::chrono::system_clock::from_time_t(secs) + std::chrono::milliseconds(number(20, 3));
}

std::string audit_summary(const json& record) {
  std::string source = member_text(record, "source");
  std::string tool = member_text(record, "tool");
  std::string out = (source.empty() ? "-" : source) + "  " + (tool.empty() ? "?" : tool);
  if (const auto args = record.find("args"); args != record.end())
    out += " " + shortened(printable(json_text(*args)), 300);
  out += "  " + decision_text(record);
  if (const std::string result = result_text(record); !result.empty()) out += " → " + result;
  if (const auto ms = record.find("ms"); ms != record.end() && ms->is_number())
    out += "  " + printable(json_text(*ms)) + " ms";
  return out;
}

}  // namespace lb::trust
