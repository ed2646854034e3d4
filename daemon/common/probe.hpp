// In-process latency probes for the benchmark (tests/bench): how long the daemon itself holds a
// tool call on its way out (Live frame read → command handed to the MQTT client) and on its way
// back (device acknowledgement received → toolResponse written to the WebSocket). Compiled in
// only with -DLIVEBRIDGE_PROBES=ON; otherwise every function here is an empty inline.
//
// One measurement per stage is open at a time, which fits the benchmark's sequential round trips;
// overlapping calls (the throughput run) simply replace the open start.
#pragma once

#include <chrono>

namespace lb::probe {

using clock = std::chrono::steady_clock;

enum class stage { frame_to_publish, ack_to_response };

#ifdef LIVEBRIDGE_PROBES
void begin_at(stage s, clock::time_point started);
void end(stage s);  // records now − start when a start is open, and closes it
// Writes every recorded sample (nanoseconds) as JSON to $LIVEBRIDGE_PROBE_FILE, if set.
void write_report();
#else
inline void begin_at(stage, clock::time_point) {}
inline void end(stage) {}
inline void write_report() {}
#endif

}  // namespace lb::probe
