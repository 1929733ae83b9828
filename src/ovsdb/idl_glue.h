/* libopenvswitch's OVSDB IDL behind a small C interface: OVS's headers are C (not all of them
 * compile as C++), and only this layer may see them (src/LAYERS). Every function runs on the
 * OVSDB thread that owns the handle. */
#ifndef VLCP_OVSDB_IDL_GLUE_H
#define VLCP_OVSDB_IDL_GLUE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vlcp_idl;

/* Connects (and keeps reconnecting, with a full resync each time) to `remote`
 * ("unix:PATH" or "tcp:IP:PORT"), monitoring Open_vSwitch, Bridge, Port, Interface and
 * Controller. */
struct vlcp_idl* vlcp_idl_create(const char* remote, int probe_interval_ms);
void vlcp_idl_destroy(struct vlcp_idl*);

/* Processes what arrived; returns 1 when the replica changed since the previous call. */
int vlcp_idl_run(struct vlcp_idl*);
int vlcp_idl_connected(const struct vlcp_idl*);
/* Sleeps until the IDL has work, `wake_fd` is readable, or `timeout_ms` passed. */
void vlcp_idl_block(struct vlcp_idl*, int wake_fd, int timeout_ms);

/* The replica as JSON (free() it):
 * {"system_id", "ovs_version", "dpdk_initialized", "dpdk_version", "other_config":{..},
 *  "bridges":[{"name","datapath_id","datapath_type","fail_mode","protocols":[..],"ports":[..],
 *              "controllers":[{"target","is_connected","role"}]}],
 *  "ports":[{"name","interfaces":[..],"external_ids":{..},"tag"}],
 *  "interfaces":[{"name","type","ofport","external_ids":{..},"options":{..},"admin_state",
 *                 "link_state","error","mac_in_use"}]} */
char* vlcp_idl_snapshot(const struct vlcp_idl*);

/* Makes `target` the only controller of bridge `bridge` (and fail_mode=secure when `secure`).
 * The transaction verifies the bridge's controller column (an OVSDB "wait"): if another client
 * changed it meanwhile, it is re-read and retried. Blocks the OVSDB thread until committed.
 * Returns 0, or -1 with *error set (free() it). */
int vlcp_idl_set_controller(struct vlcp_idl*, const char* bridge, const char* target, int secure,
                            int max_backoff_ms, char** error);

#ifdef __cplusplus
}
#endif
#endif
