// TCP_NODELAY for paho's sockets. The paho C library (1.3.11 in Debian 12) never sets it and
// offers no hook to reach its socket. Without it Nagle's algorithm holds a small packet while an
// earlier one is unacknowledged, and the broker's kernel delays that ACK by up to 40 ms: a PUBACK
// for a device's QoS 1 state followed by the next command costs the command 40 ms.
#pragma once

#include <cstdint>

namespace lb::mqtt {

// Sets TCP_NODELAY on every TCP socket of this process whose peer port is `broker_port` (our MQTT
// connections; any other socket to that port is only sped up). Returns how many it set.
int set_tcp_nodelay_towards(std::uint16_t broker_port);

}  // namespace lb::mqtt
