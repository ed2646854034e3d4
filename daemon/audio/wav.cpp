#include "audio/wav.hpp"

#include <charconv>
#include <fstream>
#include <iterator>

namespace lb::audio {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
std::uint32_t get_u32(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]);
  return v;
}
std::uint16_t get_u16(std::string_view s, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(s[at]) |
                                    (static_cast<unsigned char>(s[at + 1]) << 8));
}

}  // namespace

std::string wav_header(std::size_t pcm_bytes, std::uint32_t sample_rate) {
  std::string out;
  const auto data_size = static_cast<std::uint32_t>(pcm_bytes);
  out += "RIFF";
  put_u32(out, 36 + data_size);
  out += "WAVEfmt ";
  put_u32(out, 16);  // fmt chunk size
  put_u16(out, 1);   // PCM
  put_u16(out, 1);   // mono
  put_u32(out, sample_rate);
  put_u32(out, sample_rate * 2);  // bytes per second
  put_u16(out, 2);                // block align
  put_u16(out, 16);               // bits per sample
  out += "data";
  put_u32(out, data_size);
  return out;
}

std::string make_wav(std::string_view pcm, std::uint32_t sample_rate) {
  std::string out = wav_header(pcm.size(), sample_rate);
  out.reserve(out.size() + pcm.size());
  out.append(pcm);
  return out;
}

std::string make_wav(const pcm_pieces& pcm, std::uint32_t sample_rate) {
  std::string out = wav_header(pcm.size(), sample_rate);
  pcm.append_to(out);
  return out;
}

std::optional<pcm_audio> parse_wav(std::string_view file, std::string& why) {
  if (file.size() < 12 || file.substr(0, 4) != "RIFF" || file.substr(8, 4) != "WAVE") {
    why = "not a WAV file (no RIFF/WAVE header)";
    return std::nullopt;
  }
  pcm_audio out;
  bool have_format = false;
  std::size_t at = 12;
  while (at + 8 <= file.size()) {
    const std::string_view id = file.substr(at, 4);
    const std::uint32_t size = get_u32(file, at + 4);
    const std::size_t body = at + 8;
    if (size > file.size() - body) {
      why = "the WAV chunk '" + std::string(id) + "' runs past the end of the file";
      return std::nullopt;
    }
    if (id == "fmt ") {
      if (size < 16 || get_u16(file, body) != 1 || get_u16(file, body + 2) != 1 ||
          get_u16(file, body + 14) != 16) {
        why = "only 16-bit mono PCM WAV is supported";
        return std::nullopt;
      }
      out.sample_rate = get_u32(file, body + 4);
      have_format = true;
    } else if (id == "data") {
      if (!have_format) break;
      out.samples.assign(file.substr(body, size));
      return out;
    }
    at = body + size + (size % 2);  // chunks are word-aligned
  }
  why = have_format ? "the WAV file has no data chunk" : "the WAV file has no fmt chunk before its data";
  return std::nullopt;
}

std::optional<std::string> read_voice_recording(const std::string& path, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in) {
    why = "cannot read the file";
    return std::nullopt;
  }
  auto wav = parse_wav(bytes, why);
  if (!wav) return std::nullopt;
  if (wav->sample_rate != 16000) {
    why = "the recording is " + std::to_string(wav->sample_rate) + " Hz; voice input is 16 kHz";
    return std::nullopt;
  }
  if (wav->samples.empty()) {
    why = "the recording is empty";
    return std::nullopt;
  }
  return std::move(wav->samples);
}

std::uint32_t pcm_rate_of(std::string_view mime_type, std::uint32_t fallback) {
  const auto at = mime_type.find("rate=");
  if (at == std::string_view::npos) return fallback;
  const std::string_view digits = mime_type.substr(at + 5);
  std::uint32_t rate = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), rate);
  if (ec != std::errc{} || rate < 1000 || rate > 192000) return fallback;
  return rate;
}

}  // namespace lb::audio
