/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target of the MQTT decoder: frames the input, decodes every
 * packet at each protocol level, re-encodes what decoded, and checks that
 * the encoding decodes again and encodes to the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttd/mqtt.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_die(const char *what, uint8_t proto, const struct mqtt_packet *pkt,
    const char *why)
{
	fprintf(stderr, "fuzz: %s (proto %u, %s): %s\n", what, proto,
	    mqtt_type_name(pkt->type), why ? why : "-");
	abort();
}

/* The user properties iterate to exactly nuser_props entries. */
static void
fuzz_check_user_props(const struct mqtt_props *props, uint8_t proto,
    const struct mqtt_packet *pkt)
{
	struct mqtt_bin	key, val;
	size_t		off = 0;
	int		n = 0, r;

	while ((r = mqtt_props_next_user(props, &off, &key, &val)) == 1) {
		if (!is_mqtt_utf8(key.p, key.len) ||
		    !is_mqtt_utf8(val.p, val.len))
			fuzz_die("user property not UTF-8", proto, pkt, NULL);
		n++;
	}
	if (r != 0 || n != props->nuser_props)
		fuzz_die("user property iteration", proto, pkt, NULL);
}

static void
fuzz_check_packet(const struct mqtt_packet *pkt, uint8_t proto)
{
	switch (pkt->type) {
	case MQTT_CONNECT:
		fuzz_check_user_props(&pkt->u.connect.props, proto, pkt);
		fuzz_check_user_props(&pkt->u.connect.will_props, proto, pkt);
		break;
	case MQTT_PUBLISH:
		fuzz_check_user_props(&pkt->u.publish.props, proto, pkt);
		break;
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		if (pkt->u.subscribe.nentries == 0)
			fuzz_die("no entries", proto, pkt, NULL);
		fuzz_check_user_props(&pkt->u.subscribe.props, proto, pkt);
		break;
	default:
		break;
	}
}

static void
fuzz_one(const uint8_t *p, size_t len, uint8_t proto)
{
	struct mqtt_packet	 pkt, again;
	struct buf		 b1 = BUF_INIT, b2 = BUF_INIT;
	const char		*why = NULL;
	enum mqtt_rc		 rc;

	rc = mqtt_decode(p, len, proto, &pkt, &why);
	if (rc != MQTT_RC_SUCCESS) {
		if (why == NULL)
			fuzz_die("failure without a reason", proto, &pkt, NULL);
		mqtt_packet_clear(&pkt);
		return;
	}
	fuzz_check_packet(&pkt, proto);
	if (mqtt_encode(&b1, proto, &pkt) != 0)
		fuzz_die("decoded packet does not encode", proto, &pkt, NULL);
	rc = mqtt_decode(b1.data, b1.len, proto, &again, &why);
	if (rc != MQTT_RC_SUCCESS)
		fuzz_die("re-encoded packet does not decode", proto, &pkt, why);
	if (again.type != pkt.type)
		fuzz_die("type changed", proto, &pkt, NULL);
	if (mqtt_encode(&b2, proto, &again) != 0)
		fuzz_die("second encode failed", proto, &pkt, NULL);
	if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
		fuzz_die("encoding not stable", proto, &pkt, NULL);
	mqtt_packet_clear(&again);
	mqtt_packet_clear(&pkt);
	buf_free(&b1);
	buf_free(&b2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t	 protos[] = { 0, MQTT_PROTO_V31,
	    MQTT_PROTO_V311, MQTT_PROTO_V5 };
	struct mqtt_packet	 pkt = { 0 };
	const char		*why;
	size_t			 i, off, plen;
	int			 r;

	for (i = 0; i < sizeof(protos); i++) {
		/* As a stream of packets. */
		off = 0;
		while ((r = mqtt_frame(data + off, size - off, &plen)) == 1) {
			if (plen < 2 || plen > size - off)
				fuzz_die("bad frame length", protos[i], &pkt,
				    NULL);
			fuzz_one(data + off, plen, protos[i]);
			off += plen;
		}
		/* As one packet, whatever its remaining length says. */
		(void)mqtt_decode(data, size, protos[i], &pkt, &why);
		mqtt_packet_clear(&pkt);
	}
	return (0);
}
