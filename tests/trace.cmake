# vlcpctl trace (issue 21, docs/TRACE_DESIGN.md §13.1): its unit tests, included by
# tests/CMakeLists.txt.
vlcp_unit_test(registers_test SOURCES unit/pipeline/registers_test.cc LIBS vlcp_pipeline)
