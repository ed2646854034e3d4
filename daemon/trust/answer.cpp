#include "trust/answer.hpp"

#include <optional>

#include <nlohmann/json.hpp>

#include "common/ascii.hpp"
#include "common/json_text.hpp"

namespace lb::trust {
namespace {

constexpr std::size_t max_by_characters = 64;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<bool> word_answer(std::string_view word) {
  for (std::string_view yes : {"yes", "approve", "true", "1"})
    if (ascii_iequals(word, yes)) return true;
  for (std::string_view no : {"no", "deny", "false", "0"})
    if (ascii_iequals(word, no)) return false;
  return std::nullopt;
}

// Valid UTF-8 (the JSON parser has checked that), at most max_by_characters code points, none of
// them a control character (C0, DEL, C1): a name that goes into logs and the audit trail.
std::optional<std::string> by_problem(const std::string& by) {
  std::size_t characters = 0;
  for (std::size_t i = 0; i < by.size(); ++i) {
    const auto c = static_cast<unsigned char>(by[i]);
    if (c < 0x20 || c == 0x7f) return "\"by\" contains a control character";
    if (c == 0xc2 && i + 1 < by.size() && static_cast<unsigned char>(by[i + 1]) < 0xa0)
      return "\"by\" contains a control character";  // U+0080-U+009F
    if ((c & 0xc0) != 0x80) ++characters;
  }
  if (characters > max_by_characters)
    return "\"by\" is longer than " + std::to_string(max_by_characters) + " characters";
  return std::nullopt;
}

}  // namespace

std::variant<person_answer, std::string> parse_person_answer(std::string_view payload) {
  using nlohmann::json;
  if (payload.size() > max_answer_bytes)
    return "the answer is larger than " + std::to_string(max_answer_bytes) + " bytes";
  const std::string_view text = trimmed(payload);
  if (text.empty()) return std::string("the answer is empty; send yes or no");
  if (const auto yes = word_answer(text)) return person_answer{*yes, {}};
  if (text.front() != '{') return std::string("the answer must be yes or no, or JSON {\"answer\": …}");

  const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::string("the answer is not valid JSON");
  if (!doc.is_object()) return std::string("the answer must be a JSON object");
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (it.key() != "answer" && it.key() != "by")
      return "unknown member" +
             (it.key().size() <= max_by_characters ? " " + json_text(json(it.key())) : "") +
             "; an answer has \"answer\" and optional \"by\"";

  person_answer out;
  const auto answer = doc.find("answer");
  if (answer == doc.end()) return std::string("the answer has no \"answer\" member");
  if (answer->is_boolean()) {
    out.yes = answer->get<bool>();
  } else if (answer->is_string()) {
    const auto yes = word_answer(trimmed(answer->get_ref<const std::string&>()));
    if (!yes) return std::string("\"answer\" must be yes or no");
    out.yes = *yes;
  } else {
    return std::string("\"answer\" must be yes or no, or true or false");
  }

  const auto by = doc.find("by");
  if (by != doc.end() && !by->is_null()) {
    if (!by->is_string()) return std::string("\"by\" must be a string");
    out.by = by->get<std::string>();
    if (auto problem = by_problem(out.by)) return std::move(*problem);
  }
  return out;
}

}  // namespace lb::trust
