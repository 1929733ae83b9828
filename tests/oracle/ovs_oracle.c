/* The differential oracle over libopenvswitch: see ovs_oracle.h. */
#include "ovs_oracle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openvswitch/dynamic-string.h"
#include "openvswitch/ofp-errors.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-group.h"
#include "openvswitch/ofp-monitor.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-packet.h"
#include "openvswitch/ofp-port.h"
#include "openvswitch/ofp-print.h"
#include "openvswitch/ofp-protocol.h"
#include "openvswitch/ofp-switch.h"
#include "openvswitch/ofp-connection.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/meta-flow.h"
#include "nx-match.h"
#include "dp-packet.h"
#include "flow.h"
#include "packets.h"

/* Verbosity 2: what `ovs-ofctl ofp-print` uses. */
char *ovs_oracle_print(const void *msg, size_t len) { return ofp_to_string(msg, len, NULL, NULL, 2); }

char *ovs_oracle_packet(const void *frame, size_t len) { return ofp_packet_to_string(frame, len, htonl(0)); }

char *ovs_oracle_flow_of_frame(const void *frame, size_t len, uint32_t in_port) {
    struct dp_packet packet;
    dp_packet_use_const(&packet, frame, len);
    pkt_metadata_init(&packet.md, u32_to_odp(in_port));
    struct flow flow;
    memset(&flow, 0, sizeof flow);
    flow_extract(&packet, &flow);
    struct ds s = DS_EMPTY_INITIALIZER;
    flow_format(&s, &flow, NULL);
    dp_packet_uninit(&packet);
    return ds_steal_cstr(&s);
}

static int report(enum ofperr error, char **error_name) {
    if (!error) {
        return 0;
    }
    if (error_name) {
        *error_name = strdup(ofperr_get_name(error));
    }
    int type = ofperr_get_type(error, OFP13_VERSION);
    int code = ofperr_get_code(error, OFP13_VERSION);
    return type >= 0 && code >= 0 ? (type << 16 | code) : -1;
}

int ovs_oracle_decode(const void *msg, size_t len, char **error_name) {
    if (error_name) {
        *error_name = NULL;
    }
    if (len < sizeof(struct ofp_header)) {
        return report(OFPERR_OFPBRC_BAD_LEN, error_name);
    }
    const struct ofp_header *oh = msg;
    if (ntohs(oh->length) != len) {
        return report(OFPERR_OFPBRC_BAD_LEN, error_name);
    }
    enum ofptype type;
    enum ofperr error = ofptype_decode(&type, oh);
    if (error) {
        return report(error, error_name);
    }
    struct ofpbuf ofpacts;
    ofpbuf_init(&ofpacts, 64);
    switch (type) {
    case OFPTYPE_FLOW_MOD: {
        struct ofputil_flow_mod fm;
        error = ofputil_decode_flow_mod(&fm, oh, OFPUTIL_P_OF13_OXM, NULL, NULL, &ofpacts, OFPP_MAX, 255);
        if (!error) {
            minimatch_destroy(&fm.match);
        }
        break;
    }
    case OFPTYPE_PACKET_OUT: {
        struct ofputil_packet_out po;
        error = ofputil_decode_packet_out(&po, oh, NULL, &ofpacts);  /* packet points into oh */
        break;
    }
    case OFPTYPE_PACKET_IN: {
        struct ofputil_packet_in pin;
        size_t total_len;
        uint32_t buffer_id;
        error = ofputil_decode_packet_in(oh, false, NULL, NULL, &pin, &total_len, &buffer_id, NULL);
        break;
    }
    case OFPTYPE_FLOW_REMOVED: {
        struct ofputil_flow_removed fr;
        error = ofputil_decode_flow_removed(&fr, oh);
        break;
    }
    case OFPTYPE_PORT_STATUS: {
        struct ofputil_port_status ps;
        error = ofputil_decode_port_status(oh, &ps);
        break;
    }
    case OFPTYPE_GROUP_MOD: {
        struct ofputil_group_mod gm;
        error = ofputil_decode_group_mod(oh, &gm);
        if (!error) {
            ofputil_uninit_group_mod(&gm);
        }
        break;
    }
    case OFPTYPE_FEATURES_REPLY: {
        struct ofputil_switch_features features;
        struct ofpbuf b = ofpbuf_const_initializer(oh, ntohs(oh->length));
        error = ofputil_pull_switch_features(&b, &features);
        break;
    }
    case OFPTYPE_SET_CONFIG: {
        struct ofputil_switch_config config;
        error = ofputil_decode_set_config(oh, &config);
        break;
    }
    case OFPTYPE_ROLE_REQUEST:
    case OFPTYPE_ROLE_REPLY: {
        struct ofputil_role_request rr;
        error = ofputil_decode_role_message(oh, &rr);
        break;
    }
    default:
        break;
    }
    ofpbuf_uninit(&ofpacts);
    return report(error, error_name);
}

uint8_t *ovs_oracle_encode_flow(const char *flow, int command, size_t *len, char **error) {
    struct ofputil_flow_mod fm;
    enum ofputil_protocol usable;
    *error = parse_ofp_flow_mod_str(&fm, flow, NULL, NULL, command, &usable);
    if (*error) {
        return NULL;
    }
    struct ofpbuf *msg = ofputil_encode_flow_mod(&fm, OFPUTIL_P_OF13_OXM);
    minimatch_destroy(&fm.match);
    free(fm.ofpacts);
    *len = msg->size;
    uint8_t *out = malloc(msg->size);
    memcpy(out, msg->data, msg->size);
    ofpbuf_delete(msg);
    return out;
}

static void header_name(const uint8_t *tlv, size_t len, char *out, size_t out_size) {
    /* nx_match_to_string names an entry as "NXM_NX_ARP_SHA(...)": keep the name. */
    char *s = nx_match_to_string(tlv, len);
    size_t n = strcspn(s, "(");
    if (n >= out_size) {
        n = out_size - 1;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    free(s);
}

int ovs_oracle_fields(struct ovs_oracle_field *out, int max) {
    static const struct {
        uint16_t cls;
        uint32_t experimenter;
    } spaces[] = {{0x0000, 0}, {0x0001, 0}, {0x8000, 0}, {0x8001, 0},
                  {0xffff, 0x00002320}, {0xffff, 0x005ad650}, {0xffff, 0x4f4e4600}};
    int n = 0;
    for (size_t s = 0; s < sizeof spaces / sizeof spaces[0]; s++) {
        int exp_len = spaces[s].cls == 0xffff ? 4 : 0;
        for (int number = 0; number < 128; number++) {
            for (int length = 1; length + exp_len <= 255; length++) {
                uint8_t tlv[8 + 255];
                memset(tlv, 0, sizeof tlv);
                uint32_t h = (uint32_t) spaces[s].cls << 16 | number << 9 | (length + exp_len);
                ovs_be32 be = htonl(h);
                memcpy(tlv, &be, 4);
                if (exp_len) {
                    be = htonl(spaces[s].experimenter);
                    memcpy(tlv + 4, &be, 4);
                }
                struct ofpbuf b = ofpbuf_const_initializer(tlv, 4 + exp_len + length);
                const struct mf_field *mf = NULL;
                bool masked;
                enum ofperr error = nx_pull_header(&b, NULL, &mf, &masked);
                if (error || !mf) {
                    continue;
                }
                if (n < max) {
                    struct ovs_oracle_field *f = &out[n];
                    memset(f, 0, sizeof *f);
                    f->oxm_class = spaces[s].cls;
                    f->number = number;
                    f->length = mf->variable_len ? mf->n_bytes : length;
                    f->experimenter = spaces[s].experimenter;
                    snprintf(f->name, sizeof f->name, "%s", mf->name);
                    header_name(tlv, 4 + exp_len + length, f->header_name, sizeof f->header_name);
                    f->n_bits = mf->n_bits;
                    f->maskable = mf->maskable != MFM_NONE;
                    f->writable = mf->writable;
                    f->variable_len = mf->variable_len;
                }
                n++;
                break;  /* one length per header (the field's) */
            }
        }
    }
    return n;
}

uint8_t *ovs_oracle_reencode_flow_mod(const void *msg, size_t len, size_t *out_len) {
    const struct ofp_header *oh = msg;
    struct ofputil_flow_mod fm;
    struct ofpbuf ofpacts;
    ofpbuf_init(&ofpacts, 64);
    enum ofperr error = ofputil_decode_flow_mod(&fm, oh, OFPUTIL_P_OF13_OXM, NULL, NULL, &ofpacts, OFPP_MAX, 255);
    if (error) {
        ofpbuf_uninit(&ofpacts);
        return NULL;
    }
    struct ofpbuf *out = ofputil_encode_flow_mod(&fm, OFPUTIL_P_OF13_OXM);
    minimatch_destroy(&fm.match);
    ofpbuf_uninit(&ofpacts);
    struct ofp_header *reh = out->data;
    reh->xid = oh->xid;
    *out_len = out->size;
    uint8_t *bytes = malloc(out->size);
    memcpy(bytes, out->data, out->size);
    ofpbuf_delete(out);
    return bytes;
}
