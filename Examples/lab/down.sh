#!/usr/bin/env bash
# Tears down the two-site lab started by up.sh, idempotently (lab up, half-up, frozen, down or
# already gone): unmounts the lab's FUSE mounts in the root namespace, ends every node's
# namespaces (their first process; everything in them dies: glusterd, bricks, gsyncd, sshd,
# their mounts), removes the veths, the bridge, the fences site.sh added, the /etc/hosts block,
# the generated inventory and the state (pid files in /run/runbook-lab, node state, bricks and
# keys in /var/lib/runbook-lab). Packages are never uninstalled.
# Usage: down.sh [--keep-state]
#   --keep-state   keep /var/lib/runbook-lab (volumes, session, keys): the next up.sh reuses them
set -euo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$LAB_DIR/lib.sh"
KEEP=0; ARGS=("$@")
while (($#)); do
    case "$1" in
        --keep-state) KEEP=1 ;;
        --keep-packages) ;;   # the default and only behaviour
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "down.sh: unknown argument: $1" >&2; exit 64 ;;
    esac
    shift
done
T0=$(date +%s)
say() { printf '[lab down %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { printf '[lab down %4ss] ERROR: %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root"
lab_lock "${BASH_SOURCE[0]}" "${ARGS[@]}"

# 1. Root-namespace mounts of the lab volumes: lazy unmount (never waits on a lost site), then
#    their glusterfs client processes (matched on the mount point, by pid).
say "step 1/5: root-namespace mounts"
for mp in "$PM" "$SM" "$PM2" "$SM2"; do
    if awk -v mp="$mp" '$2==mp {f=1} END {exit !f}' /proc/mounts; then
        say "  umount -l $mp"; umount -l "$mp" || die "cannot unmount $mp"
    fi
done
# One pass over /proc for the four mount points (a pass costs seconds on a loaded machine).
rootns=$(readlink /proc/self/ns/pid)   # the root namespace: this script's own (pid 1 may not be readable)
for d in /proc/[0-9]*; do
    [ "$(readlink "$d/ns/pid" 2>/dev/null)" = "$rootns" ] || continue
    cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue   # 2> first: the process may be gone
    for mp in "$PM" "$SM" "$PM2" "$SM2"; do
        case "$cmd" in *glusterfs*" $mp "|*glusterfs*" $mp") say "  killing the FUSE client of $mp (pid ${d#/proc/})"; kill -KILL "${d#/proc/}" 2>/dev/null || true ;; esac
    done
done

# 2. Nodes: SIGKILL to each namespace's first process ends the whole PID namespace (frozen
#    processes included). Bounded wait until every process of it is gone.
say "step 2/5: node namespaces"
for n in "${LAB_NODES[@]}"; do
    p=$(node_pid "$n")
    if [ -z "$p" ]; then say "  $n: not running"; continue; fi
    mapfile -t procs < <(node_processes "$n")
    say "  $n: ending its namespaces (pid $p, ${#procs[@]} processes)"
    kill -KILL "$p" 2>/dev/null || true
    end=$(( $(date +%s) + 20 ))
    while :; do
        left=0; for q in "${procs[@]}"; do [ -e "/proc/$q" ] && [ "$(awk '/^State:/{print $2}' /proc/"$q"/status 2>/dev/null)" != Z ] && left=$((left + 1)); done
        ((left == 0)) && break
        (( $(date +%s) < end )) || die "$n: $left processes still alive 20 s after SIGKILL to pid $p"
        sleep 0.5
    done
    u=$(cat "$STATE/nodes/$n.unshare.pid" 2>/dev/null || true)
    [ -n "$u" ] && kill -KILL "$u" 2>/dev/null || true
done
rm -rf "$STATE/nodes"

# 3. Network: veths (gone with their namespaces, but a half-made one may be left), bridge, fences.
say "step 3/5: veths, bridge $LAB_BRIDGE, unreachable routes"
for n in "${LAB_NODES[@]}"; do
    ip link del "${LAB_VETH[$n]}" 2>/dev/null && say "  deleted ${LAB_VETH[$n]}" || true
    ip route del unreachable "${LAB_ADDR[$n]}/32" 2>/dev/null && say "  removed the fence route to ${LAB_ADDR[$n]}" || true
done
ip link del "$LAB_BRIDGE" 2>/dev/null && say "  deleted bridge $LAB_BRIDGE" || true
rm -f "$STATE"/site-*.down "$STATE"/site-*.frozen

# 4. Names.
say "step 4/5: /etc/hosts block"
if grep -q '^# BEGIN runbook-lab' /etc/hosts; then
    sed '/^# BEGIN runbook-lab/,/^# END runbook-lab/d' /etc/hosts >/etc/hosts.runbook-lab.tmp
    cat /etc/hosts.runbook-lab.tmp >/etc/hosts; rm -f /etc/hosts.runbook-lab.tmp
    say "  removed"
fi

# 5. Files.
say "step 5/5: generated inventory and state"
rm -f "$LAB_DIR/inventory.generated.yaml" "$LAB_DIR/inventory.two-sessions.generated.yaml" "$STATE/clients" "$STATE/ssh-check"
if ((KEEP)); then
    say "  --keep-state: $VARDIR kept"
else
    rm -rf "$VARDIR" && say "  removed $VARDIR (node state, bricks, keys)"
fi
say "lab is DOWN in $(( $(date +%s) - T0 ))s"
