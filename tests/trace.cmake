# vlcpctl trace (issue 21, docs/TRACE_DESIGN.md §13.1): its unit tests, included by
# tests/CMakeLists.txt.
vlcp_unit_test(registers_test SOURCES unit/pipeline/registers_test.cc LIBS vlcp_pipeline)
# ovs-vswitchd's control socket: framing, replies, socket discovery, a fake server.
vlcp_unit_test(unixctl_test SOURCES unit/ovsdb/unixctl_test.cc LIBS vlcp_ovsdb)
# vlcpd's unixctl client as a command, and its system test against a real ovs-vswitchd.
add_executable(unixctl_call tools/unixctl_call.cc)
target_link_libraries(unixctl_call PRIVATE vlcp_ovsdb vlcp_options)
add_test(NAME system_trace_unixctl COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/system/trace_unixctl.sh)
set_tests_properties(system_trace_unixctl PROPERTIES LABELS system TIMEOUT 120
  ENVIRONMENT "VLCP_SANDBOX_LEDGER=${CMAKE_BINARY_DIR}/sandbox-ledger;VLCP_UNIXCTL_CALL=$<TARGET_FILE:unixctl_call>"
  FIXTURES_REQUIRED sandbox_suite)
# The trace's packet: br_flow and frame per protocol, differential against OVS's flow_extract.
vlcp_unit_test(packet_spec_test SOURCES unit/trace/packet_spec_test.cc LIBS vlcp_trace_core ovs_oracle)
# The parser of ofproto/trace over real OVS 3.1 output (golden/, tests/system/trace_goldens.sh).
vlcp_unit_test(trace_parse_test SOURCES unit/trace/parse_test.cc LIBS vlcp_trace_core)
target_compile_definitions(trace_parse_test PRIVATE VLCP_TRACE_GOLDEN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/unit/trace/golden")
# The annotation over a real trace: table names, owners by cookie and match text, registers.
vlcp_unit_test(annotate_test SOURCES unit/trace/annotate_test.cc LIBS vlcp_trace)
target_compile_definitions(annotate_test PRIVATE VLCP_TRACE_GOLDEN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/unit/trace/golden")
# The verdict rules, one case per code of trace/verdicts.def.
vlcp_unit_test(verdict_test SOURCES unit/trace/verdict_test.cc LIBS vlcp_trace_core)
# vlcpctl trace on the real sandbox (§13.2), the single-node cases 1, 5, 6, 7, 9.
add_test(NAME system_trace COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/system/trace.sh)
set_tests_properties(system_trace PROPERTIES LABELS system TIMEOUT 300
  ENVIRONMENT "VLCP_SANDBOX_LEDGER=${CMAKE_BINARY_DIR}/sandbox-ledger;VLCP_VLCPCTL=$<TARGET_FILE:vlcpctl>;VLCP_VLCPD=$<TARGET_FILE:vlcpd>"
  FIXTURES_REQUIRED sandbox_suite)
# A trace's continuation across servers without the transport: arrivals, entries, the next packet.
vlcp_unit_test(hop_test SOURCES unit/trace/hop_test.cc LIBS vlcp_trace)
# The ObjectDB mailbox between nodes (§7): records, rounds, stale answers, deadlines, slots, sweeper.
vlcp_unit_test(trace_mailbox_test SOURCES unit/trace/mailbox_test.cc LIBS vlcp_trace)
