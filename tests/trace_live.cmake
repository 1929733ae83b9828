# vlcpctl trace --live (issue 21, docs/TRACE_DESIGN.md §9, §13.1): the tracer app and the live
# sequence's verdicts, included by tests/CMakeLists.txt.
vlcp_unit_test(tracer_test SOURCES unit/tracer/tracer_test.cc LIBS vlcp_app_set)
# The live verdicts (§9.3), the marked packet, and the sequence on one node with the tracer app.
vlcp_unit_test(trace_live_test SOURCES unit/trace/live_test.cc LIBS vlcp_trace_live vlcp_app_set)
