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

/* Port commands, run as one transaction (the group commit of CONTAINERS_DESIGN §3.2). */
enum vlcp_port_op_kind { VLCP_PORT_PLUG = 0, VLCP_PORT_UNPLUG = 1 };
struct vlcp_port_op {
  int kind;           /* enum vlcp_port_op_kind */
  const char* bridge; /* plug: the bridge that gets the port */
  const char* name;   /* the Port and its one Interface */
  const char* type;   /* plug: Interface.type ("" is a system device, "internal", "tap", ...) */
  const char* owner;  /* external_ids:vlcp-owner. Plug: written on both rows. Unplug: when
                       * not "", a port with another owner is refused. */
  const char *const *ext_keys, *const *ext_values; /* plug: more Interface external_ids */
  size_t n_ext;
  long long mtu_request; /* plug: Interface.mtu_request; 0: unset */
};
enum vlcp_port_result_code {
  VLCP_PORT_OK = 0,
  VLCP_PORT_CONFLICT = 1,  /* the name is taken by a port with another (or no) owner */
  VLCP_PORT_NO_BRIDGE = 2, /* plug: no such bridge */
  VLCP_PORT_FAILED = 3,    /* the transaction failed (error set) */
};
struct vlcp_port_result {
  int code;    /* enum vlcp_port_result_code */
  char* error; /* when code != OK: what happened (free() it) */
};
/* Runs ops[0..n) in ONE transaction: each op is checked against the IDL's view first (owner
 * conflicts and a missing bridge fail that op alone and leave it out); a plug whose name
 * exists with the same owner replaces the old rows; an unplug of a port that does not exist
 * succeeds (nothing to do). The names in one call must differ. Bridge.ports changes are mutations
 * (insert/delete of set elements), so concurrent writers of other ports never conflict. Blocks the OVSDB
 * thread until committed; retried while OVSDB says "try again". Returns 0 when the transaction committed (or
 * had nothing to do), -1 when it failed: then every op that was in it has VLCP_PORT_FAILED and the error. */
int vlcp_idl_port_batch(struct vlcp_idl*, const struct vlcp_port_op* ops, size_t n,
                        struct vlcp_port_result* results);

#ifdef __cplusplus
}
#endif
#endif
