/* SPDX-License-Identifier: MIT */
/*
 * MQTT 3.1, 3.1.1 and 5.0 packets: types, reason codes, properties, and the
 * codec (mqtt_codec.c, mqtt_props.c).  Decoded packets borrow the input
 * bytes: every struct mqtt_bin points into the buffer given to
 * mqtt_decode() and is valid until that buffer is released or changed.
 */
#ifndef MQTTD_MQTT_H
#define MQTTD_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Protocol levels (CONNECT byte 7). */
#define MQTT_PROTO_V31		3
#define MQTT_PROTO_V311		4
#define MQTT_PROTO_V5		5

#define MQTT_MAX_REMAINING	268435455u	/* 4 bytes of varint */

enum mqtt_type {
	MQTT_CONNECT = 1,
	MQTT_CONNACK,
	MQTT_PUBLISH,
	MQTT_PUBACK,
	MQTT_PUBREC,
	MQTT_PUBREL,
	MQTT_PUBCOMP,
	MQTT_SUBSCRIBE,
	MQTT_SUBACK,
	MQTT_UNSUBSCRIBE,
	MQTT_UNSUBACK,
	MQTT_PINGREQ,
	MQTT_PINGRESP,
	MQTT_DISCONNECT,
	MQTT_AUTH
};

/* MQTT 5.0 reason codes (3.1.1 CONNACK return codes are mapped from these
 * by mqtt_rc_to_v3_connack()). */
enum mqtt_rc {
	MQTT_RC_SUCCESS				= 0x00,
	MQTT_RC_NORMAL_DISCONNECTION		= 0x00,
	MQTT_RC_GRANTED_QOS0			= 0x00,
	MQTT_RC_GRANTED_QOS1			= 0x01,
	MQTT_RC_GRANTED_QOS2			= 0x02,
	MQTT_RC_DISCONNECT_WITH_WILL		= 0x04,
	MQTT_RC_NO_MATCHING_SUBSCRIBERS		= 0x10,
	MQTT_RC_NO_SUBSCRIPTION_EXISTED		= 0x11,
	MQTT_RC_CONTINUE_AUTHENTICATION		= 0x18,
	MQTT_RC_REAUTHENTICATE			= 0x19,
	MQTT_RC_UNSPECIFIED_ERROR		= 0x80,
	MQTT_RC_MALFORMED_PACKET		= 0x81,
	MQTT_RC_PROTOCOL_ERROR			= 0x82,
	MQTT_RC_IMPLEMENTATION_SPECIFIC		= 0x83,
	MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION	= 0x84,
	MQTT_RC_CLIENT_ID_NOT_VALID		= 0x85,
	MQTT_RC_BAD_USERNAME_OR_PASSWORD	= 0x86,
	MQTT_RC_NOT_AUTHORIZED			= 0x87,
	MQTT_RC_SERVER_UNAVAILABLE		= 0x88,
	MQTT_RC_SERVER_BUSY			= 0x89,
	MQTT_RC_BANNED				= 0x8A,
	MQTT_RC_SERVER_SHUTTING_DOWN		= 0x8B,
	MQTT_RC_BAD_AUTHENTICATION_METHOD	= 0x8C,
	MQTT_RC_KEEP_ALIVE_TIMEOUT		= 0x8D,
	MQTT_RC_SESSION_TAKEN_OVER		= 0x8E,
	MQTT_RC_TOPIC_FILTER_INVALID		= 0x8F,
	MQTT_RC_TOPIC_NAME_INVALID		= 0x90,
	MQTT_RC_PACKET_ID_IN_USE		= 0x91,
	MQTT_RC_PACKET_ID_NOT_FOUND		= 0x92,
	MQTT_RC_RECEIVE_MAXIMUM_EXCEEDED	= 0x93,
	MQTT_RC_TOPIC_ALIAS_INVALID		= 0x94,
	MQTT_RC_PACKET_TOO_LARGE		= 0x95,
	MQTT_RC_MESSAGE_RATE_TOO_HIGH		= 0x96,
	MQTT_RC_QUOTA_EXCEEDED			= 0x97,
	MQTT_RC_ADMINISTRATIVE_ACTION		= 0x98,
	MQTT_RC_PAYLOAD_FORMAT_INVALID		= 0x99,
	MQTT_RC_RETAIN_NOT_SUPPORTED		= 0x9A,
	MQTT_RC_QOS_NOT_SUPPORTED		= 0x9B,
	MQTT_RC_USE_ANOTHER_SERVER		= 0x9C,
	MQTT_RC_SERVER_MOVED			= 0x9D,
	MQTT_RC_SHARED_SUBS_NOT_SUPPORTED	= 0x9E,
	MQTT_RC_CONNECTION_RATE_EXCEEDED	= 0x9F,
	MQTT_RC_MAXIMUM_CONNECT_TIME		= 0xA0,
	MQTT_RC_SUB_IDS_NOT_SUPPORTED		= 0xA1,
	MQTT_RC_WILDCARD_SUBS_NOT_SUPPORTED	= 0xA2
};

/* MQTT 3.1/3.1.1 CONNACK return codes. */
enum mqtt_v3_connack {
	MQTT_V3_ACCEPTED = 0,
	MQTT_V3_REFUSED_PROTOCOL_VERSION = 1,
	MQTT_V3_REFUSED_IDENTIFIER_REJECTED = 2,
	MQTT_V3_REFUSED_SERVER_UNAVAILABLE = 3,
	MQTT_V3_REFUSED_BAD_USERNAME_PASSWORD = 4,
	MQTT_V3_REFUSED_NOT_AUTHORIZED = 5
};

/* MQTT 5.0 property identifiers. */
enum mqtt_prop_id {
	MQTT_PROP_PAYLOAD_FORMAT_INDICATOR	= 0x01,
	MQTT_PROP_MESSAGE_EXPIRY_INTERVAL	= 0x02,
	MQTT_PROP_CONTENT_TYPE			= 0x03,
	MQTT_PROP_RESPONSE_TOPIC		= 0x08,
	MQTT_PROP_CORRELATION_DATA		= 0x09,
	MQTT_PROP_SUBSCRIPTION_IDENTIFIER	= 0x0B,
	MQTT_PROP_SESSION_EXPIRY_INTERVAL	= 0x11,
	MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER	= 0x12,
	MQTT_PROP_SERVER_KEEP_ALIVE		= 0x13,
	MQTT_PROP_AUTHENTICATION_METHOD		= 0x15,
	MQTT_PROP_AUTHENTICATION_DATA		= 0x16,
	MQTT_PROP_REQUEST_PROBLEM_INFORMATION	= 0x17,
	MQTT_PROP_WILL_DELAY_INTERVAL		= 0x18,
	MQTT_PROP_REQUEST_RESPONSE_INFORMATION	= 0x19,
	MQTT_PROP_RESPONSE_INFORMATION		= 0x1A,
	MQTT_PROP_SERVER_REFERENCE		= 0x1C,
	MQTT_PROP_REASON_STRING			= 0x1F,
	MQTT_PROP_RECEIVE_MAXIMUM		= 0x21,
	MQTT_PROP_TOPIC_ALIAS_MAXIMUM		= 0x22,
	MQTT_PROP_TOPIC_ALIAS			= 0x23,
	MQTT_PROP_MAXIMUM_QOS			= 0x24,
	MQTT_PROP_RETAIN_AVAILABLE		= 0x25,
	MQTT_PROP_USER_PROPERTY			= 0x26,
	MQTT_PROP_MAXIMUM_PACKET_SIZE		= 0x27,
	MQTT_PROP_WILDCARD_SUB_AVAILABLE	= 0x28,
	MQTT_PROP_SUB_ID_AVAILABLE		= 0x29,
	MQTT_PROP_SHARED_SUB_AVAILABLE		= 0x2A
};

/* Borrowed bytes (see the top of this file). */
struct mqtt_bin {
	const uint8_t	*p;
	size_t		 len;
};

#define MQTT_MAX_SUB_IDS	32	/* per outgoing PUBLISH */

/*
 * The properties of one packet.  present has bit (1ULL << id) set for each
 * property that was decoded or is to be encoded.  user_props holds the
 * encoded user properties exactly as on the wire (each: 0x26, UTF-8 string
 * pair), nuser_props counts them; the encoder copies user_props verbatim.
 */
struct mqtt_props {
	uint64_t	 present;
	uint8_t		 payload_format;
	uint32_t	 message_expiry;
	struct mqtt_bin	 content_type;
	struct mqtt_bin	 response_topic;
	struct mqtt_bin	 correlation_data;
	uint32_t	 sub_ids[MQTT_MAX_SUB_IDS];
	int		 nsub_ids;
	uint32_t	 session_expiry;
	struct mqtt_bin	 assigned_client_id;
	uint16_t	 server_keep_alive;
	struct mqtt_bin	 auth_method;
	struct mqtt_bin	 auth_data;
	uint8_t		 request_problem_info;
	uint32_t	 will_delay;
	uint8_t		 request_response_info;
	struct mqtt_bin	 response_info;
	struct mqtt_bin	 server_reference;
	struct mqtt_bin	 reason_string;
	uint16_t	 receive_maximum;
	uint16_t	 topic_alias_maximum;
	uint16_t	 topic_alias;
	uint8_t		 maximum_qos;
	uint8_t		 retain_available;
	struct mqtt_bin	 user_props;
	int		 nuser_props;
	uint32_t	 maximum_packet_size;
	uint8_t		 wildcard_sub_available;
	uint8_t		 sub_id_available;
	uint8_t		 shared_sub_available;
};

#define MQTT_PROP_HAS(props, id)	(((props)->present >> (id)) & 1)
#define MQTT_PROP_SET(props, id)	((props)->present |= 1ULL << (id))

struct mqtt_connect {
	struct mqtt_bin	 proto_name;	/* "MQTT" or "MQIsdp" */
	uint8_t		 proto_level;	/* MQTT_PROTO_* */
	bool		 clean_start;
	bool		 will_flag;
	uint8_t		 will_qos;
	bool		 will_retain;
	bool		 has_username;
	bool		 has_password;
	uint16_t	 keep_alive;
	struct mqtt_props props;
	struct mqtt_bin	 client_id;
	struct mqtt_props will_props;
	struct mqtt_bin	 will_topic;
	struct mqtt_bin	 will_payload;
	struct mqtt_bin	 username;
	struct mqtt_bin	 password;
};

struct mqtt_connack {
	bool		 session_present;
	uint8_t		 rc;	/* 5.0 reason code, or 3.1.1 return code */
	struct mqtt_props props;
};

struct mqtt_publish {
	uint8_t		 qos;
	bool		 dup;
	bool		 retain;
	struct mqtt_bin	 topic;		/* may be empty with a topic alias */
	uint16_t	 packet_id;	/* qos > 0 */
	struct mqtt_props props;
	struct mqtt_bin	 payload;
};

/* PUBACK, PUBREC, PUBREL, PUBCOMP. */
struct mqtt_ack {
	uint16_t	 packet_id;
	uint8_t		 rc;
	struct mqtt_props props;
};

/* Subscription options byte (5.0; 3.1.1 uses only the QoS bits). */
#define MQTT_SUBOPT_QOS(o)		((o) & 0x03)
#define MQTT_SUBOPT_NO_LOCAL		0x04
#define MQTT_SUBOPT_RETAIN_AS_PUBLISHED	0x08
#define MQTT_SUBOPT_RETAIN_HANDLING(o)	(((o) >> 4) & 0x03)

struct mqtt_topic_entry {
	struct mqtt_bin	 filter;
	uint8_t		 options;	/* SUBSCRIBE only */
};

/* SUBSCRIBE and UNSUBSCRIBE.  entries is owned: mqtt_packet_clear(). */
struct mqtt_subscribe {
	uint16_t		 packet_id;
	struct mqtt_props	 props;
	struct mqtt_topic_entry	*entries;
	size_t			 nentries;
};

/* SUBACK and UNSUBACK.  rcs is borrowed when decoded, and by the encoder. */
struct mqtt_suback {
	uint16_t		 packet_id;
	struct mqtt_props	 props;
	const uint8_t		*rcs;
	size_t			 nrcs;
};

/* DISCONNECT and AUTH. */
struct mqtt_disconnect {
	uint8_t			 rc;
	struct mqtt_props	 props;
};

struct mqtt_packet {
	uint8_t		 type;		/* enum mqtt_type */
	uint8_t		 flags;		/* low nibble of byte 1 */
	union {
		struct mqtt_connect	connect;
		struct mqtt_connack	connack;
		struct mqtt_publish	publish;
		struct mqtt_ack		ack;
		struct mqtt_subscribe	subscribe;	/* and UNSUBSCRIBE */
		struct mqtt_suback	suback;		/* and UNSUBACK */
		struct mqtt_disconnect	disconnect;	/* and AUTH */
	} u;
};

/*
 * Finds one packet at the start of buf.  Returns 1 and sets *pkt_len (fixed
 * header included) when len holds a whole packet, 0 when more bytes are
 * needed, -1 when the remaining length is malformed (more than 4 bytes, or
 * not minimally encoded).  Does not allocate.
 */
int	mqtt_frame(const uint8_t *buf, size_t len, size_t *pkt_len);

/*
 * Decodes the whole packet buf[0..len) (as found by mqtt_frame) for a
 * connection at protocol level proto (0 before CONNECT: only CONNECT is
 * accepted then, and a CONNECT at any other level is a PROTOCOL_ERROR).
 * Returns MQTT_RC_SUCCESS, or MQTT_RC_MALFORMED_PACKET /
 * MQTT_RC_PROTOCOL_ERROR / MQTT_RC_TOPIC_NAME_INVALID / ... with *why set to
 * a static description for the log.  pkt borrows buf; release what it owns
 * with mqtt_packet_clear(), also after a failure.
 * Checks: reserved flag bits, UTF-8 rules of strings (no U+0000, no
 * surrogates), property ids allowed for the packet type and their
 * duplicates, wildcards in PUBLISH topics, packet id 0, SUBSCRIBE with no
 * filter, QoS 3, and, for CONNECT, the flags' consistency rules.
 * Once the fixed header is read, pkt->type is set even on failure; a
 * refused CONNECT keeps proto_level (when it got that far) so the broker
 * answers in the client's version: MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION
 * for an unknown name or level.  Left to the caller, which knows the
 * session: subscription identifiers in a PUBLISH from a client, topic
 * alias above the maximum, an empty 3.1.1 client id with clean session 0,
 * client id length limits, packet size limits.  Properties of a 3.x
 * packet are all absent; sub_ids[] past nsub_ids are not cleared.
 */
enum mqtt_rc mqtt_decode(const uint8_t *buf, size_t len, uint8_t proto,
		    struct mqtt_packet *pkt, const char **why);
void	mqtt_packet_clear(struct mqtt_packet *pkt);

/*
 * Appends the encoding of pkt for protocol level proto to out.  Properties
 * are written only for MQTT_PROTO_V5.  Returns 0, or -1 if pkt cannot be
 * encoded (a field too long).
 */
int	mqtt_encode(struct buf *out, uint8_t proto,
	    const struct mqtt_packet *pkt);
/*
 * Appends a PUBLISH without building a struct mqtt_packet (the hot path).
 * props may be NULL.  Returns 0 or -1.
 */
int	mqtt_encode_publish(struct buf *out, uint8_t proto, uint8_t qos,
	    bool dup, bool retain, const uint8_t *topic, size_t topic_len,
	    uint16_t packet_id, const struct mqtt_props *props,
	    const uint8_t *payload, size_t payload_len);

/* Properties (mqtt_props.c). */
/* Appends the encoded property block (its varint length first). */
void	mqtt_props_encode(struct buf *out, const struct mqtt_props *props);
/*
 * Length of the encoded block without its varint length prefix; more than
 * MQTT_MAX_REMAINING if a property cannot be encoded (a string or binary
 * over 65535 bytes, a subscription identifier over MQTT_MAX_REMAINING).
 * mqtt_props_encode() then writes an empty block.
 */
size_t	mqtt_props_len(const struct mqtt_props *props);
/*
 * Iterates the user properties in props->user_props: returns 1 with *key
 * and *val set and *off advanced, 0 at the end, -1 if malformed.
 */
int	mqtt_props_next_user(const struct mqtt_props *props, size_t *off,
	    struct mqtt_bin *key, struct mqtt_bin *val);

/*
 * Decodes the property block (its varint length first) at *pp, which must
 * end before end, into props (which the caller zeroed) for packet type
 * (enum mqtt_type, or MQTT_PROPS_WILL for the will properties of CONNECT).
 * Advances *pp past the block.  Returns MQTT_RC_SUCCESS, or the error with
 * *why set, as mqtt_decode() does.  props borrows the input bytes.
 */
#define MQTT_PROPS_WILL		16
enum mqtt_rc mqtt_props_decode(const uint8_t **pp, const uint8_t *end,
		    unsigned type, struct mqtt_props *props, const char **why);
/*
 * Writes the block of props (varint len, then the properties) at p, which
 * has room for mqtt_varint_len(len) + len bytes, len being
 * mqtt_props_len(props).  Returns the first byte after it.
 */
uint8_t	*mqtt_props_write(uint8_t *p, const struct mqtt_props *props,
	    size_t len);
/*
 * Appends one user property (0x26, key, value) to b, in the wire form that
 * props->user_props holds (the caller points user_props at b's bytes and
 * counts nuser_props).  Returns 0, or -1 if key or val exceeds 65535 bytes.
 */
int	mqtt_props_add_user(struct buf *b, const void *key, size_t klen,
	    const void *val, size_t vlen);

/* Helpers (mqtt_codec.c). */
/*
 * Reads a variable byte integer at p[0..len): returns the bytes it took
 * (1-4) and sets *v, 0 if len ends inside it, -1 if malformed (a fifth
 * byte, or not minimally encoded).
 */
int	mqtt_varint_get(const uint8_t *p, size_t len, uint32_t *v);
/* Appends a variable byte integer; returns bytes written (0, writing
 * nothing, if v > MQTT_MAX_REMAINING). */
size_t	mqtt_varint_put(struct buf *out, uint32_t v);
/* Bytes a variable byte integer takes. */
size_t	mqtt_varint_len(uint32_t v);
/* True if p[0..len) is well-formed UTF-8 as MQTT requires ([MQTT-1.5.4]). */
bool	is_mqtt_utf8(const uint8_t *p, size_t len);
/* True if topic is a valid topic name (non-empty, at most 65535 bytes of
 * MQTT UTF-8, no + or #). */
bool	is_mqtt_topic_name(const uint8_t *p, size_t len);
/* True if filter is a valid topic filter (non-empty UTF-8, wildcard
 * placement rules, and for "$share/": a share name without wildcards
 * followed by a non-empty filter). */
bool	is_mqtt_topic_filter(const uint8_t *p, size_t len);
/* The 3.1.1 CONNACK return code for a 5.0 reason code. */
uint8_t	mqtt_rc_to_v3_connack(enum mqtt_rc rc);
/* A short name of a packet type ("PUBLISH") or reason code. */
const char *mqtt_type_name(unsigned type);
const char *mqtt_rc_name(unsigned rc);

#endif
