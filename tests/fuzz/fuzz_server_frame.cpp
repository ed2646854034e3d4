// Server frames from the Live API: parsing must never crash, whatever arrives.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "live/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  auto parsed = lb::live::parse_server_message(frame);
  (void)parsed;
  (void)lb::live::summarize_frame(frame, 256);
  return 0;
}
