/* SPDX-License-Identifier: MIT */
/* MQTT 5.0 properties: decoding, length, encoding and user properties. */
#include <string.h>

#include "mqttd/mqtt.h"

#define MQTT_PROP_MAX_ID	0x2A
#define MQTT_BIT(id)		(1ULL << (id))

/* The data type of each property (MQTT 5.0, 2.2.2.2). */
enum mqtt_prop_type {
	MQTT_PT_NONE = 0,	/* not a property */
	MQTT_PT_BYTE,
	MQTT_PT_U16,
	MQTT_PT_U32,
	MQTT_PT_VARINT,
	MQTT_PT_STR,
	MQTT_PT_BIN,
	MQTT_PT_PAIR
};

static const uint8_t mqtt_prop_types[MQTT_PROP_MAX_ID + 1] = {
	[MQTT_PROP_PAYLOAD_FORMAT_INDICATOR] = MQTT_PT_BYTE,
	[MQTT_PROP_MESSAGE_EXPIRY_INTERVAL] = MQTT_PT_U32,
	[MQTT_PROP_CONTENT_TYPE] = MQTT_PT_STR,
	[MQTT_PROP_RESPONSE_TOPIC] = MQTT_PT_STR,
	[MQTT_PROP_CORRELATION_DATA] = MQTT_PT_BIN,
	[MQTT_PROP_SUBSCRIPTION_IDENTIFIER] = MQTT_PT_VARINT,
	[MQTT_PROP_SESSION_EXPIRY_INTERVAL] = MQTT_PT_U32,
	[MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER] = MQTT_PT_STR,
	[MQTT_PROP_SERVER_KEEP_ALIVE] = MQTT_PT_U16,
	[MQTT_PROP_AUTHENTICATION_METHOD] = MQTT_PT_STR,
	[MQTT_PROP_AUTHENTICATION_DATA] = MQTT_PT_BIN,
	[MQTT_PROP_REQUEST_PROBLEM_INFORMATION] = MQTT_PT_BYTE,
	[MQTT_PROP_WILL_DELAY_INTERVAL] = MQTT_PT_U32,
	[MQTT_PROP_REQUEST_RESPONSE_INFORMATION] = MQTT_PT_BYTE,
	[MQTT_PROP_RESPONSE_INFORMATION] = MQTT_PT_STR,
	[MQTT_PROP_SERVER_REFERENCE] = MQTT_PT_STR,
	[MQTT_PROP_REASON_STRING] = MQTT_PT_STR,
	[MQTT_PROP_RECEIVE_MAXIMUM] = MQTT_PT_U16,
	[MQTT_PROP_TOPIC_ALIAS_MAXIMUM] = MQTT_PT_U16,
	[MQTT_PROP_TOPIC_ALIAS] = MQTT_PT_U16,
	[MQTT_PROP_MAXIMUM_QOS] = MQTT_PT_BYTE,
	[MQTT_PROP_RETAIN_AVAILABLE] = MQTT_PT_BYTE,
	[MQTT_PROP_USER_PROPERTY] = MQTT_PT_PAIR,
	[MQTT_PROP_MAXIMUM_PACKET_SIZE] = MQTT_PT_U32,
	[MQTT_PROP_WILDCARD_SUB_AVAILABLE] = MQTT_PT_BYTE,
	[MQTT_PROP_SUB_ID_AVAILABLE] = MQTT_PT_BYTE,
	[MQTT_PROP_SHARED_SUB_AVAILABLE] = MQTT_PT_BYTE
};

/* Which properties each packet may carry (MQTT 5.0, table 2-4). */
#define MQTT_PROPS_OF_MESSAGE						\
	(MQTT_BIT(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) |			\
	MQTT_BIT(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL) |			\
	MQTT_BIT(MQTT_PROP_CONTENT_TYPE) |				\
	MQTT_BIT(MQTT_PROP_RESPONSE_TOPIC) |				\
	MQTT_BIT(MQTT_PROP_CORRELATION_DATA) |				\
	MQTT_BIT(MQTT_PROP_USER_PROPERTY))
/* Every defined property: ids 1..0x2A with a type. */
#define MQTT_PROPS_ALL	(((MQTT_BIT(MQTT_PROP_MAX_ID) << 1) - 1) & ~1ULL)
#define MQTT_PROPS_OF_ACK						\
	(MQTT_BIT(MQTT_PROP_REASON_STRING) |				\
	MQTT_BIT(MQTT_PROP_USER_PROPERTY))

static uint64_t
mqtt_props_allowed(unsigned type)
{
	switch (type) {
	case MQTT_CONNECT:
		return (MQTT_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL) |
		    MQTT_BIT(MQTT_PROP_AUTHENTICATION_METHOD) |
		    MQTT_BIT(MQTT_PROP_AUTHENTICATION_DATA) |
		    MQTT_BIT(MQTT_PROP_REQUEST_PROBLEM_INFORMATION) |
		    MQTT_BIT(MQTT_PROP_REQUEST_RESPONSE_INFORMATION) |
		    MQTT_BIT(MQTT_PROP_RECEIVE_MAXIMUM) |
		    MQTT_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM) |
		    MQTT_BIT(MQTT_PROP_USER_PROPERTY) |
		    MQTT_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE));
	case MQTT_PROPS_WILL:
		return (MQTT_PROPS_OF_MESSAGE |
		    MQTT_BIT(MQTT_PROP_WILL_DELAY_INTERVAL));
	case MQTT_CONNACK:
		return (MQTT_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL) |
		    MQTT_BIT(MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER) |
		    MQTT_BIT(MQTT_PROP_SERVER_KEEP_ALIVE) |
		    MQTT_BIT(MQTT_PROP_AUTHENTICATION_METHOD) |
		    MQTT_BIT(MQTT_PROP_AUTHENTICATION_DATA) |
		    MQTT_BIT(MQTT_PROP_RESPONSE_INFORMATION) |
		    MQTT_BIT(MQTT_PROP_SERVER_REFERENCE) |
		    MQTT_BIT(MQTT_PROP_REASON_STRING) |
		    MQTT_BIT(MQTT_PROP_RECEIVE_MAXIMUM) |
		    MQTT_BIT(MQTT_PROP_TOPIC_ALIAS_MAXIMUM) |
		    MQTT_BIT(MQTT_PROP_MAXIMUM_QOS) |
		    MQTT_BIT(MQTT_PROP_RETAIN_AVAILABLE) |
		    MQTT_BIT(MQTT_PROP_USER_PROPERTY) |
		    MQTT_BIT(MQTT_PROP_MAXIMUM_PACKET_SIZE) |
		    MQTT_BIT(MQTT_PROP_WILDCARD_SUB_AVAILABLE) |
		    MQTT_BIT(MQTT_PROP_SUB_ID_AVAILABLE) |
		    MQTT_BIT(MQTT_PROP_SHARED_SUB_AVAILABLE));
	case MQTT_PUBLISH:
		return (MQTT_PROPS_OF_MESSAGE |
		    MQTT_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER) |
		    MQTT_BIT(MQTT_PROP_TOPIC_ALIAS));
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
	case MQTT_SUBACK:
	case MQTT_UNSUBACK:
		return (MQTT_PROPS_OF_ACK);
	case MQTT_SUBSCRIBE:
		return (MQTT_BIT(MQTT_PROP_SUBSCRIPTION_IDENTIFIER) |
		    MQTT_BIT(MQTT_PROP_USER_PROPERTY));
	case MQTT_UNSUBSCRIBE:
		return (MQTT_BIT(MQTT_PROP_USER_PROPERTY));
	case MQTT_DISCONNECT:
		return (MQTT_PROPS_OF_ACK |
		    MQTT_BIT(MQTT_PROP_SESSION_EXPIRY_INTERVAL) |
		    MQTT_BIT(MQTT_PROP_SERVER_REFERENCE));
	case MQTT_AUTH:
		return (MQTT_PROPS_OF_ACK |
		    MQTT_BIT(MQTT_PROP_AUTHENTICATION_METHOD) |
		    MQTT_BIT(MQTT_PROP_AUTHENTICATION_DATA));
	default:
		return (0);
	}
}

static enum mqtt_rc
mqtt_props_fail(const char **why, const char *msg, enum mqtt_rc rc)
{
	*why = msg;
	return (rc);
}

/* Reads a two-byte length and its bytes at *pp (before end). */
static bool
mqtt_props_get_bin(const uint8_t **pp, const uint8_t *end,
    struct mqtt_bin *bin)
{
	const uint8_t	*p = *pp;
	size_t		 n;

	if (end - p < 2)
		return (false);
	n = be16_get(p);
	p += 2;
	if ((size_t)(end - p) < n)
		return (false);
	bin->p = p;
	bin->len = n;
	*pp = p + n;
	return (true);
}

/* Checks the value of a property whose range is restricted. */
static enum mqtt_rc
mqtt_props_check_value(unsigned id, uint32_t v, const char **why)
{
	switch (id) {
	case MQTT_PROP_PAYLOAD_FORMAT_INDICATOR:
	case MQTT_PROP_REQUEST_PROBLEM_INFORMATION:
	case MQTT_PROP_REQUEST_RESPONSE_INFORMATION:
	case MQTT_PROP_MAXIMUM_QOS:
	case MQTT_PROP_RETAIN_AVAILABLE:
	case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
	case MQTT_PROP_SUB_ID_AVAILABLE:
	case MQTT_PROP_SHARED_SUB_AVAILABLE:
		if (v > 1)
			return (mqtt_props_fail(why,
			    "property value not 0 or 1",
			    MQTT_RC_PROTOCOL_ERROR));
		break;
	case MQTT_PROP_SUBSCRIPTION_IDENTIFIER:
		if (v == 0)
			return (mqtt_props_fail(why,
			    "subscription identifier 0",
			    MQTT_RC_PROTOCOL_ERROR));
		break;
	case MQTT_PROP_RECEIVE_MAXIMUM:
		if (v == 0)
			return (mqtt_props_fail(why, "receive maximum 0",
			    MQTT_RC_PROTOCOL_ERROR));
		break;
	case MQTT_PROP_MAXIMUM_PACKET_SIZE:
		if (v == 0)
			return (mqtt_props_fail(why, "maximum packet size 0",
			    MQTT_RC_PROTOCOL_ERROR));
		break;
	case MQTT_PROP_TOPIC_ALIAS:
		if (v == 0)
			return (mqtt_props_fail(why, "topic alias 0",
			    MQTT_RC_TOPIC_ALIAS_INVALID));
		break;
	}
	return (MQTT_RC_SUCCESS);
}

/* Stores an integer property. */
static void
mqtt_props_set_int(struct mqtt_props *props, unsigned id, uint32_t v)
{
	switch (id) {
	case MQTT_PROP_PAYLOAD_FORMAT_INDICATOR:
		props->payload_format = v;
		break;
	case MQTT_PROP_MESSAGE_EXPIRY_INTERVAL:
		props->message_expiry = v;
		break;
	case MQTT_PROP_SUBSCRIPTION_IDENTIFIER:
		props->sub_ids[props->nsub_ids++] = v;
		break;
	case MQTT_PROP_SESSION_EXPIRY_INTERVAL:
		props->session_expiry = v;
		break;
	case MQTT_PROP_SERVER_KEEP_ALIVE:
		props->server_keep_alive = v;
		break;
	case MQTT_PROP_REQUEST_PROBLEM_INFORMATION:
		props->request_problem_info = v;
		break;
	case MQTT_PROP_WILL_DELAY_INTERVAL:
		props->will_delay = v;
		break;
	case MQTT_PROP_REQUEST_RESPONSE_INFORMATION:
		props->request_response_info = v;
		break;
	case MQTT_PROP_RECEIVE_MAXIMUM:
		props->receive_maximum = v;
		break;
	case MQTT_PROP_TOPIC_ALIAS_MAXIMUM:
		props->topic_alias_maximum = v;
		break;
	case MQTT_PROP_TOPIC_ALIAS:
		props->topic_alias = v;
		break;
	case MQTT_PROP_MAXIMUM_QOS:
		props->maximum_qos = v;
		break;
	case MQTT_PROP_RETAIN_AVAILABLE:
		props->retain_available = v;
		break;
	case MQTT_PROP_MAXIMUM_PACKET_SIZE:
		props->maximum_packet_size = v;
		break;
	case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
		props->wildcard_sub_available = v;
		break;
	case MQTT_PROP_SUB_ID_AVAILABLE:
		props->sub_id_available = v;
		break;
	case MQTT_PROP_SHARED_SUB_AVAILABLE:
		props->shared_sub_available = v;
		break;
	}
}

/* The struct mqtt_bin field of a string or binary property. */
static struct mqtt_bin *
mqtt_props_bin_field(struct mqtt_props *props, unsigned id)
{
	switch (id) {
	case MQTT_PROP_CONTENT_TYPE:
		return (&props->content_type);
	case MQTT_PROP_RESPONSE_TOPIC:
		return (&props->response_topic);
	case MQTT_PROP_CORRELATION_DATA:
		return (&props->correlation_data);
	case MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER:
		return (&props->assigned_client_id);
	case MQTT_PROP_AUTHENTICATION_METHOD:
		return (&props->auth_method);
	case MQTT_PROP_AUTHENTICATION_DATA:
		return (&props->auth_data);
	case MQTT_PROP_RESPONSE_INFORMATION:
		return (&props->response_info);
	case MQTT_PROP_SERVER_REFERENCE:
		return (&props->server_reference);
	case MQTT_PROP_REASON_STRING:
		return (&props->reason_string);
	default:
		return (NULL);
	}
}

enum mqtt_rc
mqtt_props_decode(const uint8_t **pp, const uint8_t *end, unsigned type,
    struct mqtt_props *props, const char **why)
{
	const uint8_t	*p = *pp, *pend, *ustart = NULL, *uend = NULL;
	struct mqtt_bin	 bin, val, *field;
	enum mqtt_rc	 rc;
	uint64_t	 allowed;
	uint32_t	 plen, v = 0;
	unsigned	 id;
	int		 n;

	n = mqtt_varint_get(p, end - p, &plen);
	if (n <= 0)
		return (mqtt_props_fail(why, "bad property length",
		    MQTT_RC_MALFORMED_PACKET));
	p += n;
	if (plen > (size_t)(end - p))
		return (mqtt_props_fail(why, "property length exceeds packet",
		    MQTT_RC_MALFORMED_PACKET));
	pend = p + plen;
	allowed = mqtt_props_allowed(type);
	while (p < pend) {
		/* Identifiers are varints, but all defined ones are < 128. */
		id = *p++;
		if (id > MQTT_PROP_MAX_ID || !((allowed >> id) & 1))
			return (mqtt_props_fail(why,
			    "property not allowed in this packet",
			    MQTT_RC_MALFORMED_PACKET));
		if (MQTT_PROP_HAS(props, id) && id != MQTT_PROP_USER_PROPERTY &&
		    !(id == MQTT_PROP_SUBSCRIPTION_IDENTIFIER &&
		    type == MQTT_PUBLISH))
			return (mqtt_props_fail(why, "duplicate property",
			    MQTT_RC_PROTOCOL_ERROR));
		MQTT_PROP_SET(props, id);
		switch (mqtt_prop_types[id]) {
		case MQTT_PT_BYTE:
			if (pend - p < 1)
				goto truncated;
			v = *p++;
			break;
		case MQTT_PT_U16:
			if (pend - p < 2)
				goto truncated;
			v = be16_get(p);
			p += 2;
			break;
		case MQTT_PT_U32:
			if (pend - p < 4)
				goto truncated;
			v = be32_get(p);
			p += 4;
			break;
		case MQTT_PT_VARINT:
			n = mqtt_varint_get(p, pend - p, &v);
			if (n <= 0)
				goto truncated;
			p += n;
			break;
		case MQTT_PT_STR:
		case MQTT_PT_BIN:
			if (!mqtt_props_get_bin(&p, pend, &bin))
				goto truncated;
			if (mqtt_prop_types[id] == MQTT_PT_STR &&
			    !is_mqtt_utf8(bin.p, bin.len))
				return (mqtt_props_fail(why,
				    "invalid UTF-8 in a property",
				    MQTT_RC_MALFORMED_PACKET));
			if (id == MQTT_PROP_RESPONSE_TOPIC &&
			    !is_mqtt_topic_name(bin.p, bin.len))
				return (mqtt_props_fail(why,
				    "response topic is not a topic name",
				    MQTT_RC_PROTOCOL_ERROR));
			field = mqtt_props_bin_field(props, id);
			*field = bin;
			continue;
		case MQTT_PT_PAIR:
			if (ustart == NULL)
				ustart = p - 1;
			if (!mqtt_props_get_bin(&p, pend, &bin) ||
			    !mqtt_props_get_bin(&p, pend, &val))
				goto truncated;
			if (!is_mqtt_utf8(bin.p, bin.len) ||
			    !is_mqtt_utf8(val.p, val.len))
				return (mqtt_props_fail(why,
				    "invalid UTF-8 in a user property",
				    MQTT_RC_MALFORMED_PACKET));
			uend = p;
			props->nuser_props++;
			continue;
		}
		rc = mqtt_props_check_value(id, v, why);
		if (rc != MQTT_RC_SUCCESS)
			return (rc);
		if (id == MQTT_PROP_SUBSCRIPTION_IDENTIFIER &&
		    props->nsub_ids >= MQTT_MAX_SUB_IDS)
			return (mqtt_props_fail(why,
			    "too many subscription identifiers",
			    MQTT_RC_PROTOCOL_ERROR));
		mqtt_props_set_int(props, id, v);
	}
	if (ustart != NULL) {
		/* Spans other properties too if they were interleaved:
		 * mqtt_props_next_user() and the encoder skip those. */
		props->user_props.p = ustart;
		props->user_props.len = uend - ustart;
	}
	if (MQTT_PROP_HAS(props, MQTT_PROP_AUTHENTICATION_DATA) &&
	    !MQTT_PROP_HAS(props, MQTT_PROP_AUTHENTICATION_METHOD))
		return (mqtt_props_fail(why,
		    "authentication data without a method",
		    MQTT_RC_PROTOCOL_ERROR));
	*pp = pend;
	return (MQTT_RC_SUCCESS);

 truncated:
	return (mqtt_props_fail(why, "truncated property",
	    MQTT_RC_MALFORMED_PACKET));
}

/*
 * Steps over the property at user_props offset *off.  Returns its id and
 * sets *len to its size, 0 at the end, or -1 if it cannot be parsed.
 */
static int
mqtt_props_step(const struct mqtt_props *props, size_t off, size_t *len)
{
	const uint8_t	*p, *end, *start;
	struct mqtt_bin	 bin;
	uint32_t	 v;
	unsigned	 id;
	int		 n;

	if (off >= props->user_props.len)
		return (0);
	p = start = props->user_props.p + off;
	end = props->user_props.p + props->user_props.len;
	id = *p++;
	if (id > MQTT_PROP_MAX_ID)
		return (-1);
	switch (mqtt_prop_types[id]) {
	case MQTT_PT_BYTE:
		n = 1;
		break;
	case MQTT_PT_U16:
		n = 2;
		break;
	case MQTT_PT_U32:
		n = 4;
		break;
	case MQTT_PT_VARINT:
		n = mqtt_varint_get(p, end - p, &v);
		if (n <= 0)
			return (-1);
		break;
	case MQTT_PT_STR:
	case MQTT_PT_BIN:
		if (!mqtt_props_get_bin(&p, end, &bin))
			return (-1);
		n = 0;
		break;
	case MQTT_PT_PAIR:
		if (!mqtt_props_get_bin(&p, end, &bin) ||
		    !mqtt_props_get_bin(&p, end, &bin))
			return (-1);
		n = 0;
		break;
	default:
		return (-1);
	}
	if (end - p < n)
		return (-1);
	*len = (size_t)(p + n - start);
	return (id);
}

int
mqtt_props_next_user(const struct mqtt_props *props, size_t *off,
    struct mqtt_bin *key, struct mqtt_bin *val)
{
	const uint8_t	*p, *end;
	size_t		 len;
	int		 id;

	for (;;) {
		if ((id = mqtt_props_step(props, *off, &len)) <= 0)
			return (id);
		if (id == MQTT_PROP_USER_PROPERTY)
			break;
		*off += len;
	}
	p = props->user_props.p + *off + 1;
	end = props->user_props.p + *off + len;
	/* mqtt_props_step() checked both lengths. */
	(void)mqtt_props_get_bin(&p, end, key);
	(void)mqtt_props_get_bin(&p, end, val);
	*off += len;
	return (1);
}

/* Bytes of the user properties in props->user_props (others skipped). */
static size_t
mqtt_props_user_len(const struct mqtt_props *props, bool *contiguous)
{
	size_t	off = 0, len, total = 0;
	int	id;

	while ((id = mqtt_props_step(props, off, &len)) > 0) {
		if (id == MQTT_PROP_USER_PROPERTY)
			total += len;
		off += len;
	}
	*contiguous = total == props->user_props.len;
	return (total);
}

size_t
mqtt_props_len(const struct mqtt_props *props)
{
	const struct mqtt_bin	*bin;
	uint64_t		 present = props->present;
	size_t			 len = 0;
	bool			 contig;
	unsigned		 id;
	int			 i;

	if (props->user_props.len > 0)
		present |= MQTT_BIT(MQTT_PROP_USER_PROPERTY);
	present &= MQTT_PROPS_ALL;
	while (present != 0) {
		/* Lowest id first: the order of the encoder. */
		id = __builtin_ctzll(present);
		present &= present - 1;
		switch (mqtt_prop_types[id]) {
		case MQTT_PT_BYTE:
			len += 2;
			break;
		case MQTT_PT_U16:
			len += 3;
			break;
		case MQTT_PT_U32:
			len += 5;
			break;
		case MQTT_PT_VARINT:
			for (i = 0; i < props->nsub_ids &&
			    i < MQTT_MAX_SUB_IDS; i++) {
				if (props->sub_ids[i] > MQTT_MAX_REMAINING)
					return (SIZE_MAX);
				len += 1 + mqtt_varint_len(props->sub_ids[i]);
			}
			break;
		case MQTT_PT_STR:
		case MQTT_PT_BIN:
			/* Cast away const: the field is only read. */
			bin = mqtt_props_bin_field((struct mqtt_props *)props,
			    id);
			if (bin->len > 0xFFFF)
				return (SIZE_MAX);
			len += 3 + bin->len;
			break;
		case MQTT_PT_PAIR:
			len += mqtt_props_user_len(props, &contig);
			break;
		}
	}
	return (len);
}

/* Copies the user properties from props->user_props to p. */
static uint8_t *
mqtt_props_write_user(uint8_t *p, const struct mqtt_props *props)
{
	size_t	off = 0, len;
	int	id;

	while ((id = mqtt_props_step(props, off, &len)) > 0) {
		if (id == MQTT_PROP_USER_PROPERTY) {
			memcpy(p, props->user_props.p + off, len);
			p += len;
		}
		off += len;
	}
	return (p);
}

uint8_t *
mqtt_props_write(uint8_t *p, const struct mqtt_props *props, size_t len)
{
	const struct mqtt_bin	*bin;
	uint64_t		 present = props->present;
	uint32_t		 v;
	unsigned		 id;
	int			 i;

	/* mqtt_varint_put() without a struct buf. */
	v = len;
	do {
		*p = v & 0x7F;
		v >>= 7;
		if (v > 0)
			*p |= 0x80;
		p++;
	} while (v > 0);
	if (len == 0)
		return (p);
	if (props->user_props.len > 0)
		present |= MQTT_BIT(MQTT_PROP_USER_PROPERTY);
	present &= MQTT_PROPS_ALL;
	while (present != 0) {
		id = __builtin_ctzll(present);
		present &= present - 1;
		switch (mqtt_prop_types[id]) {
		case MQTT_PT_BYTE:
			*p++ = id;
			switch (id) {
			case MQTT_PROP_PAYLOAD_FORMAT_INDICATOR:
				*p++ = props->payload_format;
				break;
			case MQTT_PROP_REQUEST_PROBLEM_INFORMATION:
				*p++ = props->request_problem_info;
				break;
			case MQTT_PROP_REQUEST_RESPONSE_INFORMATION:
				*p++ = props->request_response_info;
				break;
			case MQTT_PROP_MAXIMUM_QOS:
				*p++ = props->maximum_qos;
				break;
			case MQTT_PROP_RETAIN_AVAILABLE:
				*p++ = props->retain_available;
				break;
			case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
				*p++ = props->wildcard_sub_available;
				break;
			case MQTT_PROP_SUB_ID_AVAILABLE:
				*p++ = props->sub_id_available;
				break;
			default:
				*p++ = props->shared_sub_available;
				break;
			}
			break;
		case MQTT_PT_U16:
			*p++ = id;
			switch (id) {
			case MQTT_PROP_SERVER_KEEP_ALIVE:
				be16_put(p, props->server_keep_alive);
				break;
			case MQTT_PROP_RECEIVE_MAXIMUM:
				be16_put(p, props->receive_maximum);
				break;
			case MQTT_PROP_TOPIC_ALIAS_MAXIMUM:
				be16_put(p, props->topic_alias_maximum);
				break;
			default:
				be16_put(p, props->topic_alias);
				break;
			}
			p += 2;
			break;
		case MQTT_PT_U32:
			*p++ = id;
			switch (id) {
			case MQTT_PROP_MESSAGE_EXPIRY_INTERVAL:
				be32_put(p, props->message_expiry);
				break;
			case MQTT_PROP_SESSION_EXPIRY_INTERVAL:
				be32_put(p, props->session_expiry);
				break;
			case MQTT_PROP_WILL_DELAY_INTERVAL:
				be32_put(p, props->will_delay);
				break;
			default:
				be32_put(p, props->maximum_packet_size);
				break;
			}
			p += 4;
			break;
		case MQTT_PT_VARINT:
			for (i = 0; i < props->nsub_ids &&
			    i < MQTT_MAX_SUB_IDS; i++) {
				*p++ = id;
				v = props->sub_ids[i];
				do {
					*p = v & 0x7F;
					v >>= 7;
					if (v > 0)
						*p |= 0x80;
					p++;
				} while (v > 0);
			}
			break;
		case MQTT_PT_STR:
		case MQTT_PT_BIN:
			bin = mqtt_props_bin_field((struct mqtt_props *)props,
			    id);
			*p++ = id;
			be16_put(p, bin->len);
			p += 2;
			if (bin->len > 0)
				memcpy(p, bin->p, bin->len);
			p += bin->len;
			break;
		case MQTT_PT_PAIR:
			p = mqtt_props_write_user(p, props);
			break;
		}
	}
	return (p);
}

void
mqtt_props_encode(struct buf *out, const struct mqtt_props *props)
{
	static const struct mqtt_props	 empty;
	size_t				 len;
	uint8_t				*p, *end;

	len = mqtt_props_len(props);
	if (len > MQTT_MAX_REMAINING) {
		props = &empty;
		len = 0;
	}
	p = buf_reserve(out, mqtt_varint_len(len) + len);
	end = mqtt_props_write(p, props, len);
	out->len += end - p;
}

int
mqtt_props_add_user(struct buf *b, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	uint8_t	*p;

	if (klen > 0xFFFF || vlen > 0xFFFF)
		return (-1);
	p = buf_reserve(b, 5 + klen + vlen);
	*p++ = MQTT_PROP_USER_PROPERTY;
	be16_put(p, klen);
	p += 2;
	if (klen > 0)
		memcpy(p, key, klen);
	p += klen;
	be16_put(p, vlen);
	p += 2;
	if (vlen > 0)
		memcpy(p, val, vlen);
	b->len += 5 + klen + vlen;
	return (0);
}
