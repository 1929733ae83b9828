// Addresses as the model parses and stores them (one spelling per address, so unique indices and
// filters see one text), in a header of their own: the apps and the packet-in handlers use them
// without the rest of the model (model/common.h brings ObjectDB and the control loop with it).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vlcp::model::detail {

// IPv4 text <-> host-order address (dotted decimal, no leading zeros: the text is canonical).
std::optional<uint32_t> parse_ip(const std::string& s);
std::string ip_text(uint32_t ip);
// A MAC address: six hex pairs separated by ':' (or '-'), either letter case.
using Mac = std::array<uint8_t, 6>;
std::optional<Mac> parse_mac(std::string_view s);
std::string mac_text(const Mac& m);  // lower case, ':' separated

}  // namespace vlcp::model::detail
