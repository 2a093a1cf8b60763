/* SPDX-License-Identifier: MIT */
/*
 * The MQTT 3.1, 3.1.1 and 5.0 packet codec: framing, decoding with the
 * normative checks of the specifications, encoding, and the UTF-8 and
 * topic syntax helpers.  Decoding copies nothing: the packet points into
 * the input.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "mqttd/mqtt.h"

/* A cursor over the bytes of one packet. */
struct mqtt_rd {
	const uint8_t	*p;
	const uint8_t	*end;
};

static enum mqtt_rc
mqtt_fail(const char **why, const char *msg, enum mqtt_rc rc)
{
	*why = msg;
	return (rc);
}

static size_t
mqtt_rd_left(const struct mqtt_rd *r)
{
	return ((size_t)(r->end - r->p));
}

static bool
mqtt_rd_u8(struct mqtt_rd *r, uint8_t *v)
{
	if (r->p >= r->end)
		return (false);
	*v = *r->p++;
	return (true);
}

static bool
mqtt_rd_u16(struct mqtt_rd *r, uint16_t *v)
{
	if (mqtt_rd_left(r) < 2)
		return (false);
	*v = be16_get(r->p);
	r->p += 2;
	return (true);
}

/* A two-byte length and that many bytes. */
static bool
mqtt_rd_bin(struct mqtt_rd *r, struct mqtt_bin *bin)
{
	size_t	n;

	if (mqtt_rd_left(r) < 2)
		return (false);
	n = be16_get(r->p);
	if (mqtt_rd_left(r) - 2 < n)
		return (false);
	bin->p = r->p + 2;
	bin->len = n;
	r->p += 2 + n;
	return (true);
}

/* ---- Variable byte integers and framing ---- */

int
mqtt_varint_get(const uint8_t *p, size_t len, uint32_t *v)
{
	uint32_t	val = 0;
	size_t		i;

	for (i = 0; i < 4; i++) {
		if (i >= len)
			return (0);
		val |= (uint32_t)(p[i] & 0x7F) << (7 * i);
		if (!(p[i] & 0x80)) {
			/* A last byte of 0 after the first: not minimal. */
			if (p[i] == 0 && i > 0)
				return (-1);
			*v = val;
			return ((int)i + 1);
		}
	}
	return (-1);
}

size_t
mqtt_varint_len(uint32_t v)
{
	if (v < 128)
		return (1);
	if (v < 16384)
		return (2);
	if (v < 2097152)
		return (3);
	return (4);
}

/* Writes v (at most MQTT_MAX_REMAINING) at p; returns the end. */
static uint8_t *
mqtt_varint_write(uint8_t *p, uint32_t v)
{
	do {
		*p = v & 0x7F;
		v >>= 7;
		if (v > 0)
			*p |= 0x80;
		p++;
	} while (v > 0);
	return (p);
}

size_t
mqtt_varint_put(struct buf *out, uint32_t v)
{
	uint8_t	*p, *end;

	if (v > MQTT_MAX_REMAINING)
		return (0);
	p = buf_reserve(out, 4);
	end = mqtt_varint_write(p, v);
	out->len += end - p;
	return ((size_t)(end - p));
}

int
mqtt_frame(const uint8_t *buf, size_t len, size_t *pkt_len)
{
	uint32_t	rem;
	int		n;

	if (len < 2)
		return (0);
	if ((n = mqtt_varint_get(buf + 1, len - 1, &rem)) <= 0)
		return (n);
	if (len - 1 - n < rem)
		return (0);
	*pkt_len = 1 + n + (size_t)rem;
	return (1);
}

/* ---- UTF-8 and topics ---- */

#define MQTT_ONES	0x0101010101010101ULL
#define MQTT_HIGHS	0x8080808080808080ULL
/* Non-zero if a byte of w (all < 0x80) is zero. */
#define MQTT_HAS_ZERO(w)	(((w) - MQTT_ONES) & ~(w) & MQTT_HIGHS)

/*
 * Scans p[0..len): -1 if it is not MQTT UTF-8 (ill-formed, overlong,
 * surrogate, above U+10FFFF, or U+0000), 1 if it is and holds '+' or '#',
 * 0 if it is and does not.  ASCII goes eight bytes at a time.
 */
static int
mqtt_utf8_scan(const uint8_t *p, size_t len)
{
	const uint8_t	*end;
	uint64_t	 w;
	uint8_t		 c, c1;
	int		 wild = 0;

	if (len == 0)
		return (0);
	end = p + len;
	while (p < end) {
		while (end - p >= 8) {
			memcpy(&w, p, 8);
			if (w & MQTT_HIGHS)
				break;
			if (MQTT_HAS_ZERO(w))
				return (-1);
			if (MQTT_HAS_ZERO(w ^ ('+' * MQTT_ONES)) ||
			    MQTT_HAS_ZERO(w ^ ('#' * MQTT_ONES)))
				wild = 1;
			p += 8;
		}
		if (p >= end)
			break;
		c = *p;
		if (c < 0x80) {
			if (c == 0)
				return (-1);
			if (c == '+' || c == '#')
				wild = 1;
			p++;
			continue;
		}
		if (c < 0xC2)		/* continuation, or overlong 2-byte */
			return (-1);
		if (c < 0xE0) {
			if (end - p < 2 || (p[1] & 0xC0) != 0x80)
				return (-1);
			p += 2;
			continue;
		}
		if (c < 0xF0) {
			if (end - p < 3)
				return (-1);
			c1 = p[1];
			if ((c1 & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
				return (-1);
			if (c == 0xE0 && c1 < 0xA0)	/* overlong */
				return (-1);
			if (c == 0xED && c1 >= 0xA0)	/* U+D800..DFFF */
				return (-1);
			p += 3;
			continue;
		}
		if (c < 0xF5) {
			if (end - p < 4)
				return (-1);
			c1 = p[1];
			if ((c1 & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
			    (p[3] & 0xC0) != 0x80)
				return (-1);
			if (c == 0xF0 && c1 < 0x90)	/* overlong */
				return (-1);
			if (c == 0xF4 && c1 >= 0x90)	/* > U+10FFFF */
				return (-1);
			p += 4;
			continue;
		}
		return (-1);
	}
	return (wild);
}

bool
is_mqtt_utf8(const uint8_t *p, size_t len)
{
	return (mqtt_utf8_scan(p, len) >= 0);
}

bool
is_mqtt_topic_name(const uint8_t *p, size_t len)
{
	return (len > 0 && len <= 0xFFFF && mqtt_utf8_scan(p, len) == 0);
}

/* The wildcard placement rules on filter p[0..len). */
static bool
is_mqtt_filter_levels(const uint8_t *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (p[i] == '+') {
			if ((i > 0 && p[i - 1] != '/') ||
			    (i + 1 < len && p[i + 1] != '/'))
				return (false);
		} else if (p[i] == '#') {
			if ((i > 0 && p[i - 1] != '/') || i + 1 != len)
				return (false);
		}
	}
	return (true);
}

bool
is_mqtt_topic_filter(const uint8_t *p, size_t len)
{
	const uint8_t	*slash;
	size_t		 glen;
	int		 scan;

	if (len == 0 || len > 0xFFFF || (scan = mqtt_utf8_scan(p, len)) < 0)
		return (false);
	if (len >= 7 && memcmp(p, "$share/", 7) == 0) {
		/* $share/GROUP/FILTER: a group without wildcards, a filter. */
		slash = memchr(p + 7, '/', len - 7);
		if (slash == NULL)
			return (false);
		glen = slash - (p + 7);
		if (glen == 0 || memchr(p + 7, '+', glen) != NULL ||
		    memchr(p + 7, '#', glen) != NULL)
			return (false);
		if ((size_t)(slash + 1 - p) == len)
			return (false);
	}
	return (scan == 0 || is_mqtt_filter_levels(p, len));
}

/* ---- Reason codes ---- */

/* Which packets may carry each reason code (MQTT 5.0, 2.4). */
#define MQTT_RCF_CONNACK	0x01
#define MQTT_RCF_PUBACK		0x02	/* and PUBREC */
#define MQTT_RCF_PUBREL		0x04	/* and PUBCOMP */
#define MQTT_RCF_SUBACK		0x08
#define MQTT_RCF_UNSUBACK	0x10
#define MQTT_RCF_DISCONNECT	0x20
#define MQTT_RCF_AUTH		0x40

static const uint8_t mqtt_rc_valid[256] = {
	[0x00] = MQTT_RCF_CONNACK | MQTT_RCF_PUBACK | MQTT_RCF_PUBREL |
	    MQTT_RCF_SUBACK | MQTT_RCF_UNSUBACK | MQTT_RCF_DISCONNECT |
	    MQTT_RCF_AUTH,
	[0x01] = MQTT_RCF_SUBACK,
	[0x02] = MQTT_RCF_SUBACK,
	[0x04] = MQTT_RCF_DISCONNECT,
	[0x10] = MQTT_RCF_PUBACK,
	[0x11] = MQTT_RCF_UNSUBACK,
	[0x18] = MQTT_RCF_AUTH,
	[0x19] = MQTT_RCF_AUTH,
	[0x80] = MQTT_RCF_CONNACK | MQTT_RCF_PUBACK | MQTT_RCF_SUBACK |
	    MQTT_RCF_UNSUBACK | MQTT_RCF_DISCONNECT,
	[0x81] = MQTT_RCF_CONNACK | MQTT_RCF_DISCONNECT,
	[0x82] = MQTT_RCF_CONNACK | MQTT_RCF_DISCONNECT,
	[0x83] = MQTT_RCF_CONNACK | MQTT_RCF_PUBACK | MQTT_RCF_SUBACK |
	    MQTT_RCF_UNSUBACK | MQTT_RCF_DISCONNECT,
	[0x84] = MQTT_RCF_CONNACK,
	[0x85] = MQTT_RCF_CONNACK,
	[0x86] = MQTT_RCF_CONNACK,
	[0x87] = MQTT_RCF_CONNACK | MQTT_RCF_PUBACK | MQTT_RCF_SUBACK |
	    MQTT_RCF_UNSUBACK | MQTT_RCF_DISCONNECT,
	[0x88] = MQTT_RCF_CONNACK,
	[0x89] = MQTT_RCF_CONNACK | MQTT_RCF_DISCONNECT,
	[0x8A] = MQTT_RCF_CONNACK,
	[0x8B] = MQTT_RCF_DISCONNECT,
	[0x8C] = MQTT_RCF_CONNACK,
	[0x8D] = MQTT_RCF_DISCONNECT,
	[0x8E] = MQTT_RCF_DISCONNECT,
	[0x8F] = MQTT_RCF_SUBACK | MQTT_RCF_UNSUBACK | MQTT_RCF_DISCONNECT,
	[0x90] = MQTT_RCF_CONNACK | MQTT_RCF_PUBACK | MQTT_RCF_DISCONNECT,
	[0x91] = MQTT_RCF_PUBACK | MQTT_RCF_SUBACK | MQTT_RCF_UNSUBACK,
	[0x92] = MQTT_RCF_PUBREL,
	[0x93] = MQTT_RCF_DISCONNECT,
	[0x94] = MQTT_RCF_DISCONNECT,
	[0x95] = MQTT_RCF_CONNACK | MQTT_RCF_DISCONNECT,
	[0x96] = MQTT_RCF_DISCONNECT,
	[0x97] = MQTT_RCF_CONNACK | MQTT_RCF_PUBACK | MQTT_RCF_SUBACK |
	    MQTT_RCF_DISCONNECT,
	[0x98] = MQTT_RCF_DISCONNECT,
	[0x99] = MQTT_RCF_CONNACK | MQTT_RCF_PUBACK | MQTT_RCF_DISCONNECT,
	[0x9A] = MQTT_RCF_CONNACK | MQTT_RCF_DISCONNECT,
	[0x9B] = MQTT_RCF_CONNACK | MQTT_RCF_DISCONNECT,
	[0x9C] = MQTT_RCF_CONNACK | MQTT_RCF_DISCONNECT,
	[0x9D] = MQTT_RCF_CONNACK | MQTT_RCF_DISCONNECT,
	[0x9E] = MQTT_RCF_SUBACK | MQTT_RCF_DISCONNECT,
	[0x9F] = MQTT_RCF_CONNACK | MQTT_RCF_DISCONNECT,
	[0xA0] = MQTT_RCF_DISCONNECT,
	[0xA1] = MQTT_RCF_SUBACK | MQTT_RCF_DISCONNECT,
	[0xA2] = MQTT_RCF_SUBACK | MQTT_RCF_DISCONNECT
};

uint8_t
mqtt_rc_to_v3_connack(enum mqtt_rc rc)
{
	switch (rc) {
	case MQTT_RC_SUCCESS:
		return (MQTT_V3_ACCEPTED);
	case MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION:
		return (MQTT_V3_REFUSED_PROTOCOL_VERSION);
	case MQTT_RC_CLIENT_ID_NOT_VALID:
		return (MQTT_V3_REFUSED_IDENTIFIER_REJECTED);
	case MQTT_RC_BAD_USERNAME_OR_PASSWORD:
		return (MQTT_V3_REFUSED_BAD_USERNAME_PASSWORD);
	case MQTT_RC_NOT_AUTHORIZED:
	case MQTT_RC_BANNED:
	case MQTT_RC_BAD_AUTHENTICATION_METHOD:
		return (MQTT_V3_REFUSED_NOT_AUTHORIZED);
	default:
		return (MQTT_V3_REFUSED_SERVER_UNAVAILABLE);
	}
}

const char *
mqtt_type_name(unsigned type)
{
	static const char *const names[] = {
		"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK",
		"PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK",
		"UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP",
		"DISCONNECT", "AUTH"
	};

	if (type >= sizeof(names) / sizeof(names[0]))
		return ("UNKNOWN");
	return (names[type]);
}

const char *
mqtt_rc_name(unsigned rc)
{
	switch (rc) {
	case 0x00: return ("success");
	case 0x01: return ("granted QoS 1");
	case 0x02: return ("granted QoS 2");
	case 0x04: return ("disconnect with will message");
	case 0x10: return ("no matching subscribers");
	case 0x11: return ("no subscription existed");
	case 0x18: return ("continue authentication");
	case 0x19: return ("re-authenticate");
	case 0x80: return ("unspecified error");
	case 0x81: return ("malformed packet");
	case 0x82: return ("protocol error");
	case 0x83: return ("implementation specific error");
	case 0x84: return ("unsupported protocol version");
	case 0x85: return ("client identifier not valid");
	case 0x86: return ("bad user name or password");
	case 0x87: return ("not authorized");
	case 0x88: return ("server unavailable");
	case 0x89: return ("server busy");
	case 0x8A: return ("banned");
	case 0x8B: return ("server shutting down");
	case 0x8C: return ("bad authentication method");
	case 0x8D: return ("keep alive timeout");
	case 0x8E: return ("session taken over");
	case 0x8F: return ("topic filter invalid");
	case 0x90: return ("topic name invalid");
	case 0x91: return ("packet identifier in use");
	case 0x92: return ("packet identifier not found");
	case 0x93: return ("receive maximum exceeded");
	case 0x94: return ("topic alias invalid");
	case 0x95: return ("packet too large");
	case 0x96: return ("message rate too high");
	case 0x97: return ("quota exceeded");
	case 0x98: return ("administrative action");
	case 0x99: return ("payload format invalid");
	case 0x9A: return ("retain not supported");
	case 0x9B: return ("QoS not supported");
	case 0x9C: return ("use another server");
	case 0x9D: return ("server moved");
	case 0x9E: return ("shared subscriptions not supported");
	case 0x9F: return ("connection rate exceeded");
	case 0xA0: return ("maximum connect time");
	case 0xA1: return ("subscription identifiers not supported");
	case 0xA2: return ("wildcard subscriptions not supported");
	default: return ("unknown reason code");
	}
}

/* ---- Decoding ---- */

static enum mqtt_rc
mqtt_decode_connect(struct mqtt_rd *r, struct mqtt_connect *c,
    const char **why)
{
	enum mqtt_rc	rc;
	uint8_t		flags;
	int		scan;

	if (!mqtt_rd_bin(r, &c->proto_name) ||
	    !mqtt_rd_u8(r, &c->proto_level))
		return (mqtt_fail(why, "truncated protocol name",
		    MQTT_RC_MALFORMED_PACKET));
	if (c->proto_name.len == 4 && memcmp(c->proto_name.p, "MQTT", 4) == 0) {
		if (c->proto_level != MQTT_PROTO_V311 &&
		    c->proto_level != MQTT_PROTO_V5)
			return (mqtt_fail(why, "unsupported protocol level",
			    MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION));
	} else if (c->proto_name.len == 6 &&
	    memcmp(c->proto_name.p, "MQIsdp", 6) == 0) {
		if (c->proto_level != MQTT_PROTO_V31)
			return (mqtt_fail(why, "unsupported protocol level",
			    MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION));
	} else
		return (mqtt_fail(why, "unknown protocol name",
		    MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION));
	if (!mqtt_rd_u8(r, &flags) || !mqtt_rd_u16(r, &c->keep_alive))
		return (mqtt_fail(why, "truncated CONNECT",
		    MQTT_RC_MALFORMED_PACKET));
	if (flags & 0x01)
		return (mqtt_fail(why, "reserved CONNECT flag set",
		    MQTT_RC_MALFORMED_PACKET));
	c->clean_start = flags & 0x02;
	c->will_flag = flags & 0x04;
	c->will_qos = (flags >> 3) & 0x03;
	c->will_retain = flags & 0x20;
	c->has_password = flags & 0x40;
	c->has_username = flags & 0x80;
	if (c->will_qos == 3)
		return (mqtt_fail(why, "will QoS 3", MQTT_RC_MALFORMED_PACKET));
	if (!c->will_flag && (c->will_qos != 0 || c->will_retain))
		return (mqtt_fail(why, "will QoS or retain without will flag",
		    MQTT_RC_MALFORMED_PACKET));
	if (c->has_password && !c->has_username &&
	    c->proto_level != MQTT_PROTO_V5)
		return (mqtt_fail(why, "password without user name",
		    MQTT_RC_PROTOCOL_ERROR));
	if (c->proto_level == MQTT_PROTO_V5 &&
	    (rc = mqtt_props_decode(&r->p, r->end, MQTT_CONNECT, &c->props,
	    why)) != MQTT_RC_SUCCESS)
		return (rc);
	if (!mqtt_rd_bin(r, &c->client_id))
		return (mqtt_fail(why, "truncated client identifier",
		    MQTT_RC_MALFORMED_PACKET));
	if (!is_mqtt_utf8(c->client_id.p, c->client_id.len))
		return (mqtt_fail(why, "invalid UTF-8 in client identifier",
		    MQTT_RC_MALFORMED_PACKET));
	if (c->will_flag) {
		if (c->proto_level == MQTT_PROTO_V5 &&
		    (rc = mqtt_props_decode(&r->p, r->end, MQTT_PROPS_WILL,
		    &c->will_props, why)) != MQTT_RC_SUCCESS)
			return (rc);
		if (!mqtt_rd_bin(r, &c->will_topic) ||
		    !mqtt_rd_bin(r, &c->will_payload))
			return (mqtt_fail(why, "truncated will",
			    MQTT_RC_MALFORMED_PACKET));
		scan = mqtt_utf8_scan(c->will_topic.p, c->will_topic.len);
		if (scan < 0)
			return (mqtt_fail(why, "invalid UTF-8 in will topic",
			    MQTT_RC_MALFORMED_PACKET));
		if (scan > 0 || c->will_topic.len == 0)
			return (mqtt_fail(why, "invalid will topic",
			    MQTT_RC_TOPIC_NAME_INVALID));
	}
	if (c->has_username) {
		if (!mqtt_rd_bin(r, &c->username))
			return (mqtt_fail(why, "truncated user name",
			    MQTT_RC_MALFORMED_PACKET));
		if (!is_mqtt_utf8(c->username.p, c->username.len))
			return (mqtt_fail(why, "invalid UTF-8 in user name",
			    MQTT_RC_MALFORMED_PACKET));
	}
	if (c->has_password && !mqtt_rd_bin(r, &c->password))
		return (mqtt_fail(why, "truncated password",
		    MQTT_RC_MALFORMED_PACKET));
	return (MQTT_RC_SUCCESS);
}

static enum mqtt_rc
mqtt_decode_connack(struct mqtt_rd *r, uint8_t proto, struct mqtt_connack *c,
    const char **why)
{
	uint8_t	flags;

	if (!mqtt_rd_u8(r, &flags) || !mqtt_rd_u8(r, &c->rc))
		return (mqtt_fail(why, "truncated CONNACK",
		    MQTT_RC_MALFORMED_PACKET));
	if (flags & 0xFE)
		return (mqtt_fail(why, "reserved CONNACK flags set",
		    MQTT_RC_MALFORMED_PACKET));
	c->session_present = flags & 0x01;
	if (c->session_present && c->rc != 0)
		return (mqtt_fail(why, "session present on a refusal",
		    MQTT_RC_PROTOCOL_ERROR));
	if (proto == MQTT_PROTO_V5) {
		if (!(mqtt_rc_valid[c->rc] & MQTT_RCF_CONNACK))
			return (mqtt_fail(why, "invalid CONNACK reason code",
			    MQTT_RC_PROTOCOL_ERROR));
		return (mqtt_props_decode(&r->p, r->end, MQTT_CONNACK,
		    &c->props, why));
	}
	if (c->rc > MQTT_V3_REFUSED_NOT_AUTHORIZED)
		return (mqtt_fail(why, "invalid CONNACK return code",
		    MQTT_RC_PROTOCOL_ERROR));
	return (MQTT_RC_SUCCESS);
}

static enum mqtt_rc
mqtt_decode_publish(struct mqtt_rd *r, uint8_t proto, uint8_t flags,
    struct mqtt_publish *pub, const char **why)
{
	enum mqtt_rc	rc;
	int		scan;

	pub->qos = (flags >> 1) & 0x03;
	pub->dup = flags & 0x08;
	pub->retain = flags & 0x01;
	if (pub->qos == 3)
		return (mqtt_fail(why, "PUBLISH with QoS 3",
		    MQTT_RC_MALFORMED_PACKET));
	if (pub->dup && pub->qos == 0 && proto != MQTT_PROTO_V31)
		return (mqtt_fail(why, "DUP set on a QoS 0 PUBLISH",
		    MQTT_RC_MALFORMED_PACKET));
	if (!mqtt_rd_bin(r, &pub->topic))
		return (mqtt_fail(why, "truncated topic name",
		    MQTT_RC_MALFORMED_PACKET));
	if ((scan = mqtt_utf8_scan(pub->topic.p, pub->topic.len)) < 0)
		return (mqtt_fail(why, "invalid UTF-8 in topic name",
		    MQTT_RC_MALFORMED_PACKET));
	if (scan > 0)
		return (mqtt_fail(why, "wildcard in PUBLISH topic name",
		    MQTT_RC_TOPIC_NAME_INVALID));
	if (pub->qos > 0) {
		if (!mqtt_rd_u16(r, &pub->packet_id))
			return (mqtt_fail(why, "truncated packet identifier",
			    MQTT_RC_MALFORMED_PACKET));
		if (pub->packet_id == 0)
			return (mqtt_fail(why, "packet identifier 0",
			    MQTT_RC_PROTOCOL_ERROR));
	}
	if (proto == MQTT_PROTO_V5) {
		rc = mqtt_props_decode(&r->p, r->end, MQTT_PUBLISH, &pub->props,
		    why);
		if (rc != MQTT_RC_SUCCESS)
			return (rc);
		if (pub->topic.len == 0 &&
		    !MQTT_PROP_HAS(&pub->props, MQTT_PROP_TOPIC_ALIAS))
			return (mqtt_fail(why, "empty topic without an alias",
			    MQTT_RC_PROTOCOL_ERROR));
	} else if (pub->topic.len == 0)
		return (mqtt_fail(why, "empty topic name",
		    MQTT_RC_TOPIC_NAME_INVALID));
	pub->payload.p = r->p;
	pub->payload.len = mqtt_rd_left(r);
	r->p = r->end;
	return (MQTT_RC_SUCCESS);
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP. */
static enum mqtt_rc
mqtt_decode_ack(struct mqtt_rd *r, uint8_t proto, uint8_t type,
    struct mqtt_ack *ack, const char **why)
{
	uint8_t	mask;

	if (!mqtt_rd_u16(r, &ack->packet_id))
		return (mqtt_fail(why, "truncated packet identifier",
		    MQTT_RC_MALFORMED_PACKET));
	if (ack->packet_id == 0)
		return (mqtt_fail(why, "packet identifier 0",
		    MQTT_RC_PROTOCOL_ERROR));
	if (proto != MQTT_PROTO_V5 || !mqtt_rd_u8(r, &ack->rc))
		return (MQTT_RC_SUCCESS);	/* rc 0, no properties */
	mask = (type == MQTT_PUBACK || type == MQTT_PUBREC) ?
	    MQTT_RCF_PUBACK : MQTT_RCF_PUBREL;
	if (!(mqtt_rc_valid[ack->rc] & mask))
		return (mqtt_fail(why, "invalid reason code",
		    MQTT_RC_PROTOCOL_ERROR));
	if (mqtt_rd_left(r) == 0)
		return (MQTT_RC_SUCCESS);
	return (mqtt_props_decode(&r->p, r->end, type, &ack->props, why));
}

/*
 * One entry of a SUBSCRIBE (with options) or UNSUBSCRIBE: reads and checks
 * it.  Used twice per packet: to count and check, then to fill.
 */
static enum mqtt_rc
mqtt_decode_topic_entry(struct mqtt_rd *r, uint8_t proto, bool options,
    struct mqtt_topic_entry *e, const char **why)
{
	uint8_t	o = 0;

	if (!mqtt_rd_bin(r, &e->filter) || (options && !mqtt_rd_u8(r, &o)))
		return (mqtt_fail(why, "truncated topic filter",
		    MQTT_RC_MALFORMED_PACKET));
	if (!is_mqtt_topic_filter(e->filter.p, e->filter.len))
		return (mqtt_fail(why, "invalid topic filter",
		    MQTT_RC_MALFORMED_PACKET));
	e->options = o;
	if (!options)
		return (MQTT_RC_SUCCESS);
	if (proto != MQTT_PROTO_V5) {
		if (o & 0xFC)
			return (mqtt_fail(why,
			    "reserved subscription option bits set",
			    MQTT_RC_MALFORMED_PACKET));
		if (MQTT_SUBOPT_QOS(o) == 3)
			return (mqtt_fail(why, "subscription QoS 3",
			    MQTT_RC_MALFORMED_PACKET));
		return (MQTT_RC_SUCCESS);
	}
	if (o & 0xC0)
		return (mqtt_fail(why, "reserved subscription option bits set",
		    MQTT_RC_MALFORMED_PACKET));
	if (MQTT_SUBOPT_QOS(o) == 3)
		return (mqtt_fail(why, "subscription QoS 3",
		    MQTT_RC_PROTOCOL_ERROR));
	if (MQTT_SUBOPT_RETAIN_HANDLING(o) == 3)
		return (mqtt_fail(why, "retain handling 3",
		    MQTT_RC_PROTOCOL_ERROR));
	if ((o & MQTT_SUBOPT_NO_LOCAL) && e->filter.len >= 7 &&
	    memcmp(e->filter.p, "$share/", 7) == 0)
		return (mqtt_fail(why, "no local on a shared subscription",
		    MQTT_RC_PROTOCOL_ERROR));
	return (MQTT_RC_SUCCESS);
}

/* SUBSCRIBE and UNSUBSCRIBE. */
static enum mqtt_rc
mqtt_decode_subscribe(struct mqtt_rd *r, uint8_t proto, uint8_t type,
    struct mqtt_subscribe *sub, const char **why)
{
	struct mqtt_topic_entry	 e;
	struct mqtt_rd		 first;
	enum mqtt_rc		 rc;
	size_t			 n = 0, i;
	bool			 options = type == MQTT_SUBSCRIBE;

	if (!mqtt_rd_u16(r, &sub->packet_id))
		return (mqtt_fail(why, "truncated packet identifier",
		    MQTT_RC_MALFORMED_PACKET));
	if (sub->packet_id == 0)
		return (mqtt_fail(why, "packet identifier 0",
		    MQTT_RC_PROTOCOL_ERROR));
	if (proto == MQTT_PROTO_V5 &&
	    (rc = mqtt_props_decode(&r->p, r->end, type, &sub->props, why)) !=
	    MQTT_RC_SUCCESS)
		return (rc);
	first = *r;
	while (mqtt_rd_left(r) > 0) {
		rc = mqtt_decode_topic_entry(r, proto, options, &e, why);
		if (rc != MQTT_RC_SUCCESS)
			return (rc);
		n++;
	}
	if (n == 0)
		return (mqtt_fail(why, "no topic filter",
		    MQTT_RC_PROTOCOL_ERROR));
	/* n is bounded by the packet length: each entry takes 3+ bytes. */
	sub->entries = xreallocarray(NULL, n, sizeof(*sub->entries));
	sub->nentries = n;
	*r = first;
	for (i = 0; i < n; i++)
		(void)mqtt_decode_topic_entry(r, proto, options,
		    &sub->entries[i], why);
	return (MQTT_RC_SUCCESS);
}

/* SUBACK and UNSUBACK. */
static enum mqtt_rc
mqtt_decode_suback(struct mqtt_rd *r, uint8_t proto, uint8_t type,
    struct mqtt_suback *sa, const char **why)
{
	enum mqtt_rc	rc;
	size_t		i;
	uint8_t		mask;

	if (!mqtt_rd_u16(r, &sa->packet_id))
		return (mqtt_fail(why, "truncated packet identifier",
		    MQTT_RC_MALFORMED_PACKET));
	if (sa->packet_id == 0)
		return (mqtt_fail(why, "packet identifier 0",
		    MQTT_RC_PROTOCOL_ERROR));
	if (type == MQTT_UNSUBACK && proto != MQTT_PROTO_V5)
		return (MQTT_RC_SUCCESS);
	if (proto == MQTT_PROTO_V5 &&
	    (rc = mqtt_props_decode(&r->p, r->end, type, &sa->props, why)) !=
	    MQTT_RC_SUCCESS)
		return (rc);
	sa->rcs = r->p;
	sa->nrcs = mqtt_rd_left(r);
	r->p = r->end;
	if (sa->nrcs == 0)
		return (mqtt_fail(why, "no reason codes",
		    MQTT_RC_PROTOCOL_ERROR));
	mask = type == MQTT_SUBACK ? MQTT_RCF_SUBACK : MQTT_RCF_UNSUBACK;
	for (i = 0; i < sa->nrcs; i++) {
		if (proto == MQTT_PROTO_V5 ?
		    !(mqtt_rc_valid[sa->rcs[i]] & mask) :
		    sa->rcs[i] > 2 && sa->rcs[i] != 0x80)
			return (mqtt_fail(why, "invalid SUBACK return code",
			    MQTT_RC_PROTOCOL_ERROR));
	}
	return (MQTT_RC_SUCCESS);
}

/* DISCONNECT and AUTH of 5.0 (3.1.1's DISCONNECT has no body). */
static enum mqtt_rc
mqtt_decode_disconnect(struct mqtt_rd *r, uint8_t type,
    struct mqtt_disconnect *d, const char **why)
{
	uint8_t	mask;

	if (!mqtt_rd_u8(r, &d->rc))
		return (MQTT_RC_SUCCESS);	/* rc 0, no properties */
	mask = type == MQTT_AUTH ? MQTT_RCF_AUTH : MQTT_RCF_DISCONNECT;
	if (!(mqtt_rc_valid[d->rc] & mask))
		return (mqtt_fail(why, "invalid reason code",
		    MQTT_RC_PROTOCOL_ERROR));
	if (mqtt_rd_left(r) == 0)
		return (MQTT_RC_SUCCESS);
	return (mqtt_props_decode(&r->p, r->end, type, &d->props, why));
}

/*
 * Zeroes props but for sub_ids[nsub_ids..], which mean nothing: a
 * quarter less to clear on the hot path.
 */
static void
mqtt_props_reset(struct mqtt_props *props)
{
	memset(props, 0, offsetof(struct mqtt_props, sub_ids));
	memset(&props->nsub_ids, 0, sizeof(*props) -
	    offsetof(struct mqtt_props, nsub_ids));
}

/* Zeroes the member of pkt->u that pkt->type uses (cheaper than all). */
static void
mqtt_decode_reset(struct mqtt_packet *pkt)
{
	struct mqtt_publish	*pub = &pkt->u.publish;

	switch (pkt->type) {
	case MQTT_PUBLISH:
		pub->qos = 0;
		pub->dup = pub->retain = false;
		pub->topic.p = pub->payload.p = NULL;
		pub->topic.len = pub->payload.len = 0;
		pub->packet_id = 0;
		mqtt_props_reset(&pub->props);
		break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		pkt->u.ack.packet_id = 0;
		pkt->u.ack.rc = 0;
		mqtt_props_reset(&pkt->u.ack.props);
		break;
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
		break;
	default:
		memset(&pkt->u, 0, sizeof(pkt->u));
		break;
	}
}

/* Checks the fixed header flags of every type but PUBLISH. */
static bool
is_mqtt_flags_ok(uint8_t type, uint8_t flags, uint8_t proto)
{
	switch (type) {
	case MQTT_PUBREL:
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		/* 3.1 set DUP on retries of these. */
		if (proto == MQTT_PROTO_V31)
			flags &= ~0x08;
		return (flags == 0x02);
	default:
		return (flags == 0);
	}
}

enum mqtt_rc
mqtt_decode(const uint8_t *buf, size_t len, uint8_t proto,
    struct mqtt_packet *pkt, const char **why)
{
	struct mqtt_rd	 r;
	const char	*dummy;
	enum mqtt_rc	 rc;
	uint32_t	 rem;
	uint8_t		 type, flags;
	int		 n;

	if (why == NULL)
		why = &dummy;
	pkt->type = 0;
	pkt->flags = 0;
	if (proto != 0 && proto != MQTT_PROTO_V31 &&
	    proto != MQTT_PROTO_V311 && proto != MQTT_PROTO_V5)
		return (mqtt_fail(why, "unknown protocol level",
		    MQTT_RC_IMPLEMENTATION_SPECIFIC));
	if (len < 2 || (n = mqtt_varint_get(buf + 1, len - 1, &rem)) <= 0)
		return (mqtt_fail(why, "bad remaining length",
		    MQTT_RC_MALFORMED_PACKET));
	if (len - 1 - n != rem)
		return (mqtt_fail(why, "remaining length does not match",
		    MQTT_RC_MALFORMED_PACKET));
	type = buf[0] >> 4;
	flags = buf[0] & 0x0F;
	pkt->type = type;
	pkt->flags = flags;
	mqtt_decode_reset(pkt);
	r.p = buf + 1 + n;
	r.end = buf + len;
	if (type == 0 || (type == MQTT_AUTH && proto != 0 &&
	    proto != MQTT_PROTO_V5))
		return (mqtt_fail(why, "reserved packet type",
		    MQTT_RC_MALFORMED_PACKET));
	if (type != MQTT_PUBLISH && !is_mqtt_flags_ok(type, flags, proto))
		return (mqtt_fail(why, "invalid fixed header flags",
		    MQTT_RC_MALFORMED_PACKET));
	if (proto == 0 && type != MQTT_CONNECT)
		return (mqtt_fail(why, "first packet is not CONNECT",
		    MQTT_RC_PROTOCOL_ERROR));

	switch (type) {
	case MQTT_CONNECT:
		if (proto != 0)
			return (mqtt_fail(why, "second CONNECT",
			    MQTT_RC_PROTOCOL_ERROR));
		rc = mqtt_decode_connect(&r, &pkt->u.connect, why);
		break;
	case MQTT_CONNACK:
		rc = mqtt_decode_connack(&r, proto, &pkt->u.connack, why);
		break;
	case MQTT_PUBLISH:
		rc = mqtt_decode_publish(&r, proto, flags, &pkt->u.publish,
		    why);
		break;
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		rc = mqtt_decode_ack(&r, proto, type, &pkt->u.ack, why);
		break;
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		rc = mqtt_decode_subscribe(&r, proto, type, &pkt->u.subscribe,
		    why);
		break;
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		rc = mqtt_decode_suback(&r, proto, type, &pkt->u.suback, why);
		break;
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
		rc = MQTT_RC_SUCCESS;
		break;
	case MQTT_DISCONNECT:
	case MQTT_AUTH:
		rc = proto == MQTT_PROTO_V5 ? mqtt_decode_disconnect(&r, type,
		    &pkt->u.disconnect, why) : MQTT_RC_SUCCESS;
		break;
	default:
		rc = mqtt_fail(why, "reserved packet type",
		    MQTT_RC_MALFORMED_PACKET);
		break;
	}
	if (rc != MQTT_RC_SUCCESS)
		return (rc);
	if (r.p != r.end)
		return (mqtt_fail(why, "bytes after the last field",
		    MQTT_RC_MALFORMED_PACKET));
	return (MQTT_RC_SUCCESS);
}

void
mqtt_packet_clear(struct mqtt_packet *pkt)
{
	if (pkt->type == MQTT_SUBSCRIBE || pkt->type == MQTT_UNSUBSCRIBE) {
		free(pkt->u.subscribe.entries);
		pkt->u.subscribe.entries = NULL;
		pkt->u.subscribe.nentries = 0;
	}
}

/* ---- Encoding ---- */

/* Writes a two-byte length and the bytes (len <= 65535 checked before). */
static uint8_t *
mqtt_put_bin(uint8_t *p, const void *data, size_t len)
{
	be16_put(p, len);
	if (len > 0)
		memcpy(p + 2, data, len);
	return (p + 2 + len);
}

/*
 * Reserves room for a whole packet of remaining length rem and writes its
 * fixed header.  Returns where the variable header goes, or NULL if rem is
 * too large.
 */
static uint8_t *
mqtt_put_header(struct buf *out, uint8_t byte0, size_t rem)
{
	uint8_t	*p;

	if (rem > MQTT_MAX_REMAINING)
		return (NULL);
	p = buf_reserve(out, 1 + mqtt_varint_len(rem) + rem);
	*p++ = byte0;
	return (mqtt_varint_write(p, rem));
}

/* Ends a packet started by mqtt_put_header(): end is after its last byte. */
static int
mqtt_put_end(struct buf *out, const uint8_t *end)
{
	out->len = (size_t)(end - out->data);
	return (0);
}

/* Size of a property block with its length, or 0 if it cannot be encoded. */
static size_t
mqtt_props_size(const struct mqtt_props *props, size_t *len)
{
	*len = mqtt_props_len(props);
	if (*len > MQTT_MAX_REMAINING)
		return (0);
	return (mqtt_varint_len(*len) + *len);
}

int
mqtt_encode_publish(struct buf *out, uint8_t proto, uint8_t qos, bool dup,
    bool retain, const uint8_t *topic, size_t topic_len, uint16_t packet_id,
    const struct mqtt_props *props, const uint8_t *payload,
    size_t payload_len)
{
	static const struct mqtt_props	 empty;
	size_t				 rem, plen = 0, psize = 0;
	uint8_t				*p;

	if (topic_len > 0xFFFF || qos > 2 || payload_len > MQTT_MAX_REMAINING)
		return (-1);
	rem = 2 + topic_len + (qos > 0 ? 2 : 0) + payload_len;
	if (proto == MQTT_PROTO_V5) {
		if (props == NULL)
			props = &empty;
		if ((psize = mqtt_props_size(props, &plen)) == 0)
			return (-1);
		rem += psize;
	}
	p = mqtt_put_header(out, MQTT_PUBLISH << 4 | (dup ? 0x08 : 0) |
	    qos << 1 | (retain ? 0x01 : 0), rem);
	if (p == NULL)
		return (-1);
	p = mqtt_put_bin(p, topic, topic_len);
	if (qos > 0) {
		be16_put(p, packet_id);
		p += 2;
	}
	if (proto == MQTT_PROTO_V5)
		p = mqtt_props_write(p, props, plen);
	if (payload_len > 0)
		memcpy(p, payload, payload_len);
	return (mqtt_put_end(out, p + payload_len));
}

static int
mqtt_encode_connect(struct buf *out, uint8_t proto,
    const struct mqtt_connect *c)
{
	size_t		 rem, plen = 0, wplen = 0, psize = 0, wpsize = 0;
	uint8_t		*p, flags;
	bool		 v5;

	if (proto == 0)
		proto = c->proto_level;
	if (proto != MQTT_PROTO_V31 && proto != MQTT_PROTO_V311 &&
	    proto != MQTT_PROTO_V5)
		return (-1);
	v5 = proto == MQTT_PROTO_V5;
	if (c->client_id.len > 0xFFFF || c->will_topic.len > 0xFFFF ||
	    c->will_payload.len > 0xFFFF || c->username.len > 0xFFFF ||
	    c->password.len > 0xFFFF || c->will_qos > 2)
		return (-1);
	rem = (proto == MQTT_PROTO_V31 ? 8 : 6) + 1 + 1 + 2 +
	    2 + c->client_id.len;
	if (v5) {
		if ((psize = mqtt_props_size(&c->props, &plen)) == 0)
			return (-1);
		rem += psize;
	}
	if (c->will_flag) {
		rem += 4 + c->will_topic.len + c->will_payload.len;
		if (v5) {
			wpsize = mqtt_props_size(&c->will_props, &wplen);
			if (wpsize == 0)
				return (-1);
			rem += wpsize;
		}
	}
	if (c->has_username)
		rem += 2 + c->username.len;
	if (c->has_password)
		rem += 2 + c->password.len;
	if ((p = mqtt_put_header(out, MQTT_CONNECT << 4, rem)) == NULL)
		return (-1);
	if (proto == MQTT_PROTO_V31)
		p = mqtt_put_bin(p, "MQIsdp", 6);
	else
		p = mqtt_put_bin(p, "MQTT", 4);
	*p++ = proto;
	flags = (c->clean_start ? 0x02 : 0) | (c->has_password ? 0x40 : 0) |
	    (c->has_username ? 0x80 : 0);
	if (c->will_flag)
		flags |= 0x04 | c->will_qos << 3 | (c->will_retain ? 0x20 : 0);
	*p++ = flags;
	be16_put(p, c->keep_alive);
	p += 2;
	if (v5)
		p = mqtt_props_write(p, &c->props, plen);
	p = mqtt_put_bin(p, c->client_id.p, c->client_id.len);
	if (c->will_flag) {
		if (v5)
			p = mqtt_props_write(p, &c->will_props, wplen);
		p = mqtt_put_bin(p, c->will_topic.p, c->will_topic.len);
		p = mqtt_put_bin(p, c->will_payload.p, c->will_payload.len);
	}
	if (c->has_username)
		p = mqtt_put_bin(p, c->username.p, c->username.len);
	if (c->has_password)
		p = mqtt_put_bin(p, c->password.p, c->password.len);
	return (mqtt_put_end(out, p));
}

static int
mqtt_encode_connack(struct buf *out, uint8_t proto,
    const struct mqtt_connack *c)
{
	size_t	 plen = 0, psize = 0;
	uint8_t	*p;

	if (proto == MQTT_PROTO_V5 &&
	    (psize = mqtt_props_size(&c->props, &plen)) == 0)
		return (-1);
	if ((p = mqtt_put_header(out, MQTT_CONNACK << 4, 2 + psize)) == NULL)
		return (-1);
	/* 3.1 has no session present flag. */
	*p++ = c->session_present && proto != MQTT_PROTO_V31 ? 1 : 0;
	*p++ = c->rc;
	if (proto == MQTT_PROTO_V5)
		p = mqtt_props_write(p, &c->props, plen);
	return (mqtt_put_end(out, p));
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP: 5.0 drops what is default. */
static int
mqtt_encode_ack(struct buf *out, uint8_t proto, uint8_t type,
    const struct mqtt_ack *a)
{
	size_t	 rem = 2, plen = 0, psize = 0;
	uint8_t	*p;

	if (proto == MQTT_PROTO_V5) {
		if ((psize = mqtt_props_size(&a->props, &plen)) == 0)
			return (-1);
		if (plen > 0)
			rem = 3 + psize;
		else if (a->rc != 0)
			rem = 3;
	}
	p = mqtt_put_header(out, type << 4 | (type == MQTT_PUBREL ? 0x02 : 0),
	    rem);
	if (p == NULL)
		return (-1);
	be16_put(p, a->packet_id);
	p += 2;
	if (rem > 2)
		*p++ = a->rc;
	if (rem > 3)
		p = mqtt_props_write(p, &a->props, plen);
	return (mqtt_put_end(out, p));
}

static int
mqtt_encode_subscribe(struct buf *out, uint8_t proto, uint8_t type,
    const struct mqtt_subscribe *s)
{
	size_t	 rem = 2, plen = 0, psize = 0, i;
	uint8_t	*p;
	bool	 options = type == MQTT_SUBSCRIBE;

	if (proto == MQTT_PROTO_V5) {
		if ((psize = mqtt_props_size(&s->props, &plen)) == 0)
			return (-1);
		rem += psize;
	}
	for (i = 0; i < s->nentries; i++) {
		if (s->entries[i].filter.len > 0xFFFF)
			return (-1);
		rem += 2 + s->entries[i].filter.len + (options ? 1 : 0);
		if (rem > MQTT_MAX_REMAINING)
			return (-1);
	}
	if ((p = mqtt_put_header(out, type << 4 | 0x02, rem)) == NULL)
		return (-1);
	be16_put(p, s->packet_id);
	p += 2;
	if (proto == MQTT_PROTO_V5)
		p = mqtt_props_write(p, &s->props, plen);
	for (i = 0; i < s->nentries; i++) {
		p = mqtt_put_bin(p, s->entries[i].filter.p,
		    s->entries[i].filter.len);
		if (options)
			*p++ = proto == MQTT_PROTO_V5 ? s->entries[i].options :
			    MQTT_SUBOPT_QOS(s->entries[i].options);
	}
	return (mqtt_put_end(out, p));
}

static int
mqtt_encode_suback(struct buf *out, uint8_t proto, uint8_t type,
    const struct mqtt_suback *s)
{
	size_t	 rem = 2, plen = 0, psize = 0, nrcs = s->nrcs;
	uint8_t	*p;

	if (type == MQTT_UNSUBACK && proto != MQTT_PROTO_V5)
		nrcs = 0;
	if (proto == MQTT_PROTO_V5) {
		if ((psize = mqtt_props_size(&s->props, &plen)) == 0)
			return (-1);
		rem += psize;
	}
	if (nrcs > MQTT_MAX_REMAINING)
		return (-1);
	rem += nrcs;
	if ((p = mqtt_put_header(out, type << 4, rem)) == NULL)
		return (-1);
	be16_put(p, s->packet_id);
	p += 2;
	if (proto == MQTT_PROTO_V5)
		p = mqtt_props_write(p, &s->props, plen);
	if (nrcs > 0)
		memcpy(p, s->rcs, nrcs);
	return (mqtt_put_end(out, p + nrcs));
}

/* DISCONNECT and AUTH: 5.0 drops what is default. */
static int
mqtt_encode_disconnect(struct buf *out, uint8_t proto, uint8_t type,
    const struct mqtt_disconnect *d)
{
	size_t	 rem = 0, plen = 0, psize = 0;
	uint8_t	*p;

	if (proto == MQTT_PROTO_V5) {
		if ((psize = mqtt_props_size(&d->props, &plen)) == 0)
			return (-1);
		if (plen > 0)
			rem = 1 + psize;
		else if (d->rc != 0)
			rem = 1;
	}
	if ((p = mqtt_put_header(out, type << 4, rem)) == NULL)
		return (-1);
	if (rem > 0)
		*p++ = d->rc;
	if (rem > 1)
		p = mqtt_props_write(p, &d->props, plen);
	return (mqtt_put_end(out, p));
}

int
mqtt_encode(struct buf *out, uint8_t proto, const struct mqtt_packet *pkt)
{
	const struct mqtt_publish	*pub;
	uint8_t				*p;

	switch (pkt->type) {
	case MQTT_CONNECT:
		return (mqtt_encode_connect(out, proto, &pkt->u.connect));
	case MQTT_CONNACK:
		return (mqtt_encode_connack(out, proto, &pkt->u.connack));
	case MQTT_PUBLISH:
		pub = &pkt->u.publish;
		return (mqtt_encode_publish(out, proto, pub->qos, pub->dup,
		    pub->retain, pub->topic.p, pub->topic.len, pub->packet_id,
		    &pub->props, pub->payload.p, pub->payload.len));
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
		return (mqtt_encode_ack(out, proto, pkt->type, &pkt->u.ack));
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		return (mqtt_encode_subscribe(out, proto, pkt->type,
		    &pkt->u.subscribe));
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		return (mqtt_encode_suback(out, proto, pkt->type,
		    &pkt->u.suback));
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
		p = mqtt_put_header(out, pkt->type << 4, 0);
		return (mqtt_put_end(out, p));
	case MQTT_AUTH:
		if (proto != MQTT_PROTO_V5)
			return (-1);
		/* FALLTHROUGH */
	case MQTT_DISCONNECT:
		return (mqtt_encode_disconnect(out, proto, pkt->type,
		    &pkt->u.disconnect));
	default:
		return (-1);
	}
}
