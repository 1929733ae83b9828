// Prints a sample ADD result rendered by src/cni in the version given (for the libcni oracle,
// tests/unit/cni/libcni_oracle.sh): cni_render VERSION
#include <cstdio>
#include <string>

#include "cni/spec.h"

int main(int argc, char** argv) {
  using namespace vlcp::cni;
  auto v = argc == 2 ? parse_version(argv[1]) : std::nullopt;
  if (!v) {
    std::fprintf(stderr, "usage: cni_render VERSION (0.3.0 ... 1.1.0)\n");
    return 2;
  }
  AddResult r;
  r.interfaces = {{"vlcp1a2b3c4d", "aa:bb:cc:00:00:01", "", 1450, "", ""},
                  {"eth0", "02:77:00:00:00:05", "/var/run/netns/pod1", 1450, "", ""}};
  r.ips = {{"10.1.0.5/24", "10.1.0.1", 1}, {"fd00::5/64", "", 1}};
  r.routes = {{"0.0.0.0/0", "10.1.0.1", {}, {}, {}, {}, {}},
              {"10.9.0.0/16", "10.1.0.254", 1400, {}, 10, {}, {}}};
  r.dns = {{"10.1.0.2", "10.1.0.3"}, "example.org", {"example.org", "svc.example.org"}, {"ndots:5"}};
  std::puts(json_text(render_result(r, *v)).c_str());
  return 0;
}
