# vlcpctl trace (issue 21, docs/TRACE_DESIGN.md).
# pipeline/registers.h reads the registers' declarations from flowtables/registers.def: every
# user of vlcp_pipeline sees the source root.
target_include_directories(vlcp_pipeline PUBLIC ${CMAKE_SOURCE_DIR})
# ovs-vswitchd's control socket (src/ovsdb/unixctl, §4.1): part of the OVSDB layer's library.
target_sources(vlcp_ovsdb PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../ovsdb/unixctl.cc)
# The model objects behind a flow (§6.3): the platform's generic resolver, in the apps' library.
target_sources(vlcp_apps PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../apps/explain.cc)
# The trace's pure core (§4.2, §5, §8): the packet spec, the parser of ofproto/trace's text and the
# verdict rules; base and ofp only, so that trace_parse_fuzz builds in the libFuzzer tree (clang)
# without the I/O layers.
add_library(vlcp_trace_core STATIC trace/packet_spec.cc trace/parse.cc trace/verdict.cc)
target_link_libraries(vlcp_trace_core PUBLIC vlcp_ofp)
# The annotation of a hop's steps (§6): tables, owners (the flow owner's records), registers and
# the model objects (apps/explain); and vlcpd's module `trace` with its WebAPI methods (§10).
add_library(vlcp_trace STATIC trace/annotate.cc trace/hop.cc trace/mailbox.cc trace/service.cc)
target_link_libraries(vlcp_trace PUBLIC vlcp_trace_core vlcp_flows vlcp_apps vlcp_api)
# --live (§9): the session, nonce and observation records the requester and the tracer app share
# (apps/trace_live), in the apps' library; the requester's sequence and live verdicts (trace/live).
target_sources(vlcp_apps PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../apps/trace_live.cc)
add_library(vlcp_trace_live STATIC trace/live.cc)
target_link_libraries(vlcp_trace_live PUBLIC vlcp_trace_core vlcp_apps)
target_link_libraries(vlcp_trace PUBLIC vlcp_trace_live)
