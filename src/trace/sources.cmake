# vlcpctl trace (issue 21, docs/TRACE_DESIGN.md).
# pipeline/registers.h reads the registers' declarations from flowtables/registers.def: every
# user of vlcp_pipeline sees the source root.
target_include_directories(vlcp_pipeline PUBLIC ${CMAKE_SOURCE_DIR})
# ovs-vswitchd's control socket (src/ovsdb/unixctl, §4.1): part of the OVSDB layer's library.
target_sources(vlcp_ovsdb PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../ovsdb/unixctl.cc)
