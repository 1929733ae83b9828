// vlcpctl trace FROM [TO] (docs/TRACE_DESIGN.md §1, §11): asks its own vlcpd's /trace/packet and
// prints the path, one line per table step with its owner, and the verdict; --json prints the
// API's result unchanged. Exit 0 when the packet is delivered, answered or taken by vlcpd
// (DHCP), 1 for any other verdict or a refusal, 2 usage, 3 vlcpd unreachable.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vlcp::cli {

int trace_verb(const std::vector<std::string>& args);
// The text form of a /trace/packet result (§11); `verbose` shows the default gotos and cookies.
std::string trace_text(const nlohmann::json& result, bool verbose);

}  // namespace vlcp::cli
