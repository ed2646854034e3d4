#include "simulated_model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <mutex>

namespace lb::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool audio_modality(const json& setup) {
  const auto gc = setup.value("generationConfig", json::object());
  const auto modalities = gc.value("responseModalities", json::array());
  return !modalities.empty() && modalities[0] == "AUDIO";
}

std::vector<std::string> declared_functions(const json& setup) {
  std::vector<std::string> names;
  for (const auto& tool : setup.value("tools", json::array())) {
    for (const auto& decl : tool.value("functionDeclarations", json::array()))
      names.push_back(decl.value("name", ""));
  }
  return names;
}

std::string base64(const std::string& bytes) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += {table[(n >> 18) & 63], table[(n >> 12) & 63], table[(n >> 6) & 63], table[n & 63]};
  }
  if (i + 1 == bytes.size()) {
    const unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    out += {table[(n >> 18) & 63], table[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const unsigned n =
        (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += {table[(n >> 18) & 63], table[(n >> 12) & 63], table[(n >> 6) & 63], '='};
  }
  return out;
}

json usage() {
  return json{{"promptTokenCount", 42},
              {"responseTokenCount", 12},
              {"totalTokenCount", 54},
              {"promptTokensDetails", json::array({{{"modality", "TEXT"}, {"tokenCount", 42}}})},
              {"responseTokensDetails", json::array({{{"modality", "TEXT"}, {"tokenCount", 12}}})}};
}

}  // namespace

void answer_text(fake_live_server::connection& conn, const std::string& text) {
  if (audio_modality(conn.setup())) {
    // 0.1 s of 24 kHz 16-bit silence per word, and the words as an output transcript.
    std::size_t start = 0;
    while (start < text.size()) {
      auto end = text.find(' ', start + 1);
      if (end == std::string::npos) end = text.size();
      conn.send(json{{"serverContent",
                      {{"modelTurn", {{"parts", json::array({audio_part(std::string(4800, '\0'))})}}}}}});
      conn.send(
          json{{"serverContent", {{"outputTranscription", {{"text", text.substr(start, end - start)}}}}}});
      start = end;
    }
  } else {
    // Fragments, as the service streams them ("Hello", "! How can I help you today?").
    const auto cut =
        std::min(text.size(), text.find_first_of("!,.") == std::string::npos ? text.size() / 2
                                                                             : text.find_first_of("!,."));
    for (const auto& piece : {text.substr(0, cut), text.substr(cut)}) {
      if (!piece.empty())
        conn.send(json{{"serverContent", {{"modelTurn", {{"parts", json::array({{{"text", piece}}})}}}}}});
    }
  }
  conn.send(json{{"serverContent", {{"generationComplete", true}}}});
  conn.send(json{{"serverContent", {{"turnComplete", true}}}, {"usageMetadata", usage()}});
}

fake_live_server::script simulated_model() {
  // Which call ids are outstanding, per connection, and what they were for.
  auto pending = std::make_shared<std::map<std::string, std::string>>();
  auto mutex = std::make_shared<std::mutex>();
  return [pending, mutex](fake_live_server::connection& conn, const json& message) {
    if (message.contains("clientContent")) {
      std::string text;
      for (const auto& turn : message["clientContent"].value("turns", json::array())) {
        for (const auto& part : turn.value("parts", json::array())) text += part.value("text", "");
      }
      const std::string said = lower(text);
      const auto functions = declared_functions(conn.setup());
      const bool lights = said.find("light") != std::string::npos;
      const bool off = said.find(" off") != std::string::npos;
      if (lights && (off || said.find(" on") != std::string::npos)) {
        const std::string wanted = off ? "off" : "on";
        auto fn = std::find_if(functions.begin(), functions.end(), [&](const std::string& f) {
          return f.find("light") != std::string::npos && f.find("_" + wanted) != std::string::npos;
        });
        if (fn == functions.end()) {
          answer_text(conn, "I have no function to switch the lights " + wanted + ".");
          return;
        }
        const std::string id = fake_live_server::new_call_id();
        {
          std::lock_guard lock(*mutex);
          (*pending)[id] = wanted;
        }
        conn.send(json{
            {"toolCall",
             {{"functionCalls", json::array({{{"name", *fn}, {"args", json::object()}, {"id", id}}})}}}});
        return;
      }
      if (said.find("hello") != std::string::npos || said.find("hi") == 0) {
        answer_text(conn, "Hello! How can I help you today?");
        return;
      }
      answer_text(conn,
                  "I am livebridge's local Live simulator: I can say hello and switch the lights on or off.");
      return;
    }
    if (message.contains("toolResponse")) {
      for (const auto& r : message["toolResponse"].value("functionResponses", json::array())) {
        std::string wanted;
        {
          std::lock_guard lock(*mutex);
          auto it = pending->find(r.value("id", ""));
          if (it == pending->end()) continue;
          wanted = it->second;
          pending->erase(it);
        }
        const json response = r.value("response", json::object());
        if (response.contains("error")) {
          answer_text(
              conn, "I could not switch the lights " + wanted + ": " + response["error"].get<std::string>());
        } else {
          answer_text(conn, "OK, I've turned " + wanted + " the lights.");
        }
      }
    }
  };
}

json audio_part(const std::string& pcm) {
  return json{{"inlineData", {{"mimeType", "audio/pcm;rate=24000"}, {"data", base64(pcm)}}}};
}

std::string tone(double seconds, std::uint32_t rate) {
  std::string pcm;
  const auto n = static_cast<std::size_t>(seconds * rate);
  for (std::size_t i = 0; i < n; ++i) {
    const auto s = static_cast<std::int16_t>(8000 * std::sin(2 * M_PI * 440 * static_cast<double>(i) / rate));
    pcm.push_back(static_cast<char>(s & 0xff));
    pcm.push_back(static_cast<char>((s >> 8) & 0xff));
  }
  return pcm;
}

}  // namespace lb::test
