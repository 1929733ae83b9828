// vlcpctl db ...: ObjectDB through vlcpd's WebAPI.
#pragma once

#include <string>
#include <vector>

namespace vlcp::cli {

// args: what follows "db"; global options (--api, --token, --json) may appear anywhere.
int db_verb(const std::vector<std::string>& args);

}  // namespace vlcp::cli
