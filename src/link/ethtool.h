// TX checksum offload through the legacy ethtool ioctl (SIOCETHTOOL, ETHTOOL_[GS]TXCSUM): OVS's
// userspace datapath does not complete checksums a veth left to "hardware", so the plug turns it
// off on both ends (docs/CONTAINERS_DESIGN.md §7). `inet_fd` is an AF_INET datagram socket made
// in the namespace the interface lives in.
#pragma once

#include <string_view>

#include "base/result.h"

namespace vlcp::link {

Status set_tx_checksum(int inet_fd, std::string_view ifname, bool on);
Result<bool> tx_checksum(int inet_fd, std::string_view ifname);

}  // namespace vlcp::link
