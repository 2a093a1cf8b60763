/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the MQTT codec (mqttd/mqtt_codec.c, mqtt_props.c): framing
 * and varints, UTF-8, topic names and filters, and every malformed or
 * forbidden packet with the reason code it must get.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttd/mqtt.h"
#include "tests/unit/mqttd/codec_spec.h"
#include "tests/unit/unit.h"

static void
test_codec_varint(void)
{
	static const struct {
		uint32_t	v;
		size_t		len;
	} t[] = {
		{ 0, 1 }, { 127, 1 }, { 128, 2 }, { 16383, 2 }, { 16384, 3 },
		{ 2097151, 3 }, { 2097152, 4 }, { MQTT_MAX_REMAINING, 4 }
	};
	struct buf	b = BUF_INIT;
	uint32_t	v;
	size_t		i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		CU_ASSERT_EQUAL(mqtt_varint_len(t[i].v), t[i].len);
		CU_ASSERT_EQUAL(mqtt_varint_put(&b, t[i].v), t[i].len);
		CU_ASSERT_EQUAL(b.len, t[i].len);
		CU_ASSERT_EQUAL(mqtt_varint_get(b.data, b.len, &v),
		    (int)t[i].len);
		CU_ASSERT_EQUAL(v, t[i].v);
		/* Every prefix needs more bytes. */
		CU_ASSERT_EQUAL(mqtt_varint_get(b.data, b.len - 1, &v), 0);
	}
	buf_reset(&b);
	CU_ASSERT_EQUAL(mqtt_varint_put(&b, MQTT_MAX_REMAINING + 1), 0);
	CU_ASSERT_EQUAL(b.len, 0);
	/* The spec's examples. */
	spec_bytes(&b, "ffffff7f");
	CU_ASSERT_EQUAL(mqtt_varint_get(b.data, b.len, &v), 4);
	CU_ASSERT_EQUAL(v, 268435455);
	spec_bytes(&b, "c102");
	CU_ASSERT_EQUAL(mqtt_varint_get(b.data, b.len, &v), 2);
	CU_ASSERT_EQUAL(v, 321);
	/* A fifth byte, and non-minimal encodings. */
	spec_bytes(&b, "ffffffff01");
	CU_ASSERT_EQUAL(mqtt_varint_get(b.data, b.len, &v), -1);
	spec_bytes(&b, "ffffff ff");
	CU_ASSERT_EQUAL(mqtt_varint_get(b.data, b.len, &v), -1);
	spec_bytes(&b, "8000");
	CU_ASSERT_EQUAL(mqtt_varint_get(b.data, b.len, &v), -1);
	spec_bytes(&b, "818000");
	CU_ASSERT_EQUAL(mqtt_varint_get(b.data, b.len, &v), -1);
	CU_ASSERT_EQUAL(mqtt_varint_get(b.data, 0, &v), 0);
	buf_free(&b);
}

static void
test_codec_frame(void)
{
	struct buf	b = BUF_INIT;
	size_t		n = 0;

	CU_ASSERT_EQUAL(mqtt_frame((const uint8_t *)"", 0, &n), 0);
	spec_bytes(&b, "c0");
	CU_ASSERT_EQUAL(mqtt_frame(b.data, b.len, &n), 0);
	spec_bytes(&b, "c000");
	CU_ASSERT_EQUAL(mqtt_frame(b.data, b.len, &n), 1);
	CU_ASSERT_EQUAL(n, 2);
	/* Two packets: the first one's length. */
	spec_bytes(&b, "30 05 s'a' 'xy' c000");
	CU_ASSERT_EQUAL(mqtt_frame(b.data, b.len, &n), 1);
	CU_ASSERT_EQUAL(n, 7);
	/* Partial header and partial body. */
	spec_bytes(&b, "30 80");
	CU_ASSERT_EQUAL(mqtt_frame(b.data, b.len, &n), 0);
	spec_bytes(&b, "30 8001 00");
	CU_ASSERT_EQUAL(mqtt_frame(b.data, b.len, &n), 0);
	spec_bytes(&b, "30 05 0001 'a'");
	CU_ASSERT_EQUAL(mqtt_frame(b.data, b.len, &n), 0);
	/* The largest remaining length is framed, once all of it is here. */
	spec_bytes(&b, "30 ffffff7f 0001");
	CU_ASSERT_EQUAL(mqtt_frame(b.data, b.len, &n), 0);
	/* Five varint bytes: malformed before the fifth even arrives. */
	spec_bytes(&b, "30 ffffffff");
	CU_ASSERT_EQUAL(mqtt_frame(b.data, b.len, &n), -1);
	spec_bytes(&b, "30 ffffffff01");
	CU_ASSERT_EQUAL(mqtt_frame(b.data, b.len, &n), -1);
	spec_bytes(&b, "c0 8000");
	CU_ASSERT_EQUAL(mqtt_frame(b.data, b.len, &n), -1);
	buf_free(&b);
}

static void
test_codec_utf8(void)
{
	static const struct {
		const char	*s;
		size_t		 len;
		bool		 ok;
	} t[] = {
#define U(s, ok)	{ s, sizeof(s) - 1, ok }
		U("", true),
		U("plain ascii that is longer than eight bytes", true),
		U("caf\xc3\xa9", true),			/* U+00E9 */
		U("\xe6\xbc\xa2\xe5\xad\x97", true),	/* CJK */
		U("\xf0\x9f\x98\x80", true),		/* U+1F600 */
		U("\xef\xbb\xbf", true),		/* U+FEFF stays */
		U("\xef\xbf\xbf", true),		/* U+FFFF non-char */
		U("\xf4\x8f\xbf\xbf", true),		/* U+10FFFF */
		U("\xed\x9f\xbf", true),		/* U+D7FF */
		U("\xee\x80\x80", true),		/* U+E000 */
		U("\x01\x1f\x7f", true),		/* SHOULD NOT only */
		U("a\0b", false),			/* U+0000 */
		U("12345678\0", false),			/* after fast path */
		U("1234\0" "678abc", false),		/* in the fast path */
		U("abcdefgh+", true),
		U("abc#defgh", true),
		U("\xc0\x80", false),			/* overlong U+0000 */
		U("\xc1\xbf", false),			/* overlong */
		U("\xe0\x80\xaf", false),		/* overlong '/' */
		U("\xe0\x9f\xbf", false),		/* overlong */
		U("\xf0\x8f\xbf\xbf", false),		/* overlong */
		U("\xed\xa0\x80", false),		/* U+D800 */
		U("\xed\xbf\xbf", false),		/* U+DFFF */
		U("\xf4\x90\x80\x80", false),		/* U+110000 */
		U("\xf5\x80\x80\x80", false),
		U("\xff", false),
		U("\x80", false),			/* lone continuation */
		U("\xc3", false),			/* truncated */
		U("\xe6\xbc", false),
		U("\xf0\x9f\x98", false),
		U("\xc3\x28", false),			/* bad continuation */
		U("\xe6\x28\xa2", false),
		U("\xf0\x9f\x28\x80", false),
		U("abcdefgh\xc3\xa9ijklmnop\xed\xa0\x80", false)
#undef U
	};
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (is_mqtt_utf8((const uint8_t *)t[i].s, t[i].len) != t[i].ok)
			fprintf(stderr, "utf8 case %zu wrong\n", i);
		CU_ASSERT_EQUAL(is_mqtt_utf8((const uint8_t *)t[i].s,
		    t[i].len), t[i].ok);
	}
	CU_ASSERT_TRUE(is_mqtt_utf8(NULL, 0));
}

static void
test_codec_topic_name(void)
{
	static const struct {
		const char	*s;
		bool		 ok;
	} t[] = {
		{ "a", true }, { "/", true }, { "a/b/c", true },
		{ "$SYS/broker/load", true }, { "a//b", true },
		{ "sport/tennis player1/#ranking", false },
		{ "", false }, { "+", false }, { "#", false },
		{ "a/+/c", false }, { "a/#", false }, { "a+b", false },
		{ "long topic name without wildcards/x", true },
		{ "long topic name with a wildcard/x/#", false },
		{ "caf\xc3\xa9/\xe6\xbc\xa2", true },
		{ "bad/\xed\xa0\x80", false }
	};
	char	*big;
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (is_mqtt_topic_name((const uint8_t *)t[i].s,
		    strlen(t[i].s)) != t[i].ok)
			fprintf(stderr, "topic name '%s' wrong\n", t[i].s);
		CU_ASSERT_EQUAL(is_mqtt_topic_name((const uint8_t *)t[i].s,
		    strlen(t[i].s)), t[i].ok);
	}
	CU_ASSERT_FALSE(is_mqtt_topic_name((const uint8_t *)"a\0b", 3));
	big = malloc(65536);
	memset(big, 'x', 65536);
	CU_ASSERT_TRUE(is_mqtt_topic_name((uint8_t *)big, 65535));
	CU_ASSERT_FALSE(is_mqtt_topic_name((uint8_t *)big, 65536));
	CU_ASSERT_TRUE(is_mqtt_topic_filter((uint8_t *)big, 65535));
	CU_ASSERT_FALSE(is_mqtt_topic_filter((uint8_t *)big, 65536));
	free(big);
}

static void
test_codec_topic_filter(void)
{
	static const struct {
		const char	*s;
		bool		 ok;
	} t[] = {
		{ "a", true }, { "#", true }, { "+", true }, { "/", true },
		{ "a/b/c", true }, { "a/#", true }, { "a/+", true },
		{ "+/+", true }, { "/+", true }, { "+/", true },
		{ "+/tennis/#", true }, { "sport/+/player1", true },
		{ "a//#", true }, { "$SYS/#", true }, { "a/+/+/#", true },
		{ "", false }, { "a/#/b", false }, { "#/a", false },
		{ "a#", false }, { "a/b#", false }, { "##", false },
		{ "a+", false }, { "+a", false }, { "a/+b/c", false },
		{ "a/b+/c", false }, { "++", false }, { "sport+", false },
		{ "$share/g/a/#", true }, { "$share/g/+", true },
		{ "$share/g//", true }, { "$share/group-1/a/b", true },
		{ "$share/g", false }, { "$share/g/", false },
		{ "$share//a", false }, { "$share/", false },
		{ "$share/+/a", false }, { "$share/#/a", false },
		{ "$share/g+/a", false }, { "$share/g/a/#/b", false },
		{ "$shared/x", true }, { "$share", true },
		{ "bad/\xc0\x80", false }
	};
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (is_mqtt_topic_filter((const uint8_t *)t[i].s,
		    strlen(t[i].s)) != t[i].ok)
			fprintf(stderr, "topic filter '%s' wrong\n", t[i].s);
		CU_ASSERT_EQUAL(is_mqtt_topic_filter((const uint8_t *)t[i].s,
		    strlen(t[i].s)), t[i].ok);
	}
	CU_ASSERT_FALSE(is_mqtt_topic_filter((const uint8_t *)"a/\0", 3));
}

/*
 * Hand-made packets and the reason code each must decode to.  proto is
 * the connection's level (0 before CONNECT).
 */
struct codec_case {
	const char	*name;
	uint8_t		 proto;
	const char	*spec;
	enum mqtt_rc	 rc;
};

#define OK	MQTT_RC_SUCCESS
#define MAL	MQTT_RC_MALFORMED_PACKET
#define PROTO	MQTT_RC_PROTOCOL_ERROR

/* CONNECT header pieces. */
#define C311	"10 L s'MQTT' 04"
#define C5	"10 L s'MQTT' 05"

static const struct codec_case codec_cases[] = {
	/* Fixed header. */
	{ "type 0", 4, "00 00", MAL },
	{ "type 0 before CONNECT", 0, "00 00", MAL },
	{ "AUTH in 3.1.1", 4, "f0 00", MAL },
	{ "AUTH in 3.1", 3, "f0 00", MAL },
	{ "remaining length too short", 4, "30 03 s'abc'", MAL },
	{ "remaining length too long", 4, "30 09 s'abc'", MAL },
	{ "five byte remaining length", 4, "30 ffffffff01", MAL },
	{ "non-minimal remaining length", 4, "c0 8000", MAL },
	{ "empty input", 4, "", MAL },
	{ "one byte", 4, "c0", MAL },
	{ "PINGREQ flags", 4, "c1 00", MAL },
	{ "PINGREQ with a body", 4, "c0 01 00", MAL },
	{ "PINGRESP with a body", 4, "d0 01 00", MAL },
	{ "PINGRESP flags", 5, "d8 00", MAL },
	{ "PUBACK flags 2", 4, "42 02 0001", MAL },
	{ "PUBREC flags", 5, "51 02 0001", MAL },
	{ "PUBCOMP flags", 4, "72 02 0001", MAL },
	{ "PUBREL flags 0", 4, "60 02 0001", MAL },
	{ "PUBREL flags 0 in 5.0", 5, "60 02 0001", MAL },
	{ "PUBREL with DUP in 3.1", 3, "6a 02 0001", OK },
	{ "PUBREL with DUP in 3.1.1", 4, "6a 02 0001", MAL },
	{ "SUBSCRIBE flags 0", 4, "80 L 0001 s'a' 00", MAL },
	{ "SUBSCRIBE flags 3", 4, "83 L 0001 s'a' 00", MAL },
	{ "UNSUBSCRIBE flags 0", 4, "a0 L 0001 s'a'", MAL },
	{ "CONNACK flags", 4, "21 02 0000", MAL },
	{ "SUBACK flags", 4, "92 03 0001 00", MAL },
	{ "UNSUBACK flags", 4, "b2 02 0001", MAL },
	{ "DISCONNECT flags", 4, "e1 00", MAL },
	{ "AUTH flags", 5, "f1 00", MAL },
	{ "CONNECT flags", 0, "11 L s'MQTT' 04 02 003c s'c'", MAL },

	/* Order of packets. */
	{ "PUBLISH before CONNECT", 0, "30 L s'a' 'x'", PROTO },
	{ "PINGREQ before CONNECT", 0, "c0 00", PROTO },
	{ "DISCONNECT before CONNECT", 0, "e0 00", PROTO },
	{ "AUTH before CONNECT", 0, "f0 00", PROTO },
	{ "second CONNECT", 4, C311 " 02 003c s'c'", PROTO },
	{ "second CONNECT in 5.0", 5, C5 " 02 003c [] s'c'", PROTO },

	/* CONNECT. */
	{ "3.1.1 CONNECT", 0, C311 " 02 003c s'c'", OK },
	{ "3.1 CONNECT", 0, "10 L s'MQIsdp' 03 02 003c s'c'", OK },
	{ "5.0 CONNECT", 0, C5 " 02 003c [] s'c'", OK },
	{ "3.1.1 empty client id", 0, C311 " 02 003c 0000", OK },
	{ "3.1 client id of 23", 0,
	    "10 L s'MQIsdp' 03 02 003c s'abcdefghijklmnopqrstuvw'", OK },
	{ "3.1 client id of 30 (broker decides)", 0,
	    "10 L s'MQIsdp' 03 02 003c s'abcdefghijklmnopqrstuvwxyz0123'",
	    OK },
	{ "MQTT with level 3", 0, "10 L s'MQTT' 03 02 003c s'c'",
	    MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION },
	{ "MQTT with level 6", 0, "10 L s'MQTT' 06 02 003c s'c'",
	    MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION },
	{ "MQIsdp with level 4", 0, "10 L s'MQIsdp' 04 02 003c s'c'",
	    MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION },
	{ "unknown protocol name", 0, "10 L s'MQTX' 04 02 003c s'c'",
	    MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION },
	{ "lower case protocol name", 0, "10 L s'mqtt' 04 02 003c s'c'",
	    MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION },
	{ "truncated protocol name", 0, "10 L 0004 'MQ'", MAL },
	{ "no protocol level", 0, "10 L s'MQTT'", MAL },
	{ "no keep alive", 0, C311 " 02 00", MAL },
	{ "no client id", 0, C311 " 02 003c", MAL },
	{ "reserved flag", 0, C311 " 03 003c s'c'", MAL },
	{ "reserved flag in 5.0", 0, C5 " 03 003c [] s'c'", MAL },
	{ "will QoS 3", 0, C311 " 1e 003c s'c' s'w' s'x'", MAL },
	{ "will QoS 3 in 5.0", 0, C5 " 1e 003c [] s'c' [] s'w' s'x'", MAL },
	{ "will QoS without will", 0, C311 " 0a 003c s'c'", MAL },
	{ "will QoS 2 without will", 0, C311 " 12 003c s'c'", MAL },
	{ "will retain without will", 0, C311 " 22 003c s'c'", MAL },
	{ "will retain without will in 5.0", 0, C5 " 22 003c [] s'c'", MAL },
	{ "will QoS 2 retain", 0, C311 " 36 003c s'c' s'w/t' s'x'", OK },
	{ "password without user name", 0, C311 " 42 003c s'c' s'pw'",
	    PROTO },
	{ "password without user name in 3.1", 0,
	    "10 L s'MQIsdp' 03 42 003c s'c' s'pw'", PROTO },
	{ "password without user name in 5.0", 0,
	    C5 " 42 003c [] s'c' s'pw'", OK },
	{ "user name and password", 0, C311 " c2 003c s'c' s'u' s'pw'", OK },
	{ "binary password", 0, C311 " c2 003c s'c' s'u' 0002 00ff", OK },
	{ "user name flag without user name", 0, C311 " 82 003c s'c'", MAL },
	{ "password flag without password", 0, C311 " c2 003c s'c' s'u'",
	    MAL },
	{ "will flag without will", 0, C311 " 06 003c s'c'", MAL },
	{ "will without payload", 0, C311 " 06 003c s'c' s'w'", MAL },
	{ "bytes after the last field", 0, C311 " 02 003c s'c' 00", MAL },
	{ "client id not UTF-8", 0, C311 " 02 003c 0002 c080", MAL },
	{ "client id with U+0000", 0, C311 " 02 003c 0003 '1' 00 '2'", MAL },
	{ "user name not UTF-8", 0, C311 " 82 003c s'c' 0001 ff", MAL },
	{ "will topic not UTF-8", 0, C311 " 06 003c s'c' 0003 eda080 s'x'",
	    MAL },
	{ "will topic with wildcard", 0, C311 " 06 003c s'c' s'a/#' s'x'",
	    MQTT_RC_TOPIC_NAME_INVALID },
	{ "empty will topic", 0, C311 " 06 003c s'c' 0000 s'x'",
	    MQTT_RC_TOPIC_NAME_INVALID },
	{ "5.0 CONNECT without properties", 0, C5 " 02 003c s'c'", MAL },
	{ "5.0 will without properties", 0, C5 " 06 003c [] s'c' s'w' s'x'",
	    MAL },
	{ "5.0 will", 0, C5 " 06 003c [] s'c' [ 18 0000000a ] s'w' s'x'",
	    OK },
	{ "receive maximum 0", 0, C5 " 02 003c [ 21 0000 ] s'c'", PROTO },
	{ "receive maximum twice", 0,
	    C5 " 02 003c [ 21 0001 21 0001 ] s'c'", PROTO },
	{ "maximum packet size 0", 0, C5 " 02 003c [ 27 00000000 ] s'c'",
	    PROTO },
	{ "request problem information 2", 0, C5 " 02 003c [ 17 02 ] s'c'",
	    PROTO },
	{ "request response information 2", 0,
	    C5 " 02 003c [ 19 02 ] s'c'", PROTO },
	{ "session expiry twice", 0,
	    C5 " 02 003c [ 11 00000001 11 00000001 ] s'c'", PROTO },
	{ "auth data without method", 0, C5 " 02 003c [ 16 s'x' ] s'c'",
	    PROTO },
	{ "auth method and data", 0,
	    C5 " 02 003c [ 15 s'SCRAM' 16 0001 00 ] s'c'", OK },
	{ "will property in CONNECT", 0, C5 " 02 003c [ 18 00000001 ] s'c'",
	    MAL },
	{ "topic alias in CONNECT", 0, C5 " 02 003c [ 23 0001 ] s'c'", MAL },
	{ "session expiry in will", 0,
	    C5 " 06 003c [] s'c' [ 11 00000001 ] s'w' s'x'", MAL },
	{ "payload format 2 in will", 0,
	    C5 " 06 003c [] s'c' [ 01 02 ] s'w' s'x'", PROTO },
	{ "response topic with wildcard in will", 0,
	    C5 " 06 003c [] s'c' [ 08 s'r/#' ] s'w' s'x'", PROTO },
	{ "unknown property 0", 0, C5 " 02 003c [ 00 ] s'c'", MAL },
	{ "unknown property 0x2b", 0, C5 " 02 003c [ 2b 00 ] s'c'", MAL },
	{ "property id 0x80", 0, C5 " 02 003c [ 80 01 ] s'c'", MAL },
	{ "property length past the end", 0, C5 " 02 003c 09 11 00", MAL },
	{ "truncated property", 0, C5 " 02 003c [ 11 0000 ] s'c'", MAL },
	{ "user property not UTF-8", 0,
	    C5 " 02 003c [ 26 s'k' 0001 c1 ] s'c'", MAL },
	{ "user property key not UTF-8", 0,
	    C5 " 02 003c [ 26 0001 00 s'v' ] s'c'", MAL },
	{ "user property truncated", 0, C5 " 02 003c [ 26 s'k' 00 ] s'c'",
	    MAL },
	{ "user property twice", 0,
	    C5 " 02 003c [ 26 s'k' s'v' 26 s'k' s'v' ] s'c'", OK },

	/* CONNACK. */
	{ "CONNACK", 4, "20 02 0100", OK },
	{ "CONNACK return code 5", 4, "20 02 0005", OK },
	{ "CONNACK return code 6", 4, "20 02 0006", PROTO },
	{ "CONNACK reserved flags", 4, "20 02 0200", MAL },
	{ "CONNACK session present on refusal", 4, "20 02 0105", PROTO },
	{ "CONNACK too long", 4, "20 03 000000", MAL },
	{ "CONNACK too short", 4, "20 01 00", MAL },
	{ "5.0 CONNACK", 5, "20 L 0000 []", OK },
	{ "5.0 CONNACK refused", 5, "20 L 0087 []", OK },
	{ "5.0 CONNACK bad reason code", 5, "20 L 0010 []", PROTO },
	{ "5.0 CONNACK without properties", 5, "20 02 0000", MAL },
	{ "5.0 CONNACK maximum QoS 2", 5, "20 L 0000 [ 24 02 ]", PROTO },
	{ "5.0 CONNACK retain available 2", 5, "20 L 0000 [ 25 02 ]", PROTO },
	{ "5.0 CONNACK wildcard available 2", 5, "20 L 0000 [ 28 02 ]",
	    PROTO },
	{ "5.0 CONNACK sub ids available 2", 5, "20 L 0000 [ 29 02 ]",
	    PROTO },
	{ "5.0 CONNACK shared available 2", 5, "20 L 0000 [ 2a 02 ]", PROTO },
	{ "5.0 CONNACK receive maximum 0", 5, "20 L 0000 [ 21 0000 ]",
	    PROTO },
	{ "5.0 CONNACK topic alias in CONNACK", 5, "20 L 0000 [ 23 0001 ]",
	    MAL },

	/* PUBLISH. */
	{ "PUBLISH", 4, "30 L s'a/b' 'x'", OK },
	{ "PUBLISH empty payload", 4, "30 L s'a/b'", OK },
	{ "PUBLISH QoS 3", 4, "36 L s'a' 0001", MAL },
	{ "PUBLISH QoS 3 in 5.0", 5, "36 L s'a' 0001 []", MAL },
	{ "PUBLISH DUP on QoS 0", 4, "38 L s'a' 'x'", MAL },
	{ "PUBLISH DUP on QoS 0 in 5.0", 5, "38 L s'a' [] 'x'", MAL },
	{ "PUBLISH DUP on QoS 0 in 3.1", 3, "38 L s'a' 'x'", OK },
	{ "PUBLISH DUP on QoS 1", 4, "3a L s'a' 0001 'x'", OK },
	{ "PUBLISH packet id 0", 4, "32 L s'a' 0000 'x'", PROTO },
	{ "PUBLISH QoS 2 packet id 0", 5, "34 L s'a' 0000 [] 'x'", PROTO },
	{ "PUBLISH no packet id", 4, "32 L s'a'", MAL },
	{ "PUBLISH topic with +", 4, "30 L s'a/+' 'x'",
	    MQTT_RC_TOPIC_NAME_INVALID },
	{ "PUBLISH topic with #", 5, "30 L s'#' [] 'x'",
	    MQTT_RC_TOPIC_NAME_INVALID },
	{ "PUBLISH topic with + in a level", 4, "30 L s'a/b+c' 'x'",
	    MQTT_RC_TOPIC_NAME_INVALID },
	{ "PUBLISH empty topic", 4, "30 L 0000 'x'",
	    MQTT_RC_TOPIC_NAME_INVALID },
	{ "PUBLISH empty topic in 3.1", 3, "30 L 0000 'x'",
	    MQTT_RC_TOPIC_NAME_INVALID },
	{ "PUBLISH empty topic without alias", 5, "30 L 0000 [] 'x'", PROTO },
	{ "PUBLISH empty topic with alias", 5, "30 L 0000 [ 23 0001 ] 'x'",
	    OK },
	{ "PUBLISH topic alias 0", 5, "30 L s'a' [ 23 0000 ] 'x'",
	    MQTT_RC_TOPIC_ALIAS_INVALID },
	{ "PUBLISH topic with U+0000", 4, "30 L 0003 'a' 00 'b' 'x'", MAL },
	{ "PUBLISH topic overlong", 4, "30 L 0002 c0af", MAL },
	{ "PUBLISH topic surrogate", 4, "30 L 0003 edbfbf", MAL },
	{ "PUBLISH topic above U+10FFFF", 4, "30 L 0004 f4908080", MAL },
	{ "PUBLISH topic truncated UTF-8", 4, "30 L 0002 'a' e6 'x'", MAL },
	{ "PUBLISH topic length past end", 4, "30 L 0005 'abc'", MAL },
	{ "PUBLISH non-UTF-8 payload is fine", 4, "30 L s'a' ff00fe", OK },
	{ "PUBLISH without properties", 5, "30 L s'a'", MAL },
	{ "PUBLISH payload format 2", 5, "30 L s'a' [ 01 02 ] 'x'", PROTO },
	{ "PUBLISH payload format 1", 5, "30 L s'a' [ 01 01 ] 'x'", OK },
	{ "PUBLISH message expiry twice", 5,
	    "30 L s'a' [ 02 00000001 02 00000002 ] 'x'", PROTO },
	{ "PUBLISH content type twice", 5,
	    "30 L s'a' [ 03 s't' 03 s't' ] 'x'", PROTO },
	{ "PUBLISH topic alias twice", 5,
	    "30 L s'a' [ 23 0001 23 0002 ] 'x'", PROTO },
	{ "PUBLISH two subscription ids", 5,
	    "30 L s'a' [ 0b 01 0b 02 ] 'x'", OK },
	{ "PUBLISH subscription id 0", 5, "30 L s'a' [ 0b 00 ] 'x'", PROTO },
	{ "PUBLISH subscription id non-minimal", 5,
	    "30 L s'a' [ 0b 8100 ] 'x'", MAL },
	{ "PUBLISH subscription id five bytes", 5,
	    "30 L s'a' [ 0b ffffffff01 ] 'x'", MAL },
	{ "PUBLISH response topic with wildcard", 5,
	    "30 L s'a' [ 08 s'r/+' ] 'x'", PROTO },
	{ "PUBLISH content type not UTF-8", 5,
	    "30 L s'a' [ 03 0001 80 ] 'x'", MAL },
	{ "PUBLISH binary correlation data", 5,
	    "30 L s'a' [ 09 0002 00ff ] 'x'", OK },
	{ "PUBLISH session expiry", 5, "30 L s'a' [ 11 00000001 ] 'x'", MAL },
	{ "PUBLISH reason string", 5, "30 L s'a' [ 1f s'r' ] 'x'", MAL },
	{ "PUBLISH will delay", 5, "30 L s'a' [ 18 00000001 ] 'x'", MAL },
	{ "PUBLISH property length past end", 5, "30 L s'a' 05 01 01", MAL },
	{ "PUBLISH truncated u16 property", 5, "30 L s'a' [ 23 00 ]", MAL },
	{ "PUBLISH truncated string property", 5, "30 L s'a' [ 03 0005 'ab' ]",
	    MAL },
	{ "PUBLISH truncated byte property", 5, "30 L s'a' [ 01 ]", MAL },

	/* PUBACK, PUBREC, PUBREL, PUBCOMP. */
	{ "PUBACK", 4, "40 02 0001", OK },
	{ "PUBACK packet id 0", 4, "40 02 0000", PROTO },
	{ "PUBACK packet id 0 in 5.0", 5, "40 02 0000", PROTO },
	{ "PUBACK too long in 3.1.1", 4, "40 03 000100", MAL },
	{ "PUBACK too short", 4, "40 01 00", MAL },
	{ "PUBACK empty", 5, "40 00", MAL },
	{ "PUBACK reason code only", 5, "40 03 0001 10", OK },
	{ "PUBACK reason code and no properties", 5, "40 04 0001 10 00", OK },
	{ "PUBACK with reason string", 5, "40 L 0001 80 [ 1f s'no' ]", OK },
	{ "PUBACK bad reason code", 5, "40 03 0001 01", PROTO },
	{ "PUBACK PUBREL reason code", 5, "40 03 0001 92", PROTO },
	{ "PUBACK property not allowed", 5, "40 L 0001 00 [ 01 00 ]", MAL },
	{ "PUBACK reason string twice", 5,
	    "40 L 0001 00 [ 1f s'a' 1f s'b' ]", PROTO },
	{ "PUBACK bytes after properties", 5, "40 L 0001 00 [] 00", MAL },
	{ "PUBREC quota exceeded", 5, "50 03 0001 97", OK },
	{ "PUBREL", 4, "62 02 0001", OK },
	{ "PUBREL not found", 5, "62 03 0001 92", OK },
	{ "PUBREL bad reason code", 5, "62 03 0001 10", PROTO },
	{ "PUBCOMP bad reason code", 5, "70 03 0001 80", PROTO },
	{ "PUBCOMP", 3, "70 02 0001", OK },

	/* SUBSCRIBE. */
	{ "SUBSCRIBE", 4, "82 L 0001 s'a/+' 01 s'#' 02", OK },
	{ "SUBSCRIBE no filter", 4, "82 L 0001", PROTO },
	{ "SUBSCRIBE no filter in 5.0", 5, "82 L 0001 []", PROTO },
	{ "SUBSCRIBE packet id 0", 4, "82 L 0000 s'a' 00", PROTO },
	{ "SUBSCRIBE no options", 4, "82 L 0001 s'a'", MAL },
	{ "SUBSCRIBE truncated filter", 4, "82 L 0001 0003 'a'", MAL },
	{ "SUBSCRIBE QoS 3", 4, "82 L 0001 s'a' 03", MAL },
	{ "SUBSCRIBE QoS 3 in 5.0", 5, "82 L 0001 [] s'a' 03", PROTO },
	{ "SUBSCRIBE reserved bits", 4, "82 L 0001 s'a' 04", MAL },
	{ "SUBSCRIBE reserved bits in 3.1", 3, "82 L 0001 s'a' 80", MAL },
	{ "SUBSCRIBE 5.0 options in 3.1.1", 4, "82 L 0001 s'a' 2c", MAL },
	{ "SUBSCRIBE 5.0 options", 5, "82 L 0001 [] s'a' 2e", OK },
	{ "SUBSCRIBE reserved bits in 5.0", 5, "82 L 0001 [] s'a' 40", MAL },
	{ "SUBSCRIBE reserved bit 7 in 5.0", 5, "82 L 0001 [] s'a' 80", MAL },
	{ "SUBSCRIBE retain handling 3", 5, "82 L 0001 [] s'a' 30", PROTO },
	{ "SUBSCRIBE no local on shared", 5,
	    "82 L 0001 [] s'$share/g/a' 04", PROTO },
	{ "SUBSCRIBE shared", 5, "82 L 0001 [] s'$share/g/a' 01", OK },
	{ "SUBSCRIBE shared in 3.1.1", 4, "82 L 0001 s'$share/g/a/#' 01",
	    OK },
	{ "SUBSCRIBE bad shared", 4, "82 L 0001 s'$share/g' 01", MAL },
	{ "SUBSCRIBE empty filter", 4, "82 L 0001 0000 00", MAL },
	{ "SUBSCRIBE # not last", 4, "82 L 0001 s'a/#/b' 00", MAL },
	{ "SUBSCRIBE + in a level", 4, "82 L 0001 s'a/b+' 00", MAL },
	{ "SUBSCRIBE second filter bad", 4,
	    "82 L 0001 s'a' 00 s'b#' 00", MAL },
	{ "SUBSCRIBE filter not UTF-8", 4, "82 L 0001 0002 c0af 00", MAL },
	{ "SUBSCRIBE subscription id", 5, "82 L 0001 [ 0b 7f ] s'a' 00", OK },
	{ "SUBSCRIBE subscription id max", 5,
	    "82 L 0001 [ 0b ffffff7f ] s'a' 00", OK },
	{ "SUBSCRIBE subscription id 0", 5, "82 L 0001 [ 0b 00 ] s'a' 00",
	    PROTO },
	{ "SUBSCRIBE two subscription ids", 5,
	    "82 L 0001 [ 0b 01 0b 02 ] s'a' 00", PROTO },
	{ "SUBSCRIBE topic alias", 5, "82 L 0001 [ 23 0001 ] s'a' 00", MAL },
	{ "SUBSCRIBE without properties", 5, "82 L 0001 s'a' 00", MAL },

	/* UNSUBSCRIBE. */
	{ "UNSUBSCRIBE", 4, "a2 L 0001 s'a/+' s'#'", OK },
	{ "UNSUBSCRIBE no filter", 4, "a2 L 0001", PROTO },
	{ "UNSUBSCRIBE no filter in 5.0", 5, "a2 L 0001 []", PROTO },
	{ "UNSUBSCRIBE packet id 0", 4, "a2 L 0000 s'a'", PROTO },
	{ "UNSUBSCRIBE bad filter", 4, "a2 L 0001 s'a#'", MAL },
	{ "UNSUBSCRIBE truncated", 4, "a2 L 0001 0002 'a'", MAL },
	{ "UNSUBSCRIBE user property", 5, "a2 L 0001 [ 26 s'a' s'b' ] s'x'",
	    OK },
	{ "UNSUBSCRIBE subscription id", 5, "a2 L 0001 [ 0b 01 ] s'x'", MAL },

	/* SUBACK, UNSUBACK. */
	{ "SUBACK", 4, "90 L 0001 00 01 02 80", OK },
	{ "SUBACK no return code", 4, "90 L 0001", PROTO },
	{ "SUBACK return code 3", 4, "90 L 0001 03", PROTO },
	{ "5.0 SUBACK", 5, "90 L 0001 [] 00 01 02 80 87 8f 9e a1 a2", OK },
	{ "5.0 SUBACK bad reason code", 5, "90 L 0001 [] 11", PROTO },
	{ "5.0 SUBACK packet id 0", 5, "90 L 0000 [] 00", PROTO },
	{ "UNSUBACK", 4, "b0 02 0001", OK },
	{ "UNSUBACK too long", 4, "b0 03 0001 00", MAL },
	{ "5.0 UNSUBACK", 5, "b0 L 0001 [] 00 11 80 87 8f", OK },
	{ "5.0 UNSUBACK no reason code", 5, "b0 L 0001 []", PROTO },
	{ "5.0 UNSUBACK bad reason code", 5, "b0 L 0001 [] 01", PROTO },

	/* DISCONNECT. */
	{ "DISCONNECT", 4, "e0 00", OK },
	{ "DISCONNECT with a body in 3.1.1", 4, "e0 01 00", MAL },
	{ "DISCONNECT empty in 5.0", 5, "e0 00", OK },
	{ "DISCONNECT with will", 5, "e0 01 04", OK },
	{ "DISCONNECT with reason string", 5, "e0 L 00 [ 1f s'bye' ]", OK },
	{ "DISCONNECT bad reason code", 5, "e0 01 01", PROTO },
	{ "DISCONNECT session expiry", 5, "e0 L 00 [ 11 0000003c ]", OK },
	{ "DISCONNECT server reference", 5, "e0 L 9c [ 1c s'other' ]", OK },
	{ "DISCONNECT topic alias", 5, "e0 L 00 [ 23 0001 ]", MAL },
	{ "DISCONNECT property past end", 5, "e0 03 00 05 1f", MAL },

	/* AUTH. */
	{ "AUTH empty", 5, "f0 00", OK },
	{ "AUTH continue", 5,
	    "f0 L 18 [ 15 s'SCRAM' 16 0002 0102 ]", OK },
	{ "AUTH re-authenticate", 5, "f0 L 19 [ 15 s'SCRAM' ]", OK },
	{ "AUTH bad reason code", 5, "f0 01 80", PROTO },
	{ "AUTH data without method", 5, "f0 L 18 [ 16 0000 ]", PROTO },
	{ "AUTH method twice", 5, "f0 L 18 [ 15 s'a' 15 s'a' ]", PROTO },
	{ "AUTH session expiry", 5, "f0 L 18 [ 11 00000000 ]", MAL },
};

static void
test_codec_cases(void)
{
	struct mqtt_packet	 pkt;
	struct buf		 b = BUF_INIT;
	const char		*why;
	enum mqtt_rc		 rc;
	size_t			 i;

	for (i = 0; i < sizeof(codec_cases) / sizeof(codec_cases[0]); i++) {
		spec_bytes(&b, codec_cases[i].spec);
		why = NULL;
		rc = mqtt_decode(b.data, b.len, codec_cases[i].proto, &pkt,
		    &why);
		if (rc != codec_cases[i].rc)
			fprintf(stderr, "case '%s': rc 0x%02x (%s), "
			    "want 0x%02x\n", codec_cases[i].name, rc,
			    why ? why : "-", codec_cases[i].rc);
		CU_ASSERT_EQUAL(rc, codec_cases[i].rc);
		if (rc != MQTT_RC_SUCCESS)
			CU_ASSERT_PTR_NOT_NULL(why);
		mqtt_packet_clear(&pkt);
	}
	buf_free(&b);
}

/* Each property id in each packet type: allowed, or malformed. */
static void
test_codec_prop_table(void)
{
	/* MQTT 5.0 table 2-4, written out again independently. */
	static const struct {
		uint8_t		 id;
		const char	*value;
		const char	*types;	/* letters of the packets */
	} t[] = {
		{ 0x01, "01", "PW" },
		{ 0x02, "00000001", "PW" },
		{ 0x03, "s'x'", "PW" },
		{ 0x08, "s'x'", "PW" },
		{ 0x09, "s'x'", "PW" },
		{ 0x0b, "01", "PS" },
		{ 0x11, "00000001", "CcD" },
		{ 0x12, "s'x'", "c" },
		{ 0x13, "0001", "c" },
		{ 0x15, "s'x'", "CcA" },
		{ 0x16, "s'x'", "" },	/* needs a method: checked apart */
		{ 0x17, "01", "C" },
		{ 0x18, "00000001", "W" },
		{ 0x19, "01", "C" },
		{ 0x1a, "s'x'", "c" },
		{ 0x1c, "s'x'", "cD" },
		{ 0x1f, "s'x'", "cakqmsuDA" },
		{ 0x21, "0001", "Cc" },
		{ 0x22, "0001", "Cc" },
		{ 0x23, "0001", "P" },
		{ 0x24, "01", "c" },
		{ 0x25, "01", "c" },
		{ 0x26, "s'k' s'v'", "CWcPakqmSsUuDA" },
		{ 0x27, "00000001", "Cc" },
		{ 0x28, "01", "c" },
		{ 0x29, "01", "c" },
		{ 0x2a, "01", "c" },
		{ 0x00, "01", "" },
		{ 0x04, "01", "" },
		{ 0x2b, "01", "" },
		{ 0x7f, "01", "" },
	};
	/* Packet templates: %s is the property block's contents. */
	static const struct {
		char		 letter;
		uint8_t		 proto;
		const char	*fmt;
	} pk[] = {
		{ 'C', 0, "10 L s'MQTT' 05 02 003c [ %s ] s'c'" },
		{ 'W', 0, "10 L s'MQTT' 05 06 003c [] s'c' [ %s ] s'w' s'x'" },
		{ 'c', 5, "20 L 0000 [ %s ]" },
		{ 'P', 5, "30 L s'a' [ %s ] 'x'" },
		{ 'a', 5, "40 L 0001 00 [ %s ]" },
		{ 'k', 5, "50 L 0001 00 [ %s ]" },
		{ 'q', 5, "62 L 0001 00 [ %s ]" },
		{ 'm', 5, "70 L 0001 00 [ %s ]" },
		{ 'S', 5, "82 L 0001 [ %s ] s'a' 00" },
		{ 's', 5, "90 L 0001 [ %s ] 00" },
		{ 'U', 5, "a2 L 0001 [ %s ] s'a'" },
		{ 'u', 5, "b0 L 0001 [ %s ] 00" },
		{ 'D', 5, "e0 L 00 [ %s ]" },
		{ 'A', 5, "f0 L 18 [ %s ]" },
	};
	struct mqtt_packet	 pkt;
	struct buf		 b = BUF_INIT;
	char			 prop[64], spec[256];
	const char		*why;
	enum mqtt_rc		 rc, want;
	size_t			 i, j;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (j = 0; j < sizeof(pk) / sizeof(pk[0]); j++) {
			snprintf(prop, sizeof(prop), "%02x %s", t[i].id,
			    t[i].value);
			snprintf(spec, sizeof(spec), pk[j].fmt, prop);
			spec_bytes(&b, spec);
			want = strchr(t[i].types, pk[j].letter) != NULL ?
			    MQTT_RC_SUCCESS : MQTT_RC_MALFORMED_PACKET;
			/* Allowed, but an error without a method. */
			if (t[i].id == MQTT_PROP_AUTHENTICATION_DATA &&
			    strchr("CcA", pk[j].letter) != NULL)
				want = MQTT_RC_PROTOCOL_ERROR;
			rc = mqtt_decode(b.data, b.len, pk[j].proto, &pkt,
			    &why);
			if (rc != want)
				fprintf(stderr, "property 0x%02x in %c: rc "
				    "0x%02x (%s)\n", t[i].id, pk[j].letter, rc,
				    rc ? why : "-");
			CU_ASSERT_EQUAL(rc, want);
			mqtt_packet_clear(&pkt);
		}
	}
	buf_free(&b);
}

static void
test_codec_names(void)
{
	CU_ASSERT_STRING_EQUAL(mqtt_type_name(MQTT_PUBLISH), "PUBLISH");
	CU_ASSERT_STRING_EQUAL(mqtt_type_name(MQTT_AUTH), "AUTH");
	CU_ASSERT_STRING_EQUAL(mqtt_type_name(0), "RESERVED");
	CU_ASSERT_STRING_EQUAL(mqtt_type_name(99), "UNKNOWN");
	CU_ASSERT_STRING_EQUAL(mqtt_rc_name(MQTT_RC_MALFORMED_PACKET),
	    "malformed packet");
	CU_ASSERT_STRING_EQUAL(mqtt_rc_name(0x03), "unknown reason code");
	CU_ASSERT_EQUAL(mqtt_rc_to_v3_connack(MQTT_RC_SUCCESS),
	    MQTT_V3_ACCEPTED);
	CU_ASSERT_EQUAL(mqtt_rc_to_v3_connack(
	    MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION),
	    MQTT_V3_REFUSED_PROTOCOL_VERSION);
	CU_ASSERT_EQUAL(mqtt_rc_to_v3_connack(MQTT_RC_CLIENT_ID_NOT_VALID),
	    MQTT_V3_REFUSED_IDENTIFIER_REJECTED);
	CU_ASSERT_EQUAL(mqtt_rc_to_v3_connack(MQTT_RC_SERVER_UNAVAILABLE),
	    MQTT_V3_REFUSED_SERVER_UNAVAILABLE);
	CU_ASSERT_EQUAL(mqtt_rc_to_v3_connack(MQTT_RC_SERVER_BUSY),
	    MQTT_V3_REFUSED_SERVER_UNAVAILABLE);
	CU_ASSERT_EQUAL(mqtt_rc_to_v3_connack(
	    MQTT_RC_BAD_USERNAME_OR_PASSWORD),
	    MQTT_V3_REFUSED_BAD_USERNAME_PASSWORD);
	CU_ASSERT_EQUAL(mqtt_rc_to_v3_connack(MQTT_RC_NOT_AUTHORIZED),
	    MQTT_V3_REFUSED_NOT_AUTHORIZED);
	CU_ASSERT_EQUAL(mqtt_rc_to_v3_connack(MQTT_RC_BANNED),
	    MQTT_V3_REFUSED_NOT_AUTHORIZED);
}

/* A refused CONNECT still tells the broker which version to answer in. */
static void
test_codec_connect_level_kept(void)
{
	struct mqtt_packet	 pkt;
	struct buf		 b = BUF_INIT;
	const char		*why;

	spec_bytes(&b, "10 L s'MQTT' 06 02 003c s'c'");
	CU_ASSERT_EQUAL(mqtt_decode(b.data, b.len, 0, &pkt, &why),
	    MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION);
	CU_ASSERT_EQUAL(pkt.type, MQTT_CONNECT);
	CU_ASSERT_EQUAL(pkt.u.connect.proto_level, 6);
	mqtt_packet_clear(&pkt);
	spec_bytes(&b, "10 L s'MQTT' 05 03 003c [] s'c'");
	CU_ASSERT_EQUAL(mqtt_decode(b.data, b.len, 0, &pkt, &why),
	    MQTT_RC_MALFORMED_PACKET);
	CU_ASSERT_EQUAL(pkt.u.connect.proto_level, MQTT_PROTO_V5);
	mqtt_packet_clear(&pkt);
	/* why may be NULL. */
	CU_ASSERT_EQUAL(mqtt_decode(b.data, b.len, 0, &pkt, NULL),
	    MQTT_RC_MALFORMED_PACKET);
	mqtt_packet_clear(&pkt);
	buf_free(&b);
}

/* Every prefix of a valid packet (with a fixed-up length) is refused. */
static void
test_codec_truncations(void)
{
	static const struct {
		uint8_t		 proto;
		const char	*body;	/* after the first byte */
		uint8_t		 byte0;
		size_t		 min_ok;	/* shorter bodies that decode */
	} t[] = {
		{ 0, "s'MQTT' 05 c6 003c [ 11 00000001 26 s'k' s'v' ] s'cid' "
		    "[ 18 00000002 ] s'w/t' s'wp' s'user' s'pass'", 0x10, 0 },
		{ 0, "s'MQIsdp' 03 c6 003c s'cid' s'w/t' s'wp' s'user' "
		    "s'pass'", 0x10, 0 },
		{ 5, "s'a/b' 0007 [ 01 01 0b 05 26 s'k' s'v' ]", 0x32, 0 },
		{ 5, "0001 [ 0b 05 ] s'b/#' 01", 0x82, 0 },
		{ 4, "0001 s'b/#'", 0xa2, 0 },
		{ 5, "0001 [ 1f s'r' ] 00 01", 0x90, 8 },
	};
	struct mqtt_packet	 pkt;
	struct buf		 body = BUF_INIT, b = BUF_INIT;
	const char		*why;
	size_t			 i, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		spec_bytes(&body, t[i].body);
		for (n = 0; n <= body.len; n++) {
			buf_reset(&b);
			buf_add_u8(&b, t[i].byte0);
			spec_varint(&b, n);
			buf_add(&b, body.data, n);
			if (n == body.len) {
				CU_ASSERT_EQUAL(mqtt_decode(b.data, b.len,
				    t[i].proto, &pkt, &why), MQTT_RC_SUCCESS);
			} else if (t[i].min_ok > 0 && n >= t[i].min_ok) {
				/* SUBACK with fewer codes still decodes. */
			} else {
				if (mqtt_decode(b.data, b.len, t[i].proto, &pkt,
				    &why) == MQTT_RC_SUCCESS)
					fprintf(stderr, "prefix %zu of case "
					    "%zu decoded\n", n, i);
				CU_ASSERT_NOT_EQUAL(mqtt_decode(b.data, b.len,
				    t[i].proto, &pkt, &why), MQTT_RC_SUCCESS);
			}
			mqtt_packet_clear(&pkt);
		}
	}
	buf_free(&body);
	buf_free(&b);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_codec_varint),
		UNIT_TEST(test_codec_frame),
		UNIT_TEST(test_codec_utf8),
		UNIT_TEST(test_codec_topic_name),
		UNIT_TEST(test_codec_topic_filter),
		UNIT_TEST(test_codec_cases),
		UNIT_TEST(test_codec_prop_table),
		UNIT_TEST(test_codec_names),
		UNIT_TEST(test_codec_connect_level_kept),
		UNIT_TEST(test_codec_truncations),
		UNIT_END
	};

	return (unit_run("mqtt_codec", tests));
}
