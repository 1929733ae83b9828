// vlcpd's unixctl client (src/ovsdb/unixctl) as a command, for the system test trace_unixctl:
//   unixctl_call OVSDB_REMOTE|--ctl PATH METHOD [ARG...]
// finds ovs-vswitchd's control socket as vlcpd does (beside the OVSDB socket, or PATH), runs
// METHOD with a 5 s deadline and prints the result text as it came (exit 0), or the error on
// stderr (exit 1; 2 for usage).
#include <cstdio>
#include <utility>

#include <boost/asio/io_context.hpp>

#include "ovsdb/unixctl.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: unixctl_call OVSDB_REMOTE|--ctl PATH METHOD [ARG...]\n");
    return 2;
  }
  int i = 1;
  std::string configured, remote;
  if (std::string(argv[1]) == "--ctl") {
    if (argc < 4) return 2;
    configured = argv[2];
    i = 3;
  } else {
    remote = argv[1];
    i = 2;
  }
  std::string method = argv[i++];
  std::vector<std::string> args(argv + i, argv + argc);
  boost::asio::io_context ctx;
  vlcp::ovsdb::UnixctlClient client(ctx, [&] { return vlcp::ovsdb::find_vswitchd_ctl(configured, remote); });
  int rc = 1;
  client.call(method, args, std::chrono::seconds(5), [&](vlcp::Result<std::string> r) {
    if (r.ok()) {
      std::fwrite(r->data(), 1, r->size(), stdout);
      rc = 0;
    } else {
      std::fprintf(stderr, "unixctl_call: %s\n", r.status().to_string().c_str());
    }
  });
  ctx.run();
  return rc;
}
