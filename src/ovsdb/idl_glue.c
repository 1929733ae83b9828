/* The OVSDB IDL glue (see idl_glue.h). */
#include <config.h> /* OVS's build configuration: first, as in every OVS source */

#include "ovsdb/idl_glue.h"

#include <openvswitch/json.h>
#include <openvswitch/poll-loop.h>
#include <openvswitch/vlog.h>
#include <ovsdb-idl.h>
#include <smap.h>
#include <stdlib.h>
#include <string.h>
#include <util.h>
#include <vswitch-idl.h>

struct vlcp_idl {
    struct ovsdb_idl *idl;
    unsigned int seqno;
};

static void
add_columns(struct ovsdb_idl *idl)
{
    const struct ovsdb_idl_column *columns[] = {
        &ovsrec_open_vswitch_col_external_ids, &ovsrec_open_vswitch_col_other_config,
        &ovsrec_open_vswitch_col_dpdk_initialized, &ovsrec_open_vswitch_col_dpdk_version,
        &ovsrec_open_vswitch_col_ovs_version, &ovsrec_open_vswitch_col_bridges,
        &ovsrec_bridge_col_name, &ovsrec_bridge_col_datapath_id, &ovsrec_bridge_col_datapath_type,
        &ovsrec_bridge_col_fail_mode, &ovsrec_bridge_col_protocols, &ovsrec_bridge_col_ports,
        &ovsrec_bridge_col_controller,
        &ovsrec_port_col_name, &ovsrec_port_col_interfaces, &ovsrec_port_col_external_ids,
        &ovsrec_port_col_tag,
        &ovsrec_interface_col_name, &ovsrec_interface_col_type, &ovsrec_interface_col_ofport,
        &ovsrec_interface_col_external_ids, &ovsrec_interface_col_options,
        &ovsrec_interface_col_admin_state, &ovsrec_interface_col_link_state,
        &ovsrec_interface_col_error, &ovsrec_interface_col_mac_in_use,
        &ovsrec_controller_col_target, &ovsrec_controller_col_is_connected,
        &ovsrec_controller_col_role, &ovsrec_controller_col_max_backoff,
    };
    for (size_t i = 0; i < ARRAY_SIZE(columns); i++) {
        ovsdb_idl_add_column(idl, columns[i]);
    }
}

struct vlcp_idl *
vlcp_idl_create(const char *remote, int probe_interval_ms)
{
    static int vlog_quiet = 0;
    if (!vlog_quiet) {
        /* OVS's own log lines would go to stderr unformatted: keep warnings and above. */
        vlog_set_levels(NULL, VLF_CONSOLE, VLL_WARN);
        vlog_quiet = 1;
    }
    struct vlcp_idl *v = xzalloc(sizeof *v);
    v->idl = ovsdb_idl_create(remote, &ovsrec_idl_class, false, true);
    add_columns(v->idl);
    ovsdb_idl_set_probe_interval(v->idl, probe_interval_ms);
    v->seqno = ovsdb_idl_get_seqno(v->idl);
    return v;
}

void
vlcp_idl_destroy(struct vlcp_idl *v)
{
    if (v) {
        ovsdb_idl_destroy(v->idl);
        free(v);
    }
}

int
vlcp_idl_run(struct vlcp_idl *v)
{
    ovsdb_idl_run(v->idl);
    unsigned int seqno = ovsdb_idl_get_seqno(v->idl);
    if (seqno != v->seqno) {
        v->seqno = seqno;
        return 1;
    }
    return 0;
}

int
vlcp_idl_connected(const struct vlcp_idl *v)
{
    return ovsdb_idl_is_connected(v->idl) && ovsdb_idl_has_ever_connected(v->idl);
}

void
vlcp_idl_block(struct vlcp_idl *v, int wake_fd, int timeout_ms)
{
    ovsdb_idl_wait(v->idl);
    poll_fd_wait(wake_fd, POLLIN);
    poll_timer_wait(timeout_ms);
    poll_block();
}

static struct json *
smap_json(const struct smap *m)
{
    struct json *o = json_object_create();
    struct smap_node *node;
    SMAP_FOR_EACH (node, m) {
        json_object_put_string(o, node->key, node->value);
    }
    return o;
}

static struct json *
str(const char *s)
{
    return json_string_create(s ? s : "");
}

char *
vlcp_idl_snapshot(const struct vlcp_idl *v)
{
    struct json *root = json_object_create();
    const struct ovsrec_open_vswitch *ovs = ovsrec_open_vswitch_first(v->idl);
    if (ovs) {
        json_object_put(root, "system_id", str(smap_get(&ovs->external_ids, "system-id")));
        json_object_put(root, "ovs_version", str(ovs->ovs_version));
        json_object_put(root, "dpdk_initialized", json_boolean_create(ovs->dpdk_initialized));
        json_object_put(root, "dpdk_version", str(ovs->dpdk_version));
        json_object_put(root, "other_config", smap_json(&ovs->other_config));
    }
    struct json *bridges = json_array_create_empty();
    const struct ovsrec_bridge *br;
    OVSREC_BRIDGE_FOR_EACH (br, v->idl) {
        struct json *b = json_object_create();
        json_object_put(b, "name", str(br->name));
        json_object_put(b, "datapath_id", str(br->datapath_id));
        json_object_put(b, "datapath_type", str(br->datapath_type));
        json_object_put(b, "fail_mode", str(br->fail_mode));
        struct json *protocols = json_array_create_empty();
        for (size_t i = 0; i < br->n_protocols; i++) {
            json_array_add(protocols, str(br->protocols[i]));
        }
        json_object_put(b, "protocols", protocols);
        struct json *ports = json_array_create_empty();
        for (size_t i = 0; i < br->n_ports; i++) {
            json_array_add(ports, str(br->ports[i]->name));
        }
        json_object_put(b, "ports", ports);
        struct json *controllers = json_array_create_empty();
        for (size_t i = 0; i < br->n_controller; i++) {
            const struct ovsrec_controller *c = br->controller[i];
            struct json *cj = json_object_create();
            json_object_put(cj, "target", str(c->target));
            json_object_put(cj, "is_connected", json_boolean_create(c->is_connected));
            json_object_put(cj, "role", str(c->role));
            json_array_add(controllers, cj);
        }
        json_object_put(b, "controllers", controllers);
        json_array_add(bridges, b);
    }
    json_object_put(root, "bridges", bridges);

    struct json *ports = json_array_create_empty();
    const struct ovsrec_port *port;
    OVSREC_PORT_FOR_EACH (port, v->idl) {
        struct json *p = json_object_create();
        json_object_put(p, "name", str(port->name));
        struct json *ifaces = json_array_create_empty();
        for (size_t i = 0; i < port->n_interfaces; i++) {
            json_array_add(ifaces, str(port->interfaces[i]->name));
        }
        json_object_put(p, "interfaces", ifaces);
        json_object_put(p, "external_ids", smap_json(&port->external_ids));
        json_object_put(p, "tag", json_integer_create(port->n_tag ? port->tag[0] : -1));
        json_array_add(ports, p);
    }
    json_object_put(root, "ports", ports);

    struct json *ifaces = json_array_create_empty();
    const struct ovsrec_interface *iface;
    OVSREC_INTERFACE_FOR_EACH (iface, v->idl) {
        struct json *i = json_object_create();
        json_object_put(i, "name", str(iface->name));
        json_object_put(i, "type", str(iface->type));
        json_object_put(i, "ofport", json_integer_create(iface->n_ofport ? iface->ofport[0] : -1));
        json_object_put(i, "external_ids", smap_json(&iface->external_ids));
        json_object_put(i, "options", smap_json(&iface->options));
        json_object_put(i, "admin_state", str(iface->admin_state));
        json_object_put(i, "link_state", str(iface->link_state));
        json_object_put(i, "error", str(iface->error));
        json_object_put(i, "mac_in_use", str(iface->mac_in_use));
        json_array_add(ifaces, i);
    }
    json_object_put(root, "interfaces", ifaces);

    char *text = json_to_string(root, 0);
    json_destroy(root);
    return text;
}

int
vlcp_idl_set_controller(struct vlcp_idl *v, const char *bridge, const char *target, int secure,
                        int max_backoff_ms, char **error)
{
    for (int attempt = 0; attempt < 10; attempt++) {
        const struct ovsrec_bridge *br = NULL, *b;
        OVSREC_BRIDGE_FOR_EACH (b, v->idl) {
            if (!strcmp(b->name, bridge)) {
                br = b;
            }
        }
        if (!br) {
            *error = xasprintf("no bridge named %s", bridge);
            return -1;
        }
        struct ovsdb_idl_txn *txn = ovsdb_idl_txn_create(v->idl);
        ovsdb_idl_txn_add_comment(txn, "vlcpd: set controller of %s to %s", bridge, target);
        /* The controller column must still be what we read: a "wait" in the transaction. */
        ovsrec_bridge_verify_controller(br);
        struct ovsrec_controller *c = ovsrec_controller_insert(txn);
        ovsrec_controller_set_target(c, target);
        int64_t backoff = max_backoff_ms;
        ovsrec_controller_set_max_backoff(c, &backoff, 1);
        ovsrec_bridge_set_controller(br, &c, 1);
        if (secure) {
            ovsrec_bridge_set_fail_mode(br, "secure");
        }
        enum ovsdb_idl_txn_status status = ovsdb_idl_txn_commit_block(txn);
        char *txn_error = status == TXN_ERROR ? xstrdup(ovsdb_idl_txn_get_error(txn)) : NULL;
        ovsdb_idl_txn_destroy(txn);
        if (status == TXN_SUCCESS || status == TXN_UNCHANGED) {
            return 0;
        }
        if (status == TXN_TRY_AGAIN) {
            continue;                   /* someone else changed the bridge: re-read, retry */
        }
        *error = txn_error ? txn_error : xasprintf("transaction %s", ovsdb_idl_txn_status_to_string(status));
        return -1;
    }
    *error = xstrdup("transaction kept conflicting with other clients");
    return -1;
}
