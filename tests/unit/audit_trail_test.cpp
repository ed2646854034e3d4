// The audit trail as its reader sees it: records chained line by line across restarts and
// rotations, every kind of tampering named by file and line, hostile content kept on one line,
// the journal's copy, and `livebridge audit`.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include "app/audit_cli.hpp"
#include "common/json_text.hpp"
#include "common/sha256.hpp"
#include "common/utf8.hpp"
#include "process.hpp"
#include "systemd/journal.hpp"
#include "trust/audit_trail.hpp"

namespace lb {
namespace {
using nlohmann::json;

const std::string zeros(64, '0');

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const auto& line : lines) out << line << '\n';
}

std::unique_ptr<trust::audit_trail> open_trail(const std::string& dir, std::size_t max_bytes = 10u << 20,
                                               std::size_t keep_files = 5) {
  auto opened = trust::audit_trail::open({dir, max_bytes, keep_files});
  if (auto* error = std::get_if<std::string>(&opened)) {
    ADD_FAILURE() << *error;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<trust::audit_trail>>(opened));
}

json approved_garage(int n = 0) {
  return {{"prompt", "kitchen-" + std::to_string(n)},
          {"source", "kitchen"},
          {"call", "function-call-" + std::to_string(n)},
          {"tool", "open_garage"},
          {"args", {{"door", "main"}}},
          {"decision", "approved"},
          {"confirmation", {{"how", "ack"}, {"by", "alice"}, {"request", "ab12cd34"}}},
          {"published",
           json::array({{{"topic", "garage/set"}, {"payload", "OPEN"}, {"qos", 1}, {"retain", false}}})},
          {"ok", true},
          {"outcome", {{"output", {{"status", "confirmed"}, {"topic", "garage/state"}}}}},
          {"ms", 812}};
}

void append_n(trust::audit_trail& trail, int count, int first = 1) {
  for (int i = first; i < first + count; ++i) ASSERT_EQ(trail.append(approved_garage(i)), std::nullopt);
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm u{};
  ::gmtime_r(&secs, &u);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &u);
  return buf;
}

TEST(AuditTrail, EachRecordCarriesSeqTimeAndTheHashOfTheLineBeforeIt) {
  test::temp_dir dir;
  auto trail = open_trail(dir.file("audit"));
  ASSERT_TRUE(trail);
  append_n(*trail, 3);
  const auto lines = lines_of(dir.file("audit/audit.jsonl"));
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const json r = json::parse(lines[i]);
    EXPECT_EQ(r["seq"], json(i + 1));
    EXPECT_EQ(r["prev"], json(i == 0 ? zeros : sha256_hex(lines[i - 1])));
    EXPECT_EQ(r["tool"], json("open_garage"));
    EXPECT_EQ(json_text(r), lines[i])
        << "stored as canonical JSON, so the hash is over what a reader re-reads";
    const auto t = trust::audit_time(r);
    ASSERT_TRUE(t) << lines[i];
    EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - *t), std::chrono::hours(1));
  }
  EXPECT_EQ(trail->last_record()["seq"], json(3));
  EXPECT_EQ(trail->last_record()["prev"], json(sha256_hex(lines[1])));

  struct stat st {};
  ASSERT_EQ(::stat(dir.file("audit").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0027, 0u) << "no access for others, no writing for the group";
  ASSERT_EQ(::stat(dir.file("audit/audit.jsonl").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0137, 0u);
}

TEST(AuditTrail, AReopenedTrailContinuesTheChain) {
  test::temp_dir dir;
  {
    auto trail = open_trail(dir.path());
    ASSERT_TRUE(trail);
    append_n(*trail, 3);
  }
  auto trail = open_trail(dir.path());
  ASSERT_TRUE(trail);
  EXPECT_EQ(trail->next_seq(), 4u);
  append_n(*trail, 2, 4);
  const auto lines = lines_of(dir.file("audit.jsonl"));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(json::parse(lines[3])["seq"], json(4));
  EXPECT_EQ(json::parse(lines[3])["prev"], json(sha256_hex(lines[2])));
  const auto check = trust::verify_audit(dir.path());
  EXPECT_TRUE(check.intact);
  EXPECT_EQ(check.records, 5u);
  EXPECT_EQ(check.problems, std::vector<std::string>{});
}

TEST(AuditTrail, RotationKeepsExactlyKeepFilesAndTheChainCrossesTheirBoundaries) {
  test::temp_dir dir;
  const std::size_t max_bytes = 1500;
  {
    auto trail = open_trail(dir.path(), max_bytes, 3);
    ASSERT_TRUE(trail);
    append_n(*trail, 60);
  }
  EXPECT_EQ(trust::audit_files(dir.path()),
            (std::vector<std::string>{"audit.3.jsonl", "audit.2.jsonl", "audit.1.jsonl", "audit.jsonl"}));
  std::size_t lines = 0;
  for (const auto& name : trust::audit_files(dir.path())) {
    EXPECT_LE(std::filesystem::file_size(dir.file(name)), max_bytes) << name;
    lines += lines_of(dir.file(name)).size();
  }
  const auto oldest = lines_of(dir.file("audit.3.jsonl"));
  ASSERT_FALSE(oldest.empty());
  EXPECT_GT(json::parse(oldest.front())["seq"].get<int>(), 1) << "older files were deleted";

  const auto check = trust::verify_audit(dir.path());
  EXPECT_EQ(check.problems, std::vector<std::string>{});
  EXPECT_TRUE(check.intact);
  EXPECT_EQ(check.records, lines);
  EXPECT_EQ(check.files, 4u);
  EXPECT_EQ(json::parse(lines_of(dir.file("audit.jsonl")).back())["seq"], json(60));

  auto trail = open_trail(dir.path(), max_bytes, 3);
  ASSERT_TRUE(trail);
  EXPECT_EQ(trail->next_seq(), 61u);
}

TEST(AuditTrail, FilesLeftFromALargerKeepFilesAreDeletedAtTheNextRotation) {
  test::temp_dir dir;
  {
    auto trail = open_trail(dir.path(), 1500, 5);
    ASSERT_TRUE(trail);
    append_n(*trail, 40);
  }
  ASSERT_EQ(trust::audit_files(dir.path()).size(), 6u);
  auto trail = open_trail(dir.path(), 1500, 2);
  ASSERT_TRUE(trail);
  append_n(*trail, 10, 41);
  EXPECT_EQ(trust::audit_files(dir.path()),
            (std::vector<std::string>{"audit.2.jsonl", "audit.1.jsonl", "audit.jsonl"}));
  EXPECT_EQ(trust::verify_audit(dir.path()).problems, std::vector<std::string>{});
}

TEST(AuditTrail, KeepFilesZeroKeepsOnlyTheCurrentFile) {
  test::temp_dir dir;
  auto trail = open_trail(dir.path(), 1500, 0);
  ASSERT_TRUE(trail);
  append_n(*trail, 20);
  EXPECT_EQ(trust::audit_files(dir.path()), std::vector<std::string>{"audit.jsonl"});
  EXPECT_TRUE(trust::verify_audit(dir.path()).intact);
}

class Tampering : public ::testing::Test {
 protected:
  void SetUp() override {
    auto trail = open_trail(dir.path());
    ASSERT_TRUE(trail);
    append_n(*trail, 10);
    lines = lines_of(file());
    ASSERT_EQ(lines.size(), 10u);
  }
  std::string file() const { return dir.file("audit.jsonl"); }

  test::temp_dir dir;
  std::vector<std::string> lines;
};

TEST_F(Tampering, OneByteEditedInAMiddleLineIsNamed) {
  const auto at = lines[4].find("\"main\"");
  ASSERT_NE(at, std::string::npos);
  lines[4][at + 4] = 'l';  // "main" → "mail": still valid JSON, still seq 5
  write_lines(file(), lines);
  const auto check = trust::verify_audit(dir.path());
  EXPECT_FALSE(check.intact);
  EXPECT_EQ(check.problems,
            std::vector<std::string>{"audit.jsonl:6: prev does not match the record before it "
                                     "(audit.jsonl:5 edited, or records removed?)"});
}

TEST_F(Tampering, ADeletedLineIsNamed) {
  lines.erase(lines.begin() + 4);
  write_lines(file(), lines);
  const auto check = trust::verify_audit(dir.path());
  EXPECT_FALSE(check.intact);
  EXPECT_EQ(check.problems, std::vector<std::string>{
                                "audit.jsonl:5: seq jumps from 4 to 6 and prev does not match the record "
                                "before it (1 record removed?)"});
}

TEST_F(Tampering, ReorderedLinesAreNamed) {
  std::swap(lines[3], lines[4]);
  write_lines(file(), lines);
  const auto check = trust::verify_audit(dir.path());
  EXPECT_FALSE(check.intact);
  ASSERT_GE(check.problems.size(), 2u);
  EXPECT_EQ(check.problems[0].rfind("audit.jsonl:4: seq jumps from 3 to 5", 0), 0u) << check.problems[0];
  EXPECT_EQ(check.problems[1].rfind("audit.jsonl:5: seq 4 follows 5", 0), 0u) << check.problems[1];
  for (const auto& p : check.problems) EXPECT_EQ(p.rfind("audit.jsonl:", 0), 0u) << p;
}

TEST_F(Tampering, ALineInsertedByHandIsNamed) {
  json forged = approved_garage(99);
  forged["seq"] = 5;
  forged["prev"] = sha256_hex(lines[3]);
  forged["time"] = "2026-12-02T01:02:03.000Z";
  lines.insert(lines.begin() + 4, json_text(forged));
  write_lines(file(), lines);
  const auto check = trust::verify_audit(dir.path());
  EXPECT_FALSE(check.intact);
  ASSERT_EQ(check.problems.size(), 1u) << "the forged line itself links correctly; the one after it does not";
  EXPECT_EQ(check.problems[0].rfind("audit.jsonl:6: seq 5 follows 5", 0), 0u) << check.problems[0];
}

TEST(AuditTrail, AnEditOrADeletedFileAcrossRotatedFilesIsNamedWithItsFile) {
  test::temp_dir dir;
  {
    auto trail = open_trail(dir.path(), 1500, 3);
    ASSERT_TRUE(trail);
    append_n(*trail, 30);
  }
  auto older = lines_of(dir.file("audit.1.jsonl"));
  const std::string last_of_older = "audit.1.jsonl:" + std::to_string(older.size());
  older.back().replace(older.back().find("alice"), 5, "mally");
  write_lines(dir.file("audit.1.jsonl"), older);
  auto check = trust::verify_audit(dir.path());
  EXPECT_EQ(check.problems,
            std::vector<std::string>{"audit.jsonl:1: prev does not match the record before it (" +
                                     last_of_older + " edited, or records removed?)"});

  std::filesystem::remove(dir.file("audit.2.jsonl"));
  check = trust::verify_audit(dir.path());
  ASSERT_GE(check.problems.size(), 2u);
  EXPECT_EQ(check.problems[0], "audit.2.jsonl is missing (deleted?)");
  EXPECT_EQ(check.problems[1].rfind("audit.1.jsonl:1: seq jumps from", 0), 0u) << check.problems[1];
}

TEST(AuditTrail, ATornLastLineIsReportedAndTheNextRecordChainsOverIt) {
  test::temp_dir dir;
  {
    auto trail = open_trail(dir.path());
    ASSERT_TRUE(trail);
    append_n(*trail, 3);
  }
  const std::string torn = R"({"args":{"door":"ma)";
  std::ofstream(dir.file("audit.jsonl"), std::ios::binary | std::ios::app) << torn;

  auto check = trust::verify_audit(dir.path());
  EXPECT_FALSE(check.intact);
  EXPECT_EQ(check.problems,
            std::vector<std::string>{"audit.jsonl:4: the line is cut short (a write torn by a crash?)"});
  EXPECT_EQ(trust::read_audit(dir.path(), std::nullopt).size(), 3u);

  auto trail = open_trail(dir.path());
  ASSERT_TRUE(trail);
  ASSERT_EQ(trail->append(approved_garage(5)), std::nullopt);
  const auto lines = lines_of(dir.file("audit.jsonl"));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[3], torn) << "closed with a newline, not glued to the next record";
  const json next = json::parse(lines[4]);
  EXPECT_EQ(next["seq"], json(5)) << "the torn line took seq 4";
  EXPECT_EQ(next["prev"], json(sha256_hex(torn)));

  check = trust::verify_audit(dir.path());
  EXPECT_EQ(check.problems,
            std::vector<std::string>{"audit.jsonl:4: not an audit record (a torn write, or edited?)"});
  EXPECT_EQ(check.records, 4u);
}

TEST(AuditTrail, HostileStringsStayOnTheirLineAndReadBack) {
  test::temp_dir dir;
  auto trail = open_trail(dir.path());
  ASSERT_TRUE(trail);
  const char raw[] = "line one\nline two\r\0after nul ";
  const std::string plain(raw, sizeof raw - 1);
  const std::string hostile = plain + "\xff\xfe bad \x1b[31mred";
  json record = approved_garage();
  record["args"] = {{"text", hostile}, {std::string("key\nwith newline"), 1}};
  record["source"] = "kitchen\n2026-12-02 01:02:03  forged  unlock_door {}  carried out";
  ASSERT_EQ(trail->append(record), std::nullopt);
  ASSERT_EQ(trail->append(approved_garage()), std::nullopt);

  const auto lines = lines_of(dir.file("audit.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].find('\0'), std::string::npos);
  EXPECT_TRUE(is_valid_utf8(lines[0]));
  EXPECT_TRUE(trust::verify_audit(dir.path()).intact);

  const auto records = trust::read_audit(dir.path(), std::nullopt);
  ASSERT_EQ(records.size(), 2u);
  const std::string back = records[0]["args"]["text"].get<std::string>();
  EXPECT_EQ(back.substr(0, plain.size()), plain) << "newlines and NUL kept as they were";
  EXPECT_TRUE(is_valid_utf8(back)) << "invalid UTF-8 replaced";
  EXPECT_NE(back.find("bad \x1b[31mred"), std::string::npos);

  const std::string summary = trust::audit_summary(records[0]);
  EXPECT_EQ(summary.find('\n'), std::string::npos) << summary;
  EXPECT_EQ(summary.find('\x1b'), std::string::npos) << summary;
  EXPECT_EQ(summary.find('\0'), std::string::npos) << summary;
  EXPECT_EQ(summary.rfind("kitchen\\x0a2026-12-02", 0), 0u) << summary;
}

TEST(AuditTrail, ARecordThatIsNotAnObjectIsRefusedAndNothingIsWritten) {
  test::temp_dir dir;
  auto trail = open_trail(dir.path());
  ASSERT_TRUE(trail);
  EXPECT_EQ(trail->append(json::array({1, 2})), std::string("an audit record must be a JSON object"));
  EXPECT_EQ(std::filesystem::file_size(dir.file("audit.jsonl")), 0u);
  ASSERT_EQ(trail->append(approved_garage()), std::nullopt);
  EXPECT_EQ(json::parse(lines_of(dir.file("audit.jsonl")).at(0))["seq"], json(1));
}

TEST(AuditTrail, OpenSaysWhyWhenTheDirectoryCannotBeMade) {
  test::temp_dir dir;
  dir.write("in-the-way", "a file");
  auto opened = trust::audit_trail::open({dir.file("in-the-way/audit"), 1000, 1});
  ASSERT_TRUE(std::holds_alternative<std::string>(opened));
  EXPECT_NE(std::get<std::string>(opened).find(dir.file("in-the-way/audit")), std::string::npos)
      << std::get<std::string>(opened);
  EXPECT_TRUE(std::holds_alternative<std::string>(trust::audit_trail::open({"", 1000, 1})));
}

TEST(AuditTrail, ReadAuditSinceKeepsOnlyTheRecentRecords) {
  test::temp_dir dir;
  const auto now = std::chrono::system_clock::now();
  using std::chrono::minutes;
  std::vector<std::string> lines;
  std::string prev = zeros;
  int seq = 0;
  for (const auto age : {minutes(180), minutes(120), minutes(10), minutes(1)}) {
    json r = approved_garage(++seq);
    r["seq"] = seq;
    r["prev"] = prev;
    r["time"] = rfc3339(now - age);
    lines.push_back(json_text(r));
    prev = sha256_hex(lines.back());
  }
  write_lines(dir.file("audit.jsonl"), lines);
  EXPECT_TRUE(trust::verify_audit(dir.path()).intact) << "the test builds the chain as the writer does";

  const auto recent = trust::read_audit(dir.path(), now - std::chrono::hours(1));
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0]["seq"], json(3));
  EXPECT_EQ(recent[1]["seq"], json(4));
  EXPECT_EQ(trust::read_audit(dir.path(), std::nullopt).size(), 4u);
}

TEST(AuditTrail, ASummaryIsOneLineForAPerson) {
  EXPECT_EQ(trust::audit_summary(approved_garage()),
            R"(kitchen  open_garage {"door":"main"}  approved by alice (ack) → confirmed  812 ms)");

  const json refused = {{"source", "voice"},
                        {"tool", "unlock_door"},
                        {"args", json::object()},
                        {"decision", "refused"},
                        {"reason", "outside the allowed hours"},
                        {"ok", false},
                        {"outcome", {{"error", "refused: outside the allowed hours"}}}};
  EXPECT_EQ(trust::audit_summary(refused), "voice  unlock_door {}  refused: outside the allowed hours");

  const json asked = {{"source", "kitchen"},
                      {"tool", "open_garage"},
                      {"args", {{"door", "main"}}},
                      {"decision", "confirmation_requested"},
                      {"confirmation", {{"how", "pin"}, {"request", "ab12cd34"}}}};
  EXPECT_EQ(trust::audit_summary(asked),
            R"(kitchen  open_garage {"door":"main"}  confirmation requested (pin, request ab12cd34))");

  json timed_out = approved_garage();
  timed_out["decision"] = "carried_out";
  timed_out["ok"] = false;
  timed_out["outcome"] = {{"error", "timeout: no matching state from garage/state within 5s"}};
  timed_out["ms"] = 5003;
  EXPECT_EQ(trust::audit_summary(timed_out),
            R"(kitchen  open_garage {"door":"main"}  carried out → error: timeout: no matching state from )"
            R"(garage/state within 5s  5003 ms)");
}

std::map<std::string, std::string> as_map(const systemd::journal_fields& fields) {
  return {fields.begin(), fields.end()};
}

TEST(AuditJournal, TheEntryCarriesASummaryAPriorityAndEveryMember) {
  json record = approved_garage(3);
  record["seq"] = 3;
  record["prev"] = zeros;
  record["prompt"] = nullptr;
  auto fields = as_map(systemd::audit_journal_fields(record));
  EXPECT_EQ(fields["MESSAGE"], "audit: " + trust::audit_summary(record));
  EXPECT_EQ(fields["PRIORITY"], "6");
  EXPECT_EQ(fields["SYSLOG_IDENTIFIER"], "livebridge");
  EXPECT_EQ(fields["LIVEBRIDGE_TOOL"], "open_garage");
  EXPECT_EQ(fields["LIVEBRIDGE_ARGS"], R"({"door":"main"})");
  EXPECT_EQ(fields["LIVEBRIDGE_SEQ"], "3");
  EXPECT_EQ(fields["LIVEBRIDGE_PREV"], zeros);
  EXPECT_EQ(fields["LIVEBRIDGE_OK"], "true");
  EXPECT_EQ(fields["LIVEBRIDGE_CONFIRMATION"], R"({"by":"alice","how":"ack","request":"ab12cd34"})");
  EXPECT_EQ(fields.count("LIVEBRIDGE_PROMPT"), 0u) << "null members are left out";

  record["ok"] = false;
  EXPECT_EQ(as_map(systemd::audit_journal_fields(record))["PRIORITY"], "4");
  record["ok"] = true;
  record["decision"] = "refused";
  EXPECT_EQ(as_map(systemd::audit_journal_fields(record))["PRIORITY"], "4");

  record["outcome"] = {{"output", std::string(100000, 'x')}};
  record["weird-name.x"] = "v";
  fields = as_map(systemd::audit_journal_fields(record));
  EXPECT_LT(fields["LIVEBRIDGE_OUTCOME"].size(), systemd::max_journal_value + 64);
  EXPECT_EQ(fields["LIVEBRIDGE_WEIRD_NAME_X"], "v");
}

TEST(AuditJournal, TheNativeProtocolFramesValuesWithNewlinesByLength) {
  test::temp_dir dir;
  const std::string path = dir.file("journal.socket");
  const int server = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(server, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);

  ASSERT_TRUE(systemd::send_to_journal({{"MESSAGE", "hello"}, {"LIVEBRIDGE_ARGS", "two\nlines"}}, path));
  std::string got(4096, '\0');
  const ssize_t n = ::recv(server, got.data(), got.size(), MSG_DONTWAIT);
  ::close(server);
  ASSERT_GT(n, 0);
  got.resize(static_cast<std::size_t>(n));
  const std::string expected =
      std::string("MESSAGE=hello\nLIVEBRIDGE_ARGS\n") + std::string("\x09\0\0\0\0\0\0\0", 8) + "two\nlines\n";
  EXPECT_EQ(got, expected);

  EXPECT_FALSE(systemd::send_to_journal({{"MESSAGE", "nobody listens"}}, dir.file("no-journal")));
  systemd::send_audit_to_journal(approved_garage());  // no journal in a test: silently nothing
}

class AuditCli : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg.trust.audit.directory = dir.file("trail");
    out = std::tmpfile();
    err = std::tmpfile();
  }
  void TearDown() override {
    std::fclose(out);
    std::fclose(err);
  }
  int run(app::audit_cli_options o) {
    for (auto* f : {out, err}) {
      std::fflush(f);
      if (::ftruncate(::fileno(f), 0) != 0) ADD_FAILURE() << "ftruncate";
      std::rewind(f);
    }
    return app::run_audit(cfg, o, out, err);
  }
  static std::string text(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    for (int c; (c = std::fgetc(f)) != EOF;) s += static_cast<char>(c);
    return s;
  }
  std::vector<std::string> out_lines() {
    std::vector<std::string> lines;
    std::string all = text(out), line;
    for (const char c : all) {
      if (c != '\n') {
        line += c;
      } else {
        lines.push_back(line);
        line.clear();
      }
    }
    return lines;
  }

  test::temp_dir dir;
  config::config cfg;
  std::FILE* out = nullptr;
  std::FILE* err = nullptr;
};

TEST_F(AuditCli, NoTrailExits66AndSaysWhere) {
  EXPECT_EQ(run({std::nullopt, false, true}), 66);
  EXPECT_EQ(text(err), "livebridge audit: no audit trail in " + dir.file("trail") + "\n");
  EXPECT_EQ(run({}), 66);
}

TEST_F(AuditCli, VerifyExits0ForAnIntactTrailAnd1ForABrokenOne) {
  {
    auto trail = open_trail(dir.file("trail"));
    ASSERT_TRUE(trail);
    append_n(*trail, 3);
  }
  EXPECT_EQ(run({std::nullopt, false, true}), 0);
  EXPECT_EQ(text(out), "audit trail intact: 3 records in 1 file\n");

  auto lines = lines_of(dir.file("trail/audit.jsonl"));
  lines.erase(lines.begin() + 1);
  write_lines(dir.file("trail/audit.jsonl"), lines);
  EXPECT_EQ(run({std::nullopt, false, true}), 1);
  EXPECT_EQ(text(out),
            "audit.jsonl:2: seq jumps from 1 to 3 and prev does not match the record before it (1 record "
            "removed?)\n"
            "audit trail broken: 1 problem, 2 records in 1 file\n");
}

TEST_F(AuditCli, PrintsOneLinePerRecordOrTheRecordsAsJson) {
  {
    auto trail = open_trail(dir.file("trail"));
    ASSERT_TRUE(trail);
    append_n(*trail, 2);
  }
  EXPECT_EQ(run({}), 0);
  const auto human = out_lines();
  ASSERT_EQ(human.size(), 2u);
  for (const auto& line : human) {
    // local time, then the summary
    ASSERT_GT(line.size(), 21u);
    EXPECT_EQ(line[4], '-');
    EXPECT_EQ(line[10], ' ');
    EXPECT_EQ(line.substr(19),
              R"(  kitchen  open_garage {"door":"main"}  approved by alice (ack) → confirmed  812 ms)");
  }

  EXPECT_EQ(run({std::chrono::hours(1), true, false}), 0);
  const auto as_json = out_lines();
  ASSERT_EQ(as_json.size(), 2u);
  EXPECT_EQ(as_json, lines_of(dir.file("trail/audit.jsonl"))) << "--json prints the records as stored";

  EXPECT_EQ(run({std::chrono::milliseconds(0), false, false}), 0);
  EXPECT_EQ(text(out), "");
  EXPECT_EQ(text(err), "livebridge audit: no records in the last 0s\n");
}

TEST(AuditCliSince, TakesDurationsUpToDays) {
  EXPECT_EQ(app::parse_since("1h"), std::chrono::hours(1));
  EXPECT_EQ(app::parse_since("30m"), std::chrono::minutes(30));
  EXPECT_EQ(app::parse_since("90s"), std::chrono::seconds(90));
  EXPECT_EQ(app::parse_since("2d"), std::chrono::hours(48));
  EXPECT_EQ(app::parse_since("1.5d"), std::chrono::hours(36));
  EXPECT_EQ(app::parse_since("d"), std::nullopt);
  EXPECT_EQ(app::parse_since("yesterday"), std::nullopt);
  EXPECT_EQ(app::parse_since("-1h"), std::nullopt);
}

}  // namespace
}  // namespace lb
