/* The differential oracle: Open vSwitch's own OpenFlow codec (libopenvswitch), behind a small
 * C interface so that C++ tests never include OVS's headers. Linked into test binaries only. */
#ifndef VLCP_TESTS_OVS_ORACLE_H
#define VLCP_TESTS_OVS_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `ovs-ofctl ofp-print` of a message, verbosity 1 (malloc'd; free it). */
char* ovs_oracle_print(const void* msg, size_t len);

/* Decodes a message with OVS's decoder for its type. Returns 0 when OVS accepts it, else the
 * OpenFlow error OVS reports, as (type << 16 | code) when it has one, or -1; *error_name
 * (malloc'd, may be NULL) names the error as OVS does. */
int ovs_oracle_decode(const void* msg, size_t len, char** error_name);

/* Parses a flow in ovs-ofctl syntax ("priority=1,in_port=1,actions=output:2") and encodes it
 * as an OpenFlow 1.3 FLOW_MOD with OVS's encoder. command: 0 add, 1 modify, 3 delete...
 * Returns malloc'd bytes and *len, or NULL with *error (malloc'd). */
uint8_t* ovs_oracle_encode_flow(const char* flow, int command, size_t* len, char** error);

/* OVS's view of an Ethernet frame, as `ovs-ofctl ofp-print` shows a packet-in's data:
 * "arp,vlan_tci=0x0000,dl_src=...,arp_op=1,..." (malloc'd). */
char* ovs_oracle_packet(const void* frame, size_t len);

/* OVS's flow of an Ethernet frame arriving on `in_port`: flow_extract() and flow_format(), the
 * syntax of ofproto/trace's "Flow:" line ("icmp,in_port=1,vlan_tci=0x0000,dl_src=...")
 * (malloc'd; free it). */
char* ovs_oracle_flow_of_frame(const void* frame, size_t len, uint32_t in_port);

/* One field header OVS decodes (in a match, a set_field or an NX action), as found by asking
 * OVS's own header lookup about every class, field number and length. */
struct ovs_oracle_field {
  uint16_t oxm_class;    /* 0x0000/0x0001 NXM, 0x8000 basic, 0x8001 packet regs, 0xffff */
  uint8_t number;        /* oxm_field */
  uint8_t length;        /* value bytes, as the header says (without experimenter id) */
  uint32_t experimenter; /* for class 0xffff, else 0 */
  char name[40];         /* OVS's field name (mf->name), e.g. "arp_sha" */
  char header_name[40];  /* this header's NXM/OXM name, e.g. "NXM_NX_ARP_SHA" */
  int n_bits;            /* significant bits (mf->n_bits) */
  int maskable;
  int writable;
  int variable_len;
};

/* Decodes a FLOW_MOD with OVS and encodes it again, as OVS writes it (what a flow stats reply
 * will show of it). Returns malloc'd bytes and *len, or NULL when OVS refuses the message. */
uint8_t* ovs_oracle_reencode_flow_mod(const void* msg, size_t len, size_t* out_len);

/* Fills out[0..max) with every header OVS knows; returns how many there are. */
int ovs_oracle_fields(struct ovs_oracle_field* out, int max);

#ifdef __cplusplus
}
#endif

#endif
