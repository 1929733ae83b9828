# vlcpctl trace --live (issue 21, docs/TRACE_DESIGN.md §9, §13.1): the tracer app and the live
# sequence's verdicts, included by tests/CMakeLists.txt.
vlcp_unit_test(tracer_test SOURCES unit/tracer/tracer_test.cc LIBS vlcp_app_set)
# The live verdicts (§9.3), the marked packet, and the sequence on one node with the tracer app.
vlcp_unit_test(trace_live_test SOURCES unit/trace/live_test.cc LIBS vlcp_trace_live vlcp_app_set)
# vlcpctl trace --live on the two-server sandbox: cases 14-16 of §13.2.
add_test(NAME system_trace_live COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/system/trace_live.sh)
set_tests_properties(system_trace_live PROPERTIES LABELS system TIMEOUT 300
  ENVIRONMENT "VLCP_SANDBOX_LEDGER=${CMAKE_BINARY_DIR}/sandbox-ledger;VLCP_VLCPCTL=$<TARGET_FILE:vlcpctl>;VLCP_VLCPD=$<TARGET_FILE:vlcpd>"
  FIXTURES_REQUIRED sandbox_suite)
