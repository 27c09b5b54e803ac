#!/usr/bin/env bash
# The lab's health is replication: for every session (LAB_SESSIONS in lib.sh), in parallel,
#   1. a new marker file (with content) and a second one are written on the primary's mount
#      (/mnt/PRIMARY, root namespace), and the markers an earlier check left are deleted;
#   2. once the secondary's mount (/mnt/SECONDARY) shows both new files byte for byte and the old
#      ones gone, the first is renamed and the second deleted on the primary;
#   3. until the secondary shows the rename (same content) and the delete.
# Each wait is bounded (HEALTH_WAIT seconds, 90 by default). The renamed marker stays, in
# .rbl-health/ at the volume's top (the next check deletes it). Prints one line per session with
# the seconds each change took; exit 0 when every session replicated all of them, 1 otherwise
# (naming the session and the change that did not arrive).
# Usage: health.sh [--quiet]   (root; the lab up: up.sh runs it as its last step)
set -uo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$LAB_DIR/lib.sh"
QUIET=0; [ "${1:-}" = --quiet ] && QUIET=1
LIMIT=${HEALTH_WAIT:-90}
T0=$(date +%s)
say() { ((QUIET)) || printf '[lab health %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }

# until_true SECONDS CMD...: 0 when CMD succeeds within SECONDS (polls every second).
until_true() {
    local end=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do (( $(date +%s) < end )) || return 1; sleep 1; done
}
same() { timeout 10 cmp -s "$1" "$2"; }
gone() { ! timeout 10 stat "$1" >/dev/null 2>&1; }
shows_new() { same "$1/$3.w" "$2/$3.w" && same "$1/$3.d" "$2/$3.d" && for o in $4; do gone "$2/$o" || return 1; done; }
shows_moved() { same "$1/$3.r" "$2/$3.r" && gone "$2/$3.w" && gone "$2/$3.d"; }

why() {   # why PRIMARY-DIR SECONDARY-DIR NAME...: what the secondary shows of each marker
    local p=$1 q=$2 name out=(); shift 2
    for name in "$@"; do
        if gone "$q/$name"; then out+=("$name missing on the secondary")
        elif same "$p/$name" "$q/$name"; then out+=("$name arrived")
        else out+=("$name arrived with other content ($(stat -c %s "$q/$name" 2>/dev/null) bytes on the secondary, $(stat -c %s "$p/$name" 2>/dev/null) on the primary; empty files with rsync's exit 0 are GlusterFS issue 4533: check the nodes' rsync version)")
        fi
    done
    local IFS=';'; echo "${out[*]}"
}

check() {   # check PRIMARY SECONDARY
    local pm=/mnt/$1/.rbl-health sm=/mnt/$2/.rbl-health id t1 t2 old=()
    id=m-$(date +%s)-$$-$RANDOM
    timeout 20 mkdir -p "$pm" || { echo "$1 -> $2: FAILED: cannot write on the primary's mount /mnt/$1"; return 1; }
    local f; for f in "$pm"/*; do [ -e "$f" ] && old+=("${f##*/}"); done
    local start; start=$(date +%s)
    head -c 4096 /dev/urandom | base64 >"$pm/$id.w" && echo "$id delete me" >"$pm/$id.d" \
        && { ((${#old[@]} == 0)) || (cd "$pm" && rm -f -- "${old[@]}"); } \
        || { echo "$1 -> $2: FAILED: cannot write the markers on /mnt/$1"; return 1; }
    until_true "$LIMIT" shows_new "$pm" "$sm" "$id" "${old[*]}" \
        || { echo "$1 -> $2: FAILED within ${LIMIT}s: $(why "$pm" "$sm" "$id.w" "$id.d")${old[*]:+ (and the deletion of ${old[*]})}"; return 1; }
    t1=$(( $(date +%s) - start )); start=$(date +%s)
    mv "$pm/$id.w" "$pm/$id.r" && rm -f "$pm/$id.d" || { echo "$1 -> $2: FAILED: rename/delete on /mnt/$1"; return 1; }
    until_true "$LIMIT" shows_moved "$pm" "$sm" "$id" \
        || { echo "$1 -> $2: FAILED within ${LIMIT}s: the rename $id.w -> $id.r or the delete of $id.d did not reach the secondary: $(why "$pm" "$sm" "$id.r")"; return 1; }
    t2=$(( $(date +%s) - start ))
    echo "$1 -> $2: replicates: new files (and deletes) in ${t1}s, a rename and a delete in ${t2}s"
}

pids=(); outs=()
for pair in "${LAB_SESSIONS[@]}"; do
    read -r pv sv <<<"$pair"
    out=$(mktemp); outs+=("$out")
    check "$pv" "$sv" >"$out" 2>&1 &
    pids+=($!)
done
rc=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || rc=1
    say "$(cat "${outs[$i]}")"
    ((QUIET)) && ((rc)) && cat "${outs[$i]}" >&2
    rm -f "${outs[$i]}"
done
exit "$rc"
