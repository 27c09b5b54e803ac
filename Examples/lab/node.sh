#!/usr/bin/env bash
# Runs a command inside a lab node's namespaces (mount, UTS, net, PID), as root.
# Usage: node.sh gfs-a1|gfs-a2|gfs-b1 COMMAND [ARG]...
#   node.sh gfs-a1 gluster volume geo-replication gvprimary gfs-b1::gvsecondary status
#   node.sh gfs-b1 ls /mnt/gvsecondary        # the node's own mount of its volume
# (Over SSH instead: ssh -i /var/lib/runbook-lab/controller/id_ed25519 \
#   -o UserKnownHostsFile=/var/lib/runbook-lab/controller/known_hosts root@gfs-a1 ...)
set -euo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$LAB_DIR/lib.sh"
(($# >= 2)) || { echo "usage: node.sh NODE COMMAND [ARG]..." >&2; exit 64; }
n=$1; shift
[ -n "${LAB_ADDR[$n]:-}" ] || { echo "node.sh: unknown node '$n' (${LAB_NODES[*]})" >&2; exit 64; }
p=$(node_pid "$n")
[ -n "$p" ] || { echo "node.sh: node $n is not running (Examples/lab/up.sh)" >&2; exit 125; }
exec nsenter -t "$p" -m -u -n -p -- env PATH="$CLEAN_PATH" HOME=/root "$@"
