# The CNI layer (issue 19, docs/CONTAINERS_DESIGN.md §5): the specification as pure functions
# (configurations, CNI_ARGS, versions, results, errors) and vlcp-cni's wire format to vlcpd; and
# vlcp-cni itself, which links only this and vlcp_base (no Boost, no DPDK).
add_library(vlcp_cni STATIC cni/spec.cc cni/wire.cc)
target_link_libraries(vlcp_cni PUBLIC vlcp_base)

add_executable(vlcp-cni cni/vlcp_cni.cc)
target_link_libraries(vlcp-cni PRIVATE vlcp_cni)
