// The config file's JSON Schema (draft-07), made from the loader's own key tables (keys.hpp), so
// that editors with the YAML language server complete and check the keys the loader takes:
// `livebridge --print-config-schema`, installed as /usr/share/livebridge/config.schema.json.
#pragma once

#include <string>

namespace lb::config {

// The schema as indented JSON text, ending in a newline.
std::string json_schema_text();

}  // namespace lb::config
