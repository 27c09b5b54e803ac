#!/usr/bin/env bash
# CI entry point for the two-site GlusterFS lab (see README.md next to this file).
# For `bash .ci/run` as root on a fresh machine, with no stdin:
#   - always starts from a clean lab (up.sh --fresh: down.sh first), because a machine handed
#     over from a session may still have a lab that tests left failed over, frozen or down;
#   - bounded (20 minutes; a normal bring-up takes about a minute plus any apt-get install);
#   - on failure prints the logs that say why, and exits non-zero.
# On success the lab is up and Examples/lab/inventory.generated.yaml (one session) and
# inventory.two-sessions.generated.yaml (both) exist; .ci/run then exports
#   RUNBOOK_LAB=1 RUNBOOK_LAB_INVENTORY=<repo>/Examples/lab/inventory.generated.yaml
# Usage: ci-up.sh [--no-fresh]
set -uo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fresh=(--fresh)
[ "${1:-}" = --no-fresh ] && fresh=()
export DEBIAN_FRONTEND=noninteractive

echo "ci-up: bringing up the two-site GlusterFS geo-rep lab (up.sh ${fresh[*]})"
start=$(date +%s)
timeout 1200 bash "$LAB_DIR/up.sh" "${fresh[@]}" </dev/null
rc=$?
if [ "$rc" -eq 0 ] && [ -s "$LAB_DIR/inventory.generated.yaml" ] && [ -s "$LAB_DIR/inventory.two-sessions.generated.yaml" ]; then
    echo "ci-up: lab is up in $(( $(date +%s) - start ))s; inventories: $LAB_DIR/inventory.generated.yaml (one session), $LAB_DIR/inventory.two-sessions.generated.yaml (both; the two-session tests find it next to the first)"
    exit 0
fi

echo "ci-up: the lab did NOT come up (up.sh exit $rc); diagnostics follow" >&2
show() { [ -f "$1" ] && { echo "----- tail -40 $1" >&2; tail -40 "$1" >&2; }; }
show /var/log/runbook-lab/apt.log
for f in /var/log/runbook-lab/*.log /var/log/runbook-lab/*.out \
         /var/lib/runbook-lab/nodes/*/log/glusterd.log /var/lib/runbook-lab/nodes/*/log/bricks/*.log \
         /var/lib/runbook-lab/nodes/*/log/geo-replication/*/gsyncd.log; do
    show "$f"
done
echo "----- processes" >&2
ps -eo pid,ppid,etime,args 2>/dev/null | grep -E 'gluster|gsyncd|sshd|node-init' | grep -v grep | cut -c1-200 >&2
echo "----- network" >&2
ip -br link >&2; ip -br addr >&2
echo "----- geo-rep status on gfs-a1" >&2
timeout 60 bash "$LAB_DIR/node.sh" gfs-a1 gluster --mode=script volume geo-replication status >&2 2>&1 || true
exit "$(( rc == 0 ? 1 : rc ))"
