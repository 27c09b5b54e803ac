#!/usr/bin/env bash
# The rsync the lab's geo-rep workers use, per node, without touching the machine's: for trying
# what Debian's rsync security update does to geo-replication (GlusterFS issue 4533).
# Usage: rsync.sh broken|pinned|status
#   broken  downloads rsync BROKEN_VERSION's .deb (apt-get download, once, into /var/cache/runbook-lab),
#           unpacks it (dpkg -x) and bind-mounts its /usr/bin/rsync over /usr/bin/rsync inside
#           every node's mount namespace only: the machine, and so the controller, keep the pinned
#           one. The running workers start rsync anew for every batch, so the next batch uses it,
#           as after an unattended upgrade on a site (no session restart). Files the sessions copy
#           then arrive EMPTY on the secondary while rsync exits 0.
#   pinned  removes the bind mounts: every node runs the machine's pinned rsync again, from the
#           next batch on.
#   status  prints each node's `rsync --version` first line.
set -euo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$LAB_DIR/lib.sh"
BROKEN_VERSION=${BROKEN_VERSION:-3.5.0+ds1-0+deb12u1}
CACHE=/var/cache/runbook-lab
UNPACKED=$CACHE/rsync-$BROKEN_VERSION
[ "$(id -u)" -eq 0 ] || { echo "rsync.sh: must run as root" >&2; exit 1; }
case "${1:-}" in
broken)
    if [ ! -x "$UNPACKED/usr/bin/rsync" ]; then
        mkdir -p "$CACHE"
        deb=$(ls "$CACHE"/rsync_"${BROKEN_VERSION//:/%3a}"_*.deb 2>/dev/null | head -1 || true)
        if [ -z "$deb" ]; then (cd "$CACHE" && apt-get download "rsync=$BROKEN_VERSION" >/dev/null 2>&1) || { echo "rsync.sh: apt-get download rsync=$BROKEN_VERSION failed" >&2; exit 1; }; fi
        deb=$(ls "$CACHE"/rsync_*"${BROKEN_VERSION#*:}"_*.deb | head -1)
        rm -rf "$UNPACKED.tmp"; mkdir -p "$UNPACKED.tmp"; dpkg -x "$deb" "$UNPACKED.tmp"; rm -rf "$UNPACKED"; mv "$UNPACKED.tmp" "$UNPACKED"
    fi
    for n in "${LAB_NODES[@]}"; do
        in_node "$n" sh -c "grep -q ' /usr/bin/rsync ' /proc/mounts || mount --bind '$UNPACKED/usr/bin/rsync' /usr/bin/rsync"
        echo "rsync.sh: $n: $(in_node "$n" rsync --version | head -1)"
    done
    ;;
pinned)
    for n in "${LAB_NODES[@]}"; do
        while in_node "$n" grep -q ' /usr/bin/rsync ' /proc/mounts; do in_node "$n" umount /usr/bin/rsync; done
        echo "rsync.sh: $n: $(in_node "$n" rsync --version | head -1)"
    done
    ;;
status)
    for n in "${LAB_NODES[@]}"; do echo "$n: $(in_node "$n" rsync --version | head -1)"; done
    ;;
*) echo "usage: rsync.sh broken|pinned|status" >&2; exit 64 ;;
esac
