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
        &ovsrec_interface_col_mtu_request,
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

/* ---- port commands (group commit) ---------------------------------------------------------- */

static const struct ovsrec_bridge *
find_bridge(const struct vlcp_idl *v, const char *name)
{
    const struct ovsrec_bridge *b;
    OVSREC_BRIDGE_FOR_EACH (b, v->idl) {
        if (!strcmp(b->name, name)) {
            return b;
        }
    }
    return NULL;
}

static const struct ovsrec_port *
find_port(const struct vlcp_idl *v, const char *name)
{
    const struct ovsrec_port *p;
    OVSREC_PORT_FOR_EACH (p, v->idl) {
        if (!strcmp(p->name, name)) {
            return p;
        }
    }
    return NULL;
}

static const struct ovsrec_interface *
find_interface(const struct vlcp_idl *v, const char *name)
{
    const struct ovsrec_interface *i;
    OVSREC_INTERFACE_FOR_EACH (i, v->idl) {
        if (!strcmp(i->name, name)) {
            return i;
        }
    }
    return NULL;
}

/* The owner of an existing port called `name` (its own interface's vlcp-owner, else the
 * port's), "" when it has none; NULL when neither a port nor an interface has that name. */
static const char *
existing_owner(const struct vlcp_idl *v, const char *name, const struct ovsrec_port **port)
{
    *port = find_port(v, name);
    const struct ovsrec_interface *iface = find_interface(v, name);
    if (!*port && !iface) {
        return NULL;
    }
    const char *owner = iface ? smap_get(&iface->external_ids, "vlcp-owner") : NULL;
    if (!owner && *port) {
        owner = smap_get(&(*port)->external_ids, "vlcp-owner");
    }
    /* An interface of that name inside another port is not ours to replace. */
    if (iface && *port) {
        int inside = 0;
        for (size_t k = 0; k < (*port)->n_interfaces; k++) {
            inside |= (*port)->interfaces[k] == iface;
        }
        if (!inside) {
            return "";
        }
    } else if (iface) {
        return ""; /* an interface with no port of its name */
    }
    return owner ? owner : "";
}

/* Removes `port` from every bridge holding it (its rows go with it: Port and Interface are
 * not root tables). */
static void
detach_port(const struct vlcp_idl *v, const struct ovsrec_port *port)
{
    const struct ovsrec_bridge *b;
    OVSREC_BRIDGE_FOR_EACH (b, v->idl) {
        for (size_t k = 0; k < b->n_ports; k++) {
            if (b->ports[k] == port) {
                ovsrec_bridge_update_ports_delvalue(b, port);
                break;
            }
        }
    }
}

/* Adds op's changes to `txn`; returns 1 when it did, 0 when the op failed its checks
 * (result set). */
static int
stage_op(struct vlcp_idl *v, struct ovsdb_idl_txn *txn, const struct vlcp_port_op *op,
         struct vlcp_port_result *r)
{
    const char *owner = op->owner ? op->owner : "";
    const struct ovsrec_port *old_port = NULL;
    const char *old_owner = existing_owner(v, op->name, &old_port);
    if (op->kind == VLCP_PORT_UNPLUG) {
        if (!old_owner) {
            return 1; /* nothing to remove */
        }
        if (*owner && strcmp(old_owner, owner)) {
            r->code = VLCP_PORT_CONFLICT;
            r->error = xasprintf("port %s belongs to '%s', not '%s'", op->name, old_owner, owner);
            return 0;
        }
        if (!old_port) {
            r->code = VLCP_PORT_CONFLICT;
            r->error = xasprintf("interface %s has no port of its name", op->name);
            return 0;
        }
        detach_port(v, old_port);
        return 1;
    }
    const struct ovsrec_bridge *br = find_bridge(v, op->bridge);
    if (!br) {
        r->code = VLCP_PORT_NO_BRIDGE;
        r->error = xasprintf("no bridge named %s", op->bridge);
        return 0;
    }
    if (old_owner) {
        if (!*owner || strcmp(old_owner, owner)) {
            r->code = VLCP_PORT_CONFLICT;
            r->error = xasprintf("port %s exists and belongs to '%s'", op->name,
                                 *old_owner ? old_owner : "(no vlcp-owner)");
            return 0;
        }
        if (old_port) {
            detach_port(v, old_port); /* ours (a crash, a replay): replaced */
        }
    }
    struct smap ids = SMAP_INITIALIZER(&ids);
    for (size_t k = 0; k < op->n_ext; k++) {
        smap_replace(&ids, op->ext_keys[k], op->ext_values[k]);
    }
    if (*owner) {
        smap_replace(&ids, "vlcp-owner", owner);
    }
    struct ovsrec_interface *iface = ovsrec_interface_insert(txn);
    ovsrec_interface_set_name(iface, op->name);
    ovsrec_interface_set_type(iface, op->type ? op->type : "");
    ovsrec_interface_set_external_ids(iface, &ids);
    if (op->mtu_request) {
        int64_t mtu = op->mtu_request;
        ovsrec_interface_set_mtu_request(iface, &mtu, 1);
    }
    struct ovsrec_port *port = ovsrec_port_insert(txn);
    ovsrec_port_set_name(port, op->name);
    ovsrec_port_set_interfaces(port, &iface, 1);
    smap_clear(&ids);
    if (*owner) {
        smap_add(&ids, "vlcp-owner", owner);
    }
    ovsrec_port_set_external_ids(port, &ids);
    smap_destroy(&ids);
    ovsrec_bridge_update_ports_addvalue(br, port);
    return 1;
}

int
vlcp_idl_port_batch(struct vlcp_idl *v, const struct vlcp_port_op *ops, size_t n,
                    struct vlcp_port_result *results)
{
    char *error = NULL;
    for (int attempt = 0; attempt < 10; attempt++) {
        struct ovsdb_idl_txn *txn = ovsdb_idl_txn_create(v->idl);
        ovsdb_idl_txn_add_comment(txn, "vlcpd: %zu port command(s)", n);
        size_t staged = 0;
        for (size_t k = 0; k < n; k++) {
            free(results[k].error);
            results[k].code = VLCP_PORT_OK;
            results[k].error = NULL;
            staged += stage_op(v, txn, &ops[k], &results[k]);
        }
        if (!staged) {
            ovsdb_idl_txn_destroy(txn);
            return 0;
        }
        enum ovsdb_idl_txn_status status = ovsdb_idl_txn_commit_block(txn);
        free(error);
        error = status == TXN_ERROR ? xstrdup(ovsdb_idl_txn_get_error(txn))
                                    : xasprintf("transaction %s", ovsdb_idl_txn_status_to_string(status));
        ovsdb_idl_txn_destroy(txn);
        if (status == TXN_SUCCESS || status == TXN_UNCHANGED) {
            free(error);
            return 0;
        }
        if (status != TXN_TRY_AGAIN) {
            break;
        }
        /* (the IDL re-read what changed: the checks run again on the new view) */
    }
    for (size_t k = 0; k < n; k++) {
        if (results[k].code == VLCP_PORT_OK) {
            results[k].code = VLCP_PORT_FAILED;
            results[k].error = xstrdup(error);
        }
    }
    free(error);
    return -1;
}
