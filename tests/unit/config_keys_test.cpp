// The loader's side of tests/config_schema/: each bad file there is refused by the loader with the
// error its `# loader:` line names, and each good file loads, so that the files the JSON Schema is
// checked against (check.mjs, with a real validator) are ones the loader agrees about.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/json_schema.hpp"
#include "config/loader.hpp"

namespace lb::config {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> yaml_files(const std::string& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(std::string(LIVEBRIDGE_SOURCE_DIR) + "/" + dir)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The text after "# <label>: " on the file's first line that has one.
std::string header(const fs::path& file, const std::string& label) {
  std::ifstream in(file);
  const std::string prefix = "# " + label + ": ";
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) return line.substr(prefix.size());
  }
  return "";
}

TEST(ConfigKeys, EveryBadFileIsRefusedByTheLoaderWithTheErrorItNames) {
  const auto files = yaml_files("tests/config_schema/bad");
  ASSERT_GE(files.size(), 10u);
  for (const auto& file : files) {
    const std::string expected = header(file, "loader");
    ASSERT_FALSE(expected.empty()) << file << " has no # loader: line";
    const auto r = load_file(file.string());
    EXPECT_FALSE(r.cfg) << file;
    ASSERT_EQ(r.errors.size(), 1u) << file << (r.errors.empty() ? "" : ": " + r.errors[0].to_string());
    EXPECT_EQ(r.errors[0].key_path + ": " + r.errors[0].message, expected) << file;
  }
}

TEST(ConfigKeys, TheGoodFilesLoad) {
  for (const auto& file : yaml_files("tests/config_schema/good")) {
    const auto r = load_file(file.string());
    EXPECT_TRUE(r.cfg) << file << ": " << (r.errors.empty() ? "" : r.errors[0].to_string());
  }
}

// Every mapping the schema describes refuses keys it does not name, as the loader does.
void expect_closed(const nlohmann::json& schema, const std::string& where) {
  if (!schema.is_object()) return;
  if (schema.contains("properties")) {
    EXPECT_EQ(schema.value("additionalProperties", nlohmann::json(true)), nlohmann::json(false)) << where;
    for (const auto& [name, child] : schema["properties"].items()) expect_closed(child, where + "/" + name);
  }
  for (const char* key : {"additionalProperties", "items"}) {
    if (schema.contains(key)) expect_closed(schema[key], where + "/" + key);
  }
  for (const char* key : {"anyOf", "allOf", "oneOf"}) {
    if (!schema.contains(key)) continue;
    for (std::size_t i = 0; i < schema[key].size(); ++i) {
      expect_closed(schema[key][i], where + "/" + key + "/" + std::to_string(i));
    }
  }
  if (schema.contains("definitions")) {
    for (const auto& [name, child] : schema["definitions"].items()) expect_closed(child, where + "/" + name);
  }
}

TEST(ConfigKeys, TheSchemaIsDraft07AndEveryMappingRefusesUnknownKeys) {
  const auto schema = nlohmann::json::parse(json_schema_text(), nullptr, false);
  ASSERT_FALSE(schema.is_discarded());
  EXPECT_EQ(schema.value("$schema", ""), "http://json-schema.org/draft-07/schema#");
  EXPECT_EQ(schema["required"], nlohmann::json::array({"live"}));
  expect_closed(schema, "");
}

TEST(ConfigKeys, ADurationIsTextOrPlainSecondsAndItsDescriptionGivesTheLoadersRange) {
  const auto schema = nlohmann::json::parse(json_schema_text(), nullptr, false);
  const auto& timeout = schema["properties"]["live"]["properties"]["connect_timeout"];
  EXPECT_EQ(timeout.value("description", ""), "DNS, TCP, TLS and the WebSocket upgrade (100ms to 5m)");
  ASSERT_EQ(timeout["anyOf"].size(), 2u);
  const std::regex written(timeout["anyOf"][0].value("pattern", ""), std::regex::ECMAScript);
  for (const char* text : {"250ms", "5s", "1.5s", "2m", "2min", "1h", "30", " 5s "}) {
    EXPECT_TRUE(std::regex_search(text, written)) << text;
  }
  for (const char* text : {"fast", "5 s", "5sec", "-1s", "1.2.3s", "."}) {
    EXPECT_FALSE(std::regex_search(text, written)) << text;
  }
  EXPECT_EQ(timeout["anyOf"][1], nlohmann::json::parse(R"({"type":"number","minimum":0.1,"maximum":300})"));
}

}  // namespace
}  // namespace lb::config
