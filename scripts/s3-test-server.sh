#!/bin/sh
# The S3-compatible server the tests use: moto's server mode (scripts/test-tools.sh installs it)
# on a free port of 127.0.0.1, with signature checking on: its three unauthenticated calls make
# an IAM user, its access key and an allow-all policy, and every later request must be signed
# with that key (a wrong secret gets 403 SignatureDoesNotMatch, as from AWS).
#
#   scripts/s3-test-server.sh start   starts it and writes .build/test-tools/s3-server.env
#                                     (TRAININGD_TEST_S3_ENDPOINT, ..._ACCESS_KEY_ID, ..._SECRET_ACCESS_KEY)
#   scripts/s3-test-server.sh stop    stops it
#
# Tests use the server named in those variables, and start one of their own when none is set.
set -eu
cd "$(dirname "$0")/.."
tools=.build/test-tools/moto/bin
state=.build/test-tools/s3-server
case "${1:-}" in
start)
    [ -x "$tools/moto_server" ] || scripts/test-tools.sh
    port=$("$tools/python3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$state"
    # moto spills objects over 5 MiB to temporary files: on a tmpfs where there is one, so that
    # the server, a stand-in for a remote S3, does not share the disk with the jobs it serves
    # (a job's writeback slowed moto's spills, and with them the uploads being measured).
    spill=${TMPDIR:-/tmp}
    [ -d /dev/shm ] && [ -w /dev/shm ] && spill=/dev/shm
    TMPDIR=$spill INITIAL_NO_AUTH_ACTION_COUNT=3 nohup "$tools/moto_server" -H 127.0.0.1 -p "$port" > "$state/server.log" 2>&1 &
    echo $! > "$state/pid"
    "$tools/python3" - "$port" > "$state/key" <<'PY'
import boto3, json, sys, time
endpoint = "http://127.0.0.1:%s" % sys.argv[1]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
for attempt in range(200):
    try:
        iam.create_user(UserName="trainingd"); break
    except Exception:
        if attempt == 199: raise
        time.sleep(0.1)
key = iam.create_access_key(UserName="trainingd")["AccessKey"]
iam.put_user_policy(UserName="trainingd", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
print(key["AccessKeyId"], key["SecretAccessKey"])
PY
    read -r id secret < "$state/key"
    {
        echo "export TRAININGD_TEST_S3_ENDPOINT=http://127.0.0.1:$port"
        echo "export TRAININGD_TEST_S3_ACCESS_KEY_ID=$id"
        echo "export TRAININGD_TEST_S3_SECRET_ACCESS_KEY=$secret"
    } > .build/test-tools/s3-server.env
    echo "S3 test server (moto, signatures checked) on http://127.0.0.1:$port"
    ;;
stop)
    if [ -f "$state/pid" ]; then
        pid=$(cat "$state/pid")
        kill "$pid" 2>/dev/null || true
        # Werkzeug's server may take a moment; it gets 5 s, then SIGKILL.
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$state/pid"
    fi
    rm -f .build/test-tools/s3-server.env
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
