#!/bin/bash
# SPDX-License-Identifier: MIT
# Passwords and ACLs (issue 6): allow_anonymous off, a password file made
# by `ternctl passwd`, right and wrong passwords and unknown users with
# both versions' CONNACK codes and log lines; acl_file allow and deny on
# PUBLISH (5.0: 0x87; 3.1.1: acked and dropped), SUBSCRIBE (0x87 / 0x80),
# wills and delivery (partly allowed subscriptions); a SIGHUP that changes
# the ACL and the passwords under live connections (issue 7) without
# dropping them; mosquitto_pub/sub with a password.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_listeners.sh"

is_mosquitto && skip "Tern's password file and counters"

PASSWD_FILE=$TEST_DIR/passwd
ACL_FILE=$TEST_DIR/acl
make_passwd "$PASSWD_FILE" alice secret bob hunter2
ACL_FILE=$ACL_FILE "$PY" "$PYDIR/t62_auth.py" write-acl ||
    fail "cannot write the ACL"

start_node a "allow_anonymous = off" "password_file = $PASSWD_FILE" \
    "acl_file = $ACL_FILE"
grep -q "auth: $PASSWD_FILE: 2 users" "$NODE_LOG" ||
    fail "password file not loaded"

# Real clients first.
mqtt_sub_bg "$TEST_DIR/sub.out" -t 'alice/#' -q 1 -u bob -P hunter2 \
    -i sub62
wait_for 10 metric_above subscribes 0
mosquitto_pub -h 127.0.0.1 -p "$NODE_PORT" -u alice -P secret -q 1 \
    -t alice/hello -m one || fail "mosquitto_pub with a password"
wait_for 10 has_lines "$TEST_DIR/sub.out" 1
if mosquitto_pub -h 127.0.0.1 -p "$NODE_PORT" -u alice -P wrong -q 1 \
    -t alice/hello -m two 2>"$TEST_DIR/pub-wrong.err"; then
	fail "mosquitto_pub with a wrong password succeeded"
fi
grep -qi "not authori[sz]ed\|bad user" "$TEST_DIR/pub-wrong.err" ||
    log "mosquitto_pub said: $(cat "$TEST_DIR/pub-wrong.err")"

MQTTD_PID=$(daemon_pid mqttd)
export NODE_PORT NODE_CONF NODE_LOG TERNCTL MQTTD_PID ACL_FILE PASSWD_FILE
run_py t62_auth.py || fail "python cases"

# The subscriber of the start lived through the reloads.
kill -0 "$SUB_PID" || fail "mosquitto_sub died"
mosquitto_pub -h 127.0.0.1 -p "$NODE_PORT" -u alice -P secret -q 1 \
    -t alice/hello -m three || fail "mosquitto_pub after the reloads"
wait_for 10 has_lines "$TEST_DIR/sub.out" 2
[ "$(daemon_pid mqttd)" = "$MQTTD_PID" ] || fail "mqttd restarted"
pass
