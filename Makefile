# VLCP front door. CMake and ctest do the work underneath; see README.md.
#   make demo         deps, build vlcpd and vlcpctl, then two simulated servers with traffic (README)
#   make deps         install Debian packages (apt-get, idempotent) and build libopenvswitch
#   make              build (-Wall -Wextra -Werror) into build/release
#   make test         deps, build, unit tests, then system tests
#   make test SAN=address,undefined   the same under ASan+UBSan (build/san-address-undefined)
#   make test SAN=thread              the same under TSan (or: make tsan)
#   make format-check / make format   clang-format, checked or applied
#   make check-layers                 the include layering rules (src/LAYERS)
#   make check-link-deps              every library the build links comes from `make deps`'s packages
#   make fresh-check                  make deps && make && make unit-test in a pristine Debian 12 root
#   make deb                          the Debian packages vlcpd and vlcpctl in build/deb (appliance/)
#   make deb-test                     make deb, then install, upgrade under traffic and purge them (tests/system)
#   make image                        the appliance: a bootable Debian 12 disk image in build/image (appliance/image)
#   make image-test                   boot its root with systemd-nspawn (seed file), then the disk in qemu
#                                     (TCG, UEFI, seed on the kernel command line), and check both
SHELL := /bin/bash
.DEFAULT_GOAL := all

SAN ?=
JOBS ?= $(shell nproc)
comma := ,
ifeq ($(SAN),)
  BUILD_DIR ?= build/release
else
  BUILD_DIR ?= build/san-$(subst $(comma),-,$(SAN))
endif
LIBOVS_DIR := build/ovs
# Sources clang-format owns (generated and third-party code excluded).
FORMAT_FILES = $(shell git ls-files -co --exclude-standard -- '*.h' '*.cc' '*.cpp' | grep -v '^build/')

FUZZ_DIR := build/fuzz
FUZZ_SECONDS ?= 300

.PHONY: all demo deps packages libovs build test unit-test system-test tsan asan format format-check \
        check-layers check-link-deps fresh-check clean distclean fuzz-build fuzz perf perf-runtime \
        perf-objectdb perf-api perf-l2 perf-l3 perf-containers perf-packet-in scale scale-sustained deb deb-test image image-test

all: libovs build

packages:
	@src/tools/install-deps.sh

libovs:
	@src/tools/build-libovs.sh $(LIBOVS_DIR)

deps: packages libovs

build:
	@if [ ! -f $(BUILD_DIR)/CMakeCache.txt ]; then \
	  cmake -S . -B $(BUILD_DIR) -DVLCP_SANITIZE=$(SAN) -DVLCP_LIBOVS_DIR=$(CURDIR)/$(LIBOVS_DIR) >/dev/null; \
	fi
	@cmake --build $(BUILD_DIR) -j$(JOBS)

demo: deps
	@if [ ! -f $(BUILD_DIR)/CMakeCache.txt ]; then \
	  cmake -S . -B $(BUILD_DIR) -DVLCP_SANITIZE=$(SAN) -DVLCP_LIBOVS_DIR=$(CURDIR)/$(LIBOVS_DIR) >/dev/null; \
	fi
	@cmake --build $(BUILD_DIR) -j$(JOBS) --target vlcpd vlcpctl
	@tests/sandbox/demo.sh $(BUILD_DIR)

test: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory fuzz-build
	@tests/run-suite.sh $(BUILD_DIR)

# The unit suite includes a short pass of the libFuzzer build (fuzz_smoke), so it needs that too.
unit-test: all fuzz-build
	@tests/run-suite.sh $(BUILD_DIR) unit

system-test: all
	@tests/run-suite.sh $(BUILD_DIR) system

tsan:
	@$(MAKE) --no-print-directory test SAN=thread

asan:
	@$(MAKE) --no-print-directory test SAN=address,undefined

# libFuzzer targets, built with clang (ASan + UBSan) in build/fuzz. `make fuzz` runs each for
# FUZZ_SECONDS on a copy of its seed corpus; `make test` runs a short pass (tests/fuzz/run.sh).
fuzz-build: libovs
	@if [ ! -f $(FUZZ_DIR)/CMakeCache.txt ]; then \
	  CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DVLCP_FUZZ=ON -DVLCP_SANITIZE=address,undefined \
	    -DVLCP_LIBOVS_DIR=$(CURDIR)/$(LIBOVS_DIR) >/dev/null; \
	fi
	@cmake --build $(FUZZ_DIR) -j$(JOBS) --target fuzz_targets

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# Benchmarks: medians of PERF_REPS repetitions (our 2-core machines are noisy).
PERF_REPS ?= 5
perf-runtime: all
	@perf/run_runtime.sh $(BUILD_DIR)

perf-objectdb: all
	@perf/run_objectdb.sh $(BUILD_DIR) 3

perf-api: all
	@perf/run_api.sh $(BUILD_DIR) 3 3000

perf-l2: all
	@perf/run_l2.sh $(BUILD_DIR) 100 1000 3

# The Docker plugin's churn (issue 19): libnetwork's calls against two vlcpd (ZooKeeper, VXLAN),
# create -> first ping across servers, pairs per minute, leaks (perf/run_containers.sh).
perf-containers: all
	@perf/run_containers.sh $(BUILD_DIR) 4 300

# The packet-in path (issue 17): ofp_swarm's learnpo mode against ovs-testcontroller, os-ken and
# vlcpd's profiles, same work (FLOW_MOD + PACKET_OUT, or vlcpd's two FLOW_MODs), medians of 3.
perf-packet-in: all
	@perf/run_packet_in.sh $(BUILD_DIR) 3 5

# L3 (issue 16): routed/switched TCP and the first routed packet; DHCP through the workers with
# emulated switches; DHCP lease time against OVN's native DHCP (ovn-central, ovn-host).
perf-l3: all
	@$(BUILD_DIR)/perf/dhcp_bench --benchmark_repetitions=$(PERF_REPS) --benchmark_report_aggregates_only=true
	@perf/run_l3.sh $(BUILD_DIR) 9 30 5
	@perf/run_dhcp_workers.sh $(BUILD_DIR) 8 8 5 3
	@perf/run_dhcp_lease.sh $(BUILD_DIR) 100 20

# The scale simulator (issue 20, perf/scale/README.md): models of 1k, 10k and 100k ports in a
# loopback ZooKeeper, the measured node, 1,000 simulated nodes; its wall time at the end.
scale: all
	@start=$$(date +%s); perf/scale/run_scale.sh $(BUILD_DIR); echo "make scale: wall time $$(( $$(date +%s) - start )) s"
# Sustained churn on N real vlcpd + OVS (root; N=20 R=200 T=10 from the environment).
scale-sustained: all
	@perf/scale/run_sustained.sh $(BUILD_DIR)

perf: all
	@$(BUILD_DIR)/perf/ofp_bench --benchmark_repetitions=$(PERF_REPS) --benchmark_report_aggregates_only=true
	@perf/run_runtime.sh $(BUILD_DIR)
	@perf/run_objectdb.sh $(BUILD_DIR) 3
	@perf/run_api.sh $(BUILD_DIR) 3 3000

format:
	@clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: ok"

check-layers:
	@src/tools/check-layers.sh src

# Also a unit test (link_deps): BUILD_DIR's tree after building it, and the libFuzzer tree if built.
check-link-deps: build
	@tests/tools/check-link-deps.py $(BUILD_DIR) $(wildcard $(FUZZ_DIR))

# The README's commands on a minimal bookworm root built from Debian's packages (mmdebstrap), on
# the committed HEAD; needs root and network access to deb.debian.org. See src/tools/fresh-check.sh.
fresh-check:
	@src/tools/fresh-check.sh

clean:
	rm -rf build/release build/san-*

distclean:
	rm -rf build

# The Debian packages (appliance/debian): the committed tree staged in build/deb/stage and built
# with dpkg-buildpackage and the project's CMake, then lintian. See appliance/README.md.
deb: libovs
	@appliance/build-deb.sh

# The appliance image (appliance/image/README.md): mmdebstrap's Debian 12 base (cached in
# build/image/cache) with OVS, OVS-DPDK, the kernel and systemd-boot, plus build/deb's packages;
# build/image/vlcp-appliance.{raw,qcow2} and the root (build/image/rootfs) for systemd-nspawn.
# Needs root and deb.debian.org. image-test boots it in qemu under TCG (minutes: see the README).
image: deb
	@appliance/image/build.sh

image-test: image
	@tests/system/appliance_nspawn.sh
	@appliance/image/qemu_test.sh

# The packages of `make deb` in a throw-away Debian 12 root (mmdebstrap, cached in build/deb/roots):
# install, a running vlcpd upgraded under a 10 ms ping without loss, purge.
deb-test: deb
	@tests/system/deb_package.sh build/deb
