# vlcpctl trace (issue 21, docs/TRACE_DESIGN.md).
# pipeline/registers.h reads the registers' declarations from flowtables/registers.def: every
# user of vlcp_pipeline sees the source root.
target_include_directories(vlcp_pipeline PUBLIC ${CMAKE_SOURCE_DIR})
