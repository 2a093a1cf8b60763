#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus of fuzz_mqtt_decode (tests/fuzz/corpus/mqtt_decode):
# valid packets of every type and protocol version, and some tricky ones.
# Files are named seed-*; crash reproducers (crash-*) are kept apart.
import os
import struct
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def s(x):
    if isinstance(x, str):
        x = x.encode()
    return struct.pack(">H", len(x)) + x


def pkt(byte0, body):
    return bytes([byte0]) + varint(len(body)) + body


def props(*items):
    body = b"".join(items)
    return varint(len(body)) + body


def p_byte(i, v):
    return bytes([i, v])


def p_u16(i, v):
    return bytes([i]) + struct.pack(">H", v)


def p_u32(i, v):
    return bytes([i]) + struct.pack(">I", v)


def p_var(i, v):
    return bytes([i]) + varint(v)


def p_str(i, v):
    return bytes([i]) + s(v)


def p_user(k, v):
    return b"\x26" + s(k) + s(v)


def connect(level, flags=0x02, cid="client-1", props_=b"", will=None,
            user=None, password=None, name=None):
    if name is None:
        name = "MQIsdp" if level == 3 else "MQTT"
    if will is not None:
        flags |= 0x04
    if user is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    body = s(name) + bytes([level, flags]) + struct.pack(">H", 60)
    if level == 5:
        body += props_ if props_ else props()
    body += s(cid)
    if will is not None:
        wprops, topic, payload = will
        if level == 5:
            body += wprops if wprops else props()
        body += s(topic) + s(payload)
    if user is not None:
        body += s(user)
    if password is not None:
        body += s(password)
    return pkt(0x10, body)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "mqtt_decode")
    os.makedirs(out, exist_ok=True)
    seeds = {}
    all_connect = props(p_u32(0x11, 3600), p_u16(0x21, 20), p_u32(0x27, 65536),
                        p_u16(0x22, 10), p_byte(0x19, 1), p_byte(0x17, 0),
                        p_user("k", "v"), p_str(0x15, "SCRAM"),
                        bytes([0x16]) + s(b"\x00\x01"))
    will_props = props(p_u32(0x18, 5), p_byte(0x01, 1), p_u32(0x02, 30),
                       p_str(0x03, "text/plain"), p_str(0x08, "resp/t"),
                       bytes([0x09]) + s(b"corr"), p_user("a", "b"))
    seeds["v31-connect"] = connect(3, cid="c31", user="u", password="p")
    seeds["v311-connect"] = connect(4)
    seeds["v311-connect-will-auth"] = connect(
        4, flags=0x02 | 0x08 | 0x20, will=(None, "will/t", "bye"),
        user="user", password=b"\x00\xffpw")
    seeds["v311-connect-empty-id"] = connect(4, cid="")
    seeds["v5-connect"] = connect(5)
    seeds["v5-connect-full"] = connect(
        5, flags=0x02 | 0x10, props_=all_connect,
        will=(will_props, "will/t", b"\x01\x02"), user="u", password="p")
    seeds["v5-connect-password-only"] = connect(5, password="p")
    seeds["bad-connect-proto-6"] = connect(4, name="MQTT")[:8] + b"\x06" + \
        connect(4)[9:]
    seeds["bad-connect-reserved"] = connect(4, flags=0x03)
    seeds["bad-connect-will-qos3"] = connect(4, flags=0x1A,
                                             will=(None, "w", "x"))
    seeds["v311-connack"] = pkt(0x20, b"\x01\x00")
    seeds["v311-connack-refused"] = pkt(0x20, b"\x00\x05")
    seeds["v5-connack-full"] = pkt(0x20, b"\x00\x00" + props(
        p_u32(0x11, 10), p_str(0x12, "auto-1"), p_u16(0x13, 30),
        p_str(0x1A, "info"), p_str(0x1C, "other:1883"),
        p_str(0x1F, "ok"), p_u16(0x21, 100), p_u16(0x22, 5),
        p_byte(0x24, 1), p_byte(0x25, 1), p_u32(0x27, 1 << 20),
        p_byte(0x28, 1), p_byte(0x29, 1), p_byte(0x2A, 0),
        p_user("x", "y")))
    seeds["v5-connack-refused"] = pkt(0x20, b"\x00\x87" + props())
    seeds["v311-publish-q0"] = pkt(0x30, s("a/b") + b"hello")
    seeds["v311-publish-q1-retain"] = pkt(0x33, s("a/b") + b"\x00\x01" +
                                         b"payload")
    seeds["v311-publish-q2-dup"] = pkt(0x3C, s("a/b/c") + b"\x12\x34")
    seeds["v31-publish-q0-dup"] = pkt(0x38, s("x") + b"!")
    seeds["v5-publish-props"] = pkt(0x32, s("t/1") + b"\x00\x07" + props(
        p_byte(0x01, 1), p_u32(0x02, 60), p_str(0x03, "json"),
        p_str(0x08, "reply/1"), bytes([0x09]) + s(b"\x00id"),
        p_u16(0x23, 3), p_user("k1", "v1"), p_var(0x0B, 1),
        p_var(0x0B, 268435455), p_user("k2", "v2")) + b"{}")
    seeds["v5-publish-alias-only"] = pkt(0x30, s("") + props(p_u16(0x23, 1))
                                         + b"x")
    seeds["v5-publish-utf8-topic"] = pkt(
        0x30, s("caf\u00e9/\u6f22/\U0001F600".encode()) + props() + b"")
    seeds["bad-publish-wildcard"] = pkt(0x30, s("a/+") + b"x")
    seeds["bad-publish-surrogate"] = pkt(0x30, s(b"\xed\xa0\x80") + b"x")
    seeds["bad-publish-qos3"] = pkt(0x36, s("a") + b"\x00\x01")
    for name, t in (("puback", 0x40), ("pubrec", 0x50), ("pubrel", 0x62),
                    ("pubcomp", 0x70)):
        seeds["v311-" + name] = pkt(t, b"\x00\x2a")
        seeds["v5-" + name + "-short"] = pkt(t, b"\x00\x2a")
        rc = b"\x92" if name in ("pubrel", "pubcomp") else b"\x10"
        seeds["v5-" + name + "-rc"] = pkt(t, b"\x00\x2a" + rc)
        seeds["v5-" + name + "-props"] = pkt(t, b"\x00\x2a" + rc + props(
            p_str(0x1F, "why"), p_user("a", "b")))
    seeds["v311-subscribe"] = pkt(0x82, b"\x00\x01" + s("a/+/c") + b"\x01" +
                                  s("#") + b"\x02" + s("$share/g/x") +
                                  b"\x00")
    seeds["v5-subscribe"] = pkt(0x82, b"\x00\x02" + props(
        p_var(0x0B, 77), p_user("s", "t")) + s("a/#") + b"\x2e" +
        s("$share/grp/+") + b"\x19")
    seeds["bad-subscribe-empty"] = pkt(0x82, b"\x00\x01")
    seeds["bad-subscribe-filter"] = pkt(0x82, b"\x00\x01" + s("a/#/b") +
                                        b"\x00")
    seeds["v311-unsubscribe"] = pkt(0xA2, b"\x00\x03" + s("a/+") + s("b"))
    seeds["v5-unsubscribe"] = pkt(0xA2, b"\x00\x03" + props(
        p_user("u", "v")) + s("a/+"))
    seeds["v311-suback"] = pkt(0x90, b"\x00\x01\x00\x01\x02\x80")
    seeds["v5-suback"] = pkt(0x90, b"\x00\x01" + props(p_str(0x1F, "r")) +
                             b"\x00\x01\x02\x80\x87\x8f\x9e\xa1\xa2")
    seeds["v311-unsuback"] = pkt(0xB0, b"\x00\x01")
    seeds["v5-unsuback"] = pkt(0xB0, b"\x00\x01" + props() + b"\x00\x11")
    seeds["pingreq"] = pkt(0xC0, b"")
    seeds["pingresp"] = pkt(0xD0, b"")
    seeds["disconnect"] = pkt(0xE0, b"")
    seeds["v5-disconnect-rc"] = pkt(0xE0, b"\x04")
    seeds["v5-disconnect-props"] = pkt(0xE0, b"\x8e" + props(
        p_u32(0x11, 0), p_str(0x1F, "taken over"), p_str(0x1C, "srv"),
        p_user("a", "b")))
    seeds["v5-auth"] = pkt(0xF0, b"")
    seeds["v5-auth-props"] = pkt(0xF0, b"\x18" + props(
        p_str(0x15, "SCRAM-SHA-1"), bytes([0x16]) + s(b"\x01\x02"),
        p_str(0x1F, "more")))
    seeds["frame-max-varint"] = b"\x30\xff\xff\xff\x7f"
    seeds["frame-5-byte-varint"] = b"\x30\xff\xff\xff\xff\x01"
    seeds["frame-non-minimal"] = b"\xc0\x80\x00"
    seeds["stream-connect-publish-disconnect"] = (
        connect(4) + pkt(0x30, s("a") + b"1") + pkt(0xE0, b""))
    seeds["v5-stream"] = (connect(5) + pkt(0x82, b"\x00\x01" + props() +
                          s("x") + b"\x01") + pkt(0xE0, b"\x00"))
    seeds["v5-publish-interleaved-user"] = pkt(0x30, s("t") + props(
        p_user("a", "1"), p_u32(0x02, 10), p_user("b", "2"),
        p_byte(0x01, 0), p_var(0x0B, 300), p_str(0x03, "c"),
        p_user("c", "3")) + b"x")
    seeds["v5-connect-long-props"] = connect(5, props_=props(
        *[p_user("key%d" % i, "value%d" % i) for i in range(20)]))
    seeds["v5-publish-33-sub-ids"] = pkt(0x30, s("t") + props(
        *[p_var(0x0B, i + 1) for i in range(33)]))
    seeds["v5-publish-32-sub-ids"] = pkt(0x30, s("t") + props(
        *[p_var(0x0B, 1000 + i) for i in range(32)]))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
