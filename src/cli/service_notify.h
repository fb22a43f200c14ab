// SPDX-License-Identifier: Apache-2.0
// Readiness for systemd services of Type=notify (sd_notify(3)'s protocol,
// without linking libsystemd): when $NOTIFY_SOCKET names a socket, a datagram
// "READY=1\nSTATUS=..." is sent to it once the view is mounted. Without the
// variable nothing happens. Run the daemon with -f in such a unit, so that the
// process systemd started is the one that reports.
#pragma once

#include <string>

namespace wtcachefs {

// Returns false when $NOTIFY_SOCKET is set but the message could not be sent.
bool NotifyServiceReady(const std::string& status);

}  // namespace wtcachefs
