/* SPDX-License-Identifier: MIT */
/*
 * Every message between the processes of one node, defined once.
 *
 * A message is one ZeroMQ frame (after the ROUTER routing id, if any):
 *
 *	u8 version (IPC_VERSION)  u8 flags (0)  u16 type  payload...
 *
 * Payloads are a small fixed binary layout written with common/buf.h:
 * big-endian integers and u32-length-prefixed byte strings, in the order of
 * the payload struct's fields.  Why not protobuf or msgpack: every payload
 * is a handful of integers and byte strings, the peers are always built from
 * the same tree (a peer with another IPC_VERSION is logged and dropped), the
 * layout costs no allocation on the hot path (publish and queue appends),
 * and the readers in codec.c check every length against the frame, with a
 * round-trip and a short/long-frame test for each message.
 *
 * To add a message: a line here and a payload struct, bump IPC_VERSION;
 * ipc_send_<msg>()/ipc_recv_<msg>() in codec.c with a test; a case in the
 * receiver's dispatch.c; the flow in docs/ARCHITECTURE.md.
 */
#ifndef IPC_IPC_MSG_H
#define IPC_IPC_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/msg_cluster.h"
#include "ipc/msg_store.h"

#define IPC_VERSION	6	/* bump on any change to this file */

#define IPC_MESSAGES(X)							\
	/* any daemon or ternctl -> any daemon */			\
	X(IPC_HELLO,		"any -> any: who I am")			\
	X(IPC_HEARTBEAT,	"any -> any: still alive")		\
	X(IPC_STATUS_REQ,	"ternctl -> daemon: status please")	\
	X(IPC_STATUS_REP,	"daemon -> ternctl: status (JSON)")	\
	/* storaged (issue 3) */					\
	IPC_MESSAGES_STORE(X)						\
	/* clusterd (issue 4) */					\
	IPC_MESSAGES_CLUSTER(X)

enum ipc_type {
	IPC_NONE = 0,
#define IPC_ENUM(name, desc)	name,
	IPC_MESSAGES(IPC_ENUM)
#undef IPC_ENUM
	IPC_TYPE_MAX
};

/* Returns the name of type ("IPC_HELLO"), or "IPC_UNKNOWN". */
const char	*ipc_type_name(unsigned type);

#define IPC_NAME_MAX	256
#define IPC_TEXT_MAX	(16 * 1024 * 1024)

/* IPC_HELLO */
struct ipc_hello {
	char		 daemon[32];		/* "mqttd", "storaged", ... */
	char		 nodename[IPC_NAME_MAX];
	uint32_t	 pid;
	uint64_t	 boot_id;		/* random per process start */
	uint64_t	 peer_boot;		/* the addressee's boot id as the
						 * sender knows it; 0 = unknown */
};

/* IPC_HEARTBEAT */
struct ipc_heartbeat {
	uint64_t	 seq;
};

/* IPC_STATUS_REQ: what = "status", "metrics", "sessions", ... */
struct ipc_status_req {
	uint32_t	 id;
	char		 what[64];
	char		 arg[IPC_NAME_MAX];
};

/* IPC_STATUS_REP: JSON text, owned by the decoder's caller (free()). */
struct ipc_status_rep {
	uint32_t	 id;
	int32_t		 rc;
	char		*json;
};

#endif
