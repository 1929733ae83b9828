// TX checksum offload by ioctl (see ethtool.h).
#include "link/ethtool.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "link/netlink.h"

namespace vlcp::link {

namespace {
Status ethtool_call(int inet_fd, std::string_view ifname, ethtool_value* v, std::string_view what) {
  VLCP_RETURN_IF_ERROR(check_ifname(ifname));
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  ifr.ifr_data = reinterpret_cast<char*>(v);
  if (ioctl(inet_fd, SIOCETHTOOL, &ifr) < 0)
    return errno_status(errno, std::string(what) + " " + std::string(ifname));
  return {};
}
}  // namespace

Status set_tx_checksum(int inet_fd, std::string_view ifname, bool on) {
  ethtool_value v{ETHTOOL_STXCSUM, on ? 1u : 0u};
  return ethtool_call(inet_fd, ifname, &v,
                      on ? "turning TX checksum offload on for" : "turning TX checksum offload off for");
}

Result<bool> tx_checksum(int inet_fd, std::string_view ifname) {
  ethtool_value v{ETHTOOL_GTXCSUM, 0};
  VLCP_RETURN_IF_ERROR(ethtool_call(inet_fd, ifname, &v, "reading TX checksum offload of"));
  return v.data != 0;
}

}  // namespace vlcp::link
