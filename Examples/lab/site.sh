#!/usr/bin/env bash
# Loses or regains a site of the two-site lab (see README.md). Idempotent.
# Usage: site.sh [--quiet] [--no-wait] down|freeze|up|status A|B|NODE
#   A or B is a whole site; a node name (gfs-a2) is that node alone: the rest of its site and the
#   other site lose it (e.g. one brick node of site A's replica down while glusterfind runs).
#   down    the site's links go down: its veths (root-namespace ends) are set down and its
#           addresses become `unreachable` routes in the root namespace and in the other site's
#           nodes, so connections to it fail at once with "No route to host". Its processes
#           keep running (glusterd, bricks, gsyncd continue where they are).
#   freeze  SIGSTOP to every process of the site's namespaces (glusterd, bricks, sshd, gsyncd,
#           FUSE clients): connections to it hang, as when a data center loses power. Do not
#           touch a mount of the site's volume meanwhile (it hangs too).
#   up      thaw (SIGCONT) and links up, fences removed; then waits (bounded, 60 s) until every
#           node of the site answers ssh and gluster again.
#   status  prints "A: up|down|frozen|down+frozen" (exit 0).
set -euo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$LAB_DIR/lib.sh"
QUIET=0; WAIT=1
while [ "${1:-}" = --quiet ] || [ "${1:-}" = --no-wait ]; do
    [ "$1" = --quiet ] && QUIET=1
    [ "$1" = --no-wait ] && WAIT=0   # up: do not wait for the site to answer (up.sh starts its daemons after)
    shift
done
ACTION=${1:-}; SITE=${2:-}
case "$ACTION" in down|freeze|up|status) ;; *) echo "usage: site.sh down|freeze|up|status A|B|NODE" >&2; exit 64 ;; esac
case "$SITE" in A|B) ;; *) [ -n "${LAB_ADDR[$SITE]:-}" ] || { echo "usage: site.sh down|freeze|up|status A|B|NODE (nodes: ${LAB_NODES[*]})" >&2; exit 64; } ;; esac
[ "$(id -u)" -eq 0 ] || { echo "site.sh: must run as root" >&2; exit 1; }
T0=$(date +%s)
say() { ((QUIET)) || printf '[lab site %s %4ss] %s\n' "$SITE" "$(( $(date +%s) - T0 ))" "$*"; }
die() { printf '[lab site %s %4ss] ERROR: %s\n' "$SITE" "$(( $(date +%s) - T0 ))" "$*" >&2; exit 1; }
mkdir -p "$STATE"
if [ "$SITE" = A ] || [ "$SITE" = B ]; then
    OTHER=$([ "$SITE" = A ] && echo B || echo A)
    mapfile -t NODES < <(site_nodes "$SITE")
    mapfile -t OTHERS < <(site_nodes "$OTHER")
else   # one node: every other node loses it, its own site's included
    NODES=("$SITE")
    OTHERS=()
    for n in "${LAB_NODES[@]}"; do [ "$n" = "$SITE" ] || OTHERS+=("$n"); done
fi
links_state() { [ -f "$STATE/site-$SITE.down" ] && echo down || echo up; }
frozen_state() { [ -f "$STATE/site-$SITE.frozen" ] && echo frozen || echo running; }

# ip route in a node's network namespace only (works while the node is frozen).
node_ip() { local p; p=$(node_pid "$1"); shift; [ -n "$p" ] && nsenter -t "$p" -n -- ip "$@"; }

signal_site() {   # signal_site STOP|CONT: every process of the site's PID namespaces, until stable
    local sig=$1 n p round pids
    for round in 1 2 3 4 5; do
        pids=()
        for n in "${NODES[@]}"; do mapfile -t -O "${#pids[@]}" pids < <(node_processes "$n"); done
        ((${#pids[@]})) || return 0
        kill -"$sig" "${pids[@]}" 2>/dev/null || true
        [ "$sig" = CONT ] && return 0
        # A process forked while we were signalling would still run: look again.
        local running=0
        for p in "${pids[@]}"; do
            st=$(awk '/^State:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo gone)
            case "$st" in T|t|Z|X|gone) ;; *) running=1 ;; esac
        done
        sleep 0.2
        local now=()
        for n in "${NODES[@]}"; do mapfile -t -O "${#now[@]}" now < <(node_processes "$n"); done
        ((running == 0)) && [ "${#now[@]}" = "${#pids[@]}" ] && { say "  SIGSTOP: ${#pids[@]} processes stopped"; return 0; }
    done
    die "processes of site $SITE keep appearing; could not freeze them all"
}

case "$ACTION" in
status)
    echo "$SITE: $( [ "$(links_state)" = down ] && echo down || echo up )$( [ "$(frozen_state)" = frozen ] && echo +frozen )"
    ;;
down)
    for n in "${NODES[@]}"; do
        ip link set "${LAB_VETH[$n]}" down 2>/dev/null || say "  (no link ${LAB_VETH[$n]}: node $n is not running)"
        ip route replace unreachable "${LAB_ADDR[$n]}/32"
        ip neigh flush to "${LAB_ADDR[$n]}" 2>/dev/null || true
        for o in "${OTHERS[@]}"; do node_ip "$o" route replace unreachable "${LAB_ADDR[$n]}/32" 2>/dev/null || true; done
    done
    # ...and the site's own nodes cannot reach the rest either (its links are down).
    for n in "${NODES[@]}"; do
        for o in "${OTHERS[@]}"; do node_ip "$n" route replace unreachable "${LAB_ADDR[$o]}/32" 2>/dev/null || true; done
        node_ip "$n" route replace unreachable "$LAB_BRIDGE_ADDR/32" 2>/dev/null || true
    done
    touch "$STATE/site-$SITE.down"
    say "site $SITE is DOWN: links ${NODES[*]} down, connections fail with No route to host"
    ;;
freeze)
    for n in "${NODES[@]}"; do [ -n "$(node_pid "$n")" ] || die "node $n is not running (up.sh first)"; done
    touch "$STATE/site-$SITE.frozen"
    signal_site STOP
    say "site $SITE is FROZEN (SIGSTOP): ${NODES[*]}; connections to it hang; do not touch its mounts"
    ;;
up)
    signal_site CONT          # also when no state file says frozen: SIGCONT is harmless
    rm -f "$STATE/site-$SITE.frozen"
    for n in "${NODES[@]}"; do
        rm -f "$STATE/site-$n.down" "$STATE/site-$n.frozen"   # a node taken away alone (site.sh down NODE)
        ip route del unreachable "${LAB_ADDR[$n]}/32" 2>/dev/null || true
        # Every other node, not only the other site's: `down NODE` fenced the node's own site too.
        for o in "${LAB_NODES[@]}"; do
            [ "$o" = "$n" ] && continue
            node_ip "$o" route del unreachable "${LAB_ADDR[$n]}/32" 2>/dev/null || true
            node_ip "$n" route del unreachable "${LAB_ADDR[$o]}/32" 2>/dev/null || true
        done
        node_ip "$n" route del unreachable "$LAB_BRIDGE_ADDR/32" 2>/dev/null || true
        if ip link show "${LAB_VETH[$n]}" >/dev/null 2>&1; then
            ip link set "${LAB_VETH[$n]}" master "$LAB_BRIDGE" up 2>/dev/null || true
        fi
    done
    rm -f "$STATE/site-$SITE.down"
    # Bounded wait until the site answers again (only when its nodes run: up.sh calls this early).
    answers() {
        local n
        for n in "${NODES[@]}"; do
            timeout 8 ssh -o BatchMode=yes -o ConnectTimeout=3 -o IdentitiesOnly=yes -i "$CTL_KEY" \
                -o UserKnownHostsFile="$CTL_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
                -o ControlMaster=no -o ControlPath=none "root@${LAB_ADDR[$n]}" \
                'timeout 5 gluster --mode=script pool list >/dev/null' </dev/null >/dev/null 2>&1 || return 1
        done
    }
    running=1; for n in "${NODES[@]}"; do [ -n "$(node_pid "$n")" ] || running=0; done
    if ((WAIT)) && ((running)) && [ -f "$CTL_KEY" ]; then
        wait_until 60 "site $SITE answering (ssh + gluster pool list on ${NODES[*]})" answers \
            || die "site $SITE does not answer 60 s after up"
    fi
    say "site $SITE is UP: ${NODES[*]} thawed, links up"
    ;;
esac
