#!/bin/bash
# SPDX-License-Identifier: MIT
# TLS listeners (issue 6) with a CA this test makes (openssl req):
# mosquitto_pub/sub over TLS 1.2 and 1.3 (--tls-version), Python ssl
# clients for exact checks (versions, large messages, a plain client on
# the TLS port, a cut handshake), require_certificate with the
# certificate's CN as username (and the ACL applied to it), clients
# without or with a foreign certificate refused, and a certificate reload
# on SIGHUP while a TLS connection stays up.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_listeners.sh"

is_mosquitto && skip "Tern's listener.ssl keys"
command -v openssl >/dev/null || skip "no openssl"

CA=$TEST_DIR/ca
make_ca "$CA"

# Node a: TLS without client certificates, plus plain TCP.
SPORT=$(free_port)
start_node a "listener.ssl.default = 127.0.0.1:$SPORT" \
    "listener.ssl.certfile = $CA/server.crt" \
    "listener.ssl.keyfile = $CA/server.key" \
    "listener.ssl.cafile = $CA/ca.crt"
grep -q "listening on 127.0.0.1:$SPORT (ssl.default)" "$NODE_LOG" ||
    fail "no TLS listener"

tls_sub() {
	setsid stdbuf -oL mosquitto_sub -h localhost -p "$SPORT" \
	    --cafile "$CA/ca.crt" "$@" >>"$TEST_DIR/tls-sub.out" \
	    2>>"$TEST_DIR/mosquitto_sub.log" </dev/null &
	_PIDS="$_PIDS $!"
}
tls_sub -t tls/m -q 1 -i tsub -V mqttv311
wait_for 10 metric_above subscribes 0
for v in tlsv1.2 tlsv1.3; do
	for i in 1 2 3; do
		mosquitto_pub -h localhost -p "$SPORT" --cafile "$CA/ca.crt" \
		    --tls-version "$v" -q 1 -t tls/m -m "$v-$i" ||
		    fail "mosquitto_pub over $v"
	done
done
# 5.0 over TLS too.
mosquitto_pub -h localhost -p "$SPORT" --cafile "$CA/ca.crt" -V mqttv5 \
    -q 1 -t tls/m -m "v5" || fail "mosquitto_pub 5.0 over TLS"
wait_for 10 has_lines "$TEST_DIR/tls-sub.out" 7
for v in tlsv1.2 tlsv1.3; do
	grep -qx "$v-3" "$TEST_DIR/tls-sub.out" || fail "nothing over $v"
done
# A client that does not trust the server's CA is refused by itself; a
# TLS client on the plain port fails; both leave the broker serving.
if mosquitto_pub -h localhost -p "$SPORT" \
    --cafile "$CA/rogue.crt" -q 1 -t tls/m -m no 2>/dev/null; then
	fail "mosquitto_pub trusted a server it should not"
fi
if mosquitto_pub -h localhost -p "$NODE_PORT" --cafile "$CA/ca.crt" \
    -q 1 -t tls/m -m no 2>/dev/null; then
	fail "TLS on the plain port worked"
fi

MQTTD_PID=$(daemon_pid mqttd)
export MQTTD_PID NODE_LOG
run_py t60_tls.py open "$SPORT" "$CA" || fail "python cases (open)"
metric_above tls_handshakes 10 || fail "tls_handshakes did not move"
metric_above tls_failures 0 || fail "tls_failures did not move"

# Certificate reload: a new server certificate from the same CA.
(
	cd "$CA" || exit 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout server2.key -out server2.csr \
	    -subj "/O=Tern reloaded/CN=localhost" 2>/dev/null || exit 1
	openssl x509 -req -in server2.csr -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -out server2.crt -days 2 -extfile san.ext \
	    2>/dev/null || exit 1
	# Key first: a reload between the two renames fails and keeps the
	# old pair, it never mixes them.
	mv server2.key server.key && mv server2.crt server.crt
) || fail "new certificate"
run_py t60_tls.py reload "$SPORT" "$CA" || fail "python cases (reload)"
# The mosquitto_sub of the start lived through it all.
mosquitto_pub -h localhost -p "$SPORT" --cafile "$CA/ca.crt" -q 1 \
    -t tls/m -m after-reload || fail "mosquitto_pub after reload"
wait_for 10 has_lines "$TEST_DIR/tls-sub.out" 8
grep -qx after-reload "$TEST_DIR/tls-sub.out" || fail "after reload"
check_logs

# A broken certificate file on SIGHUP keeps the working one.
cp "$CA/server.crt" "$CA/server.crt.good"
echo "not a certificate" >"$CA/server.crt"
mqttd_hup
grep -q "keeping the previous certificates" "$NODE_LOG" ||
    fail "no log line for a bad certificate"
mosquitto_pub -h localhost -p "$SPORT" --cafile "$CA/ca.crt" -q 1 \
    -t tls/m -m bad-reload || fail "TLS after a failed reload"
mv "$CA/server.crt.good" "$CA/server.crt"

# Node b: client certificates required, their CN is the username.
SPORT=$(free_port)
cat >"$TEST_DIR/acl" <<ACL
user client1
topic readwrite c1/#
ACL
start_node b "listener.ssl.default = 127.0.0.1:$SPORT" \
    "listener.ssl.certfile = $CA/server.crt" \
    "listener.ssl.keyfile = $CA/server.key" \
    "listener.ssl.cafile = $CA/ca.crt" \
    "listener.ssl.require_certificate = on" \
    "listener.ssl.use_identity_as_username = on" \
    "allow_anonymous = off" "acl_file = $TEST_DIR/acl"
run_py t60_tls.py strict "$SPORT" "$CA" || fail "python cases (strict)"
: >"$TEST_DIR/tls-sub.out"
tls_sub -t c1/m -q 1 -i csub --cert "$CA/client1.crt" \
    --key "$CA/client1.key"
wait_for 10 metric_above subscribes 1
mosquitto_pub -h localhost -p "$SPORT" --cafile "$CA/ca.crt" \
    --cert "$CA/client1.crt" --key "$CA/client1.key" -q 1 -t c1/m \
    -m with-cert || fail "mosquitto_pub with a client certificate"
wait_for 10 has_lines "$TEST_DIR/tls-sub.out" 1
if mosquitto_pub -h localhost -p "$SPORT" --cafile "$CA/ca.crt" -q 1 \
    -t c1/m -m without-cert 2>/dev/null; then
	fail "mosquitto_pub without a client certificate worked"
fi
pass
