# src/link: rtnetlink (the codec, sans I/O), ethtool, and the link thread that runs them, in the
# host's namespace or a container's (docs/CONTAINERS_DESIGN.md §3.1).
add_library(vlcp_link STATIC link/netlink.cc link/rtnl.cc link/ethtool.cc link/executor.cc)
target_link_libraries(vlcp_link PUBLIC vlcp_io)
