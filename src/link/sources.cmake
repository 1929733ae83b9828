# src/link: rtnetlink (the codec, sans I/O: its own library, so the fuzz targets need nothing
# else), ethtool, and the link thread that runs them in the host's namespace or a container's
# (docs/CONTAINERS_DESIGN.md §3.1).
add_library(vlcp_link_codec STATIC link/netlink.cc)
target_link_libraries(vlcp_link_codec PUBLIC vlcp_base)
add_library(vlcp_link STATIC link/rtnl.cc link/ethtool.cc link/executor.cc)
target_link_libraries(vlcp_link PUBLIC vlcp_link_codec vlcp_io)
