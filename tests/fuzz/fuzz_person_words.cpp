// What a person (or anyone on the broker) sends that the trust gate reads: the words a PIN is
// looked for in, and an answer to an approval request. Any bytes yield runs that lie inside the
// words, and an answer or a reason, never a crash; canonical JSON of any document never throws.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "trust/answer.hpp"
#include "trust/canonical.hpp"
#include "trust/pin.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view words(reinterpret_cast<const char*>(data), size);
  for (const auto& run : lb::trust::digit_runs(words)) {
    if (run.begin > run.end || run.end > words.size() || run.digits.empty()) std::abort();
    for (char c : run.digits)
      if (c < '0' || c > '9') std::abort();
  }
  (void)lb::trust::parse_person_answer(words);
  const auto doc = nlohmann::json::parse(words, nullptr, false);
  if (!doc.is_discarded()) {
    const std::string canonical = lb::trust::canonical_json(doc);
    // One spelling: the canonical form of the canonical form is itself.
    const auto again = nlohmann::json::parse(canonical, nullptr, false);
    if (again.is_discarded() || lb::trust::canonical_json(again) != canonical) std::abort();
  }
  return 0;
}
