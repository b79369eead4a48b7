#!/bin/bash
# Installs into a temporary DESTDIR as a distribution package would (PREFIX=/usr), checks the
# result with systemd's own tools, runs a job with the installed binaries, then uninstalls and
# checks that nothing is left. Run as root (private mount namespaces); CI runs it after the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

dest=$(mktemp -d /tmp/trainingd-install.XXXXXX)
daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
    rm -rf "$dest"
}
trap cleanup EXIT
fail() { echo "check-install: $*" >&2; exit 1; }

make install DESTDIR="$dest" PREFIX=/usr
units="$dest/usr/lib/systemd/system"

# 1. The units, as systemd reads them. ExecStart names /usr/sbin/trainingd: in a private mount
#    namespace the installed /usr/sbin stands in for the host's, so verify checks the real binary.
#    Verify exits 0 on settings it merely ignores, so any output at all is a failure.
report=$(unshare --mount --propagation private sh -c \
    "mount --bind '$dest/usr/sbin' /usr/sbin && MANPATH='$dest/usr/share/man' systemd-analyze verify '$units/trainingd.service' '$units/trainingd.socket'" 2>&1) \
    || fail "systemd-analyze verify failed: $report"
[ -z "$report" ] || fail "systemd-analyze verify reported: $report"
echo "systemd-analyze verify: trainingd.service and trainingd.socket are clean"

# 2. sysusers, then tmpfiles (which needs the group to exist in the root).
systemd-sysusers --root="$dest" "$dest/usr/lib/sysusers.d/trainingd.conf"
grep -q '^trainingd:' "$dest/etc/group" || fail "systemd-sysusers created no group trainingd"
grep -q '^trainingd-job:' "$dest/etc/passwd" || fail "systemd-sysusers created no user trainingd-job"
systemd-tmpfiles --root="$dest" --create "$dest/usr/lib/tmpfiles.d/trainingd.conf"
for expected in "1777 var/spool/trainingd/incoming" "700 var/lib/trainingd/state" "755 var/lib/trainingd/jobs" \
    "755 var/log/trainingd" "755 run/trainingd" "755 opt/ml" "755 etc/trainingd/algorithms"; do
    path=${expected#* }
    mode=$(stat -c %a "$dest/$path" 2>/dev/null) || fail "systemd-tmpfiles did not create /$path"
    [ "$mode" = "${expected%% *}" ] || fail "/$path has mode $mode, expected ${expected%% *}"
done
echo "systemd-sysusers and systemd-tmpfiles: accepted"

# 3. The installed binaries run a job (the daemon finds its keeper in libexec).
root="$dest/smoke"
"$dest/usr/sbin/trainingd" --root "$root" 2>"$dest/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do [ -S "$root/control.sock" ] && break; sleep 0.1; done
[ -S "$root/control.sock" ] || fail "the installed daemon did not start: $(cat "$dest/daemon.log")"
cat > "$dest/job.json" <<JOB
{"TrainingJobName": "installed", "AlgorithmSpecification": {"TrainingImage": "/bin/true", "TrainingInputMode": "File",
 "ContainerEntrypoint": ["/bin/true"]}, "OutputDataConfig": {"S3OutputPath": "file://$dest/output/"},
 "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1}, "StoppingCondition": {"MaxRuntimeInSeconds": 60}}
JOB
timeout 60 "$dest/usr/bin/jobctl" --root "$root" submit --wait "$dest/job.json" || fail "the job failed: $(cat "$dest/daemon.log")"
timeout 30 "$dest/usr/bin/jobctl" --root "$root" drain >/dev/null
daemon_pid=""
echo "installed binaries: a job completed"

# 4. Uninstall leaves nothing of the package behind.
make uninstall DESTDIR="$dest" PREFIX=/usr
left=$(find "$dest/usr" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
[ ! -e "$dest/etc/trainingd/trainingd.conf" ] || fail "make uninstall left the unchanged configuration"
echo "make uninstall: nothing left"
