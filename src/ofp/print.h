// Text in ovs-ofctl's syntax: matches in OVS's canonical field order and spelling, actions and
// instructions as `ovs-ofctl dump-flows` writes them, whole messages as `ovs-ofctl ofp-print`
// does, so operators can diff our output against OVS's or paste it into ovs-ofctl.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/buffer.h"

namespace vlcp::ofp {

inline constexpr int kDefaultPriority = 0x8000;

// A port number as OVS writes it: 1, LOCAL, CONTROLLER, IN_PORT, ANY...
std::string format_port(uint32_t port);
// A validated OXM sequence ("priority=10,ip,in_port=1,nw_src=10.0.0.0/8"), priority omitted
// when it is the default.
void format_match(std::string& out, ByteSpan oxms, int priority = kDefaultPriority);
// A validated action list, comma-separated ("output:2,resubmit(,3)"); "drop" when empty.
void format_actions(std::string& out, ByteSpan actions);
// A validated instruction list as the body of "actions=...".
void format_instructions(std::string& out, ByteSpan instructions);

struct FlowStats;
// One flow of a flow stats reply as `ovs-ofctl dump-flows` writes it (without the leading
// space); `show_stats` false gives `--no-stats` output.
void format_flow_stats(std::string& out, const FlowStats& flow, bool show_stats);

// A frame as OVS describes a packet: the fields it extracts in match syntax, then the L4
// checksum ("icmp,vlan_tci=0x0000,dl_src=...,icmp_type=8,icmp_code=0 icmp_csum:f7ff").
void format_packet(std::string& out, ByteSpan frame);

// The tables of a TABLE_FEATURES request or reply body as `ovs-ofctl ofp-print` lists them
// (OpenFlow `version` 4 or 5); on what OVS refuses, its error name, after the tables before.
std::optional<std::string> format_table_features(std::string& out, uint8_t version, ByteSpan body);

// A whole message as `ovs-ofctl ofp-print` writes it; decode errors appear as OVS marks them.
std::string print_message(ByteSpan message);
// Any bytes as `ovs-ofctl ofp-print` shows them (OVS's ofp_to_string): a message cut short or
// followed by extra bytes gets OVS's marks and a hex dump, a decode error too.
std::string print_any(ByteSpan bytes);

}  // namespace vlcp::ofp
