// The turn machine under arbitrary event sequences: every prompt gets exactly one outcome and
// turns never overlap (see turn_fsm_walk.hpp). A broken promise aborts, so libFuzzer keeps the
// sequence.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "turn_fsm_walk.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  lb::test::turn_fsm_walk walk(1 + data[0] % 4);
  bool ok = true;
  for (std::size_t i = 1; i < size && ok; ++i) ok = walk.step(data[i]);
  if (ok) ok = walk.finish();
  if (!ok) {
    std::fprintf(stderr, "turn machine broke a promise: %s\n", walk.why().c_str());
    std::abort();
  }
  return 0;
}
