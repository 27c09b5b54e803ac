#!/usr/bin/env bash
# CI entry point for the GlusterFS geo-replication lab (see README.md next to this file).
# For `bash .ci/run` as root on a fresh machine, with no stdin:
#   - always starts from a clean lab (up.sh --fresh: runs down.sh first), because a machine
#     handed over from a session may still have a lab that runbook tests left failed over;
#   - bounded (20 minutes; a normal run takes well under a minute plus the apt-get install);
#   - on failure prints the logs that say why, and exits non-zero.
# On success the lab is up and Examples/lab/inventory.generated.yaml exists; .ci/run then exports
#   RUNBOOK_LAB=1 RUNBOOK_LAB_INVENTORY=<repo>/Examples/lab/inventory.generated.yaml
# Usage: ci-up.sh [--no-fresh]
set -uo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fresh=(--fresh)
[ "${1:-}" = --no-fresh ] && fresh=()
export DEBIAN_FRONTEND=noninteractive

echo "ci-up: bringing up the GlusterFS geo-rep lab (up.sh ${fresh[*]})"
timeout 1200 bash "$LAB_DIR/up.sh" "${fresh[@]}" </dev/null
rc=$?
if [ "$rc" -eq 0 ] && [ -s "$LAB_DIR/inventory.generated.yaml" ]; then
    echo "ci-up: lab is up; inventory: $LAB_DIR/inventory.generated.yaml"
    exit 0
fi

echo "ci-up: the lab did NOT come up (up.sh exit $rc); diagnostics follow" >&2
show() { [ -f "$1" ] && { echo "----- tail -40 $1" >&2; tail -40 "$1" >&2; }; }
show /var/log/runbook-lab/apt.log
show /var/log/glusterfs/glusterd.log
for f in /var/log/glusterfs/bricks/*.log /var/log/glusterfs/geo-replication/*/gsyncd.log \
         /var/log/glusterfs/geo-replication-secondaries/*/gsyncd.log /var/log/runbook-lab/sshd.log; do
    show "$f"
done
echo "----- processes" >&2
ps -eo pid,ppid,etime,args 2>/dev/null | grep -E 'gluster|gsyncd|sshd' | grep -v grep | cut -c1-200 >&2
echo "----- gluster volume geo-replication status" >&2
timeout 60 gluster --mode=script volume geo-replication status >&2 2>&1 || true
exit "$(( rc == 0 ? 1 : rc ))"
