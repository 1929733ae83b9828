// systemd's notify protocol (sd_notify(3) without libsystemd): READY=1 once started,
// STOPPING=1 when asked to stop. A no-op outside a Type=notify unit.
#pragma once

#include <string_view>

namespace vlcp::daemon {

// Sends `state` to $NOTIFY_SOCKET; returns false when there is no socket or the send failed.
bool sd_notify_state(std::string_view state);

}  // namespace vlcp::daemon
