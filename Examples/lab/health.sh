#!/usr/bin/env bash
# The lab's health is replication: for every session (LAB_SESSIONS in lib.sh), in parallel, on the
# primary's mount (/mnt/PRIMARY, root namespace), in .rbl-health/ at the volume's top:
#   - a new marker file X.w (with content) and a second one X.d are written;
#   - the last check's W.w (created then, never renamed, on the secondary by now) is renamed to
#     W.r, and everything else the last check left is deleted;
#   - until the secondary's mount (/mnt/SECONDARY) shows the new files byte for byte, the rename
#     (same content) and the deletes.
# All of it goes in one changelog rollover, so a check takes one rollover plus a sync (write, then
# rename and delete took two). Without a W.w from a last check (a new lab, a failed check), two
# rounds: the new files, then their rename and a delete (and a new W.w for the next check).
# (Only a file created, never renamed, is renamed: on 2026-12-07 a file that was itself the result
# of a rename and was renamed again sometimes kept its old name on the secondary too.)
# Each wait is bounded (HEALTH_WAIT seconds, 90 by default). Prints one line per session with the
# seconds it took; exit 0 when every session replicated every change, 1 otherwise (naming the
# session and the change that did not arrive).
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

shows() {   # shows PRIMARY-DIR SECONDARY-DIR "FILES THAT MUST MATCH" "FILES THAT MUST BE GONE"
    local f
    for f in $3; do same "$1/$f" "$2/$f" || return 1; done
    for f in $4; do gone "$2/$f" || return 1; done
}

check() {   # check PRIMARY SECONDARY
    local pm=/mnt/$1/.rbl-health sm=/mnt/$2/.rbl-health id start t1 t2 f w="" rest=()
    id=m-$(date +%s)-$$-$RANDOM
    timeout 20 mkdir -p "$pm" || { echo "$1 -> $2: FAILED: cannot write on the primary's mount /mnt/$1"; return 1; }
    for f in "$pm"/*; do
        [ -e "$f" ] || continue
        f=${f##*/}
        if [ -z "$w" ] && [ "${f%.w}" != "$f" ] && same "$pm/$f" "$sm/$f"; then w=${f%.w}; else rest+=("$f"); fi
    done
    start=$(date +%s)
    head -c 4096 /dev/urandom | base64 >"$pm/$id.w" && echo "$id delete me" >"$pm/$id.d" \
        || { echo "$1 -> $2: FAILED: cannot write the markers on /mnt/$1"; return 1; }
    if [ -n "$w" ] && ((${#rest[@]} > 0)); then
        # One round: the new files, the rename of the last check's X.w (a file created, never
        # renamed, already on the secondary) and the deletion of everything else it left.
        mv "$pm/$w.w" "$pm/$w.r" && (cd "$pm" && rm -f -- "${rest[@]}") \
            || { echo "$1 -> $2: FAILED: rename/delete on /mnt/$1"; return 1; }
        until_true "$LIMIT" shows "$pm" "$sm" "$id.w $id.d $w.r" "$w.w ${rest[*]}" \
            || { echo "$1 -> $2: FAILED within ${LIMIT}s: $(why "$pm" "$sm" "$id.w" "$id.d" "$w.r")$( for f in "$w.w" "${rest[@]}"; do gone "$sm/$f" || printf '; %s not deleted on the secondary' "$f"; done)"; return 1; }
        t1=$(( $(date +%s) - start ))
        echo "$1 -> $2: replicates: new files, a rename and deletes in ${t1}s"
        return 0
    fi
    # Two rounds (nothing usable from a last check): the new files (and the deletion of whatever
    # is there), then their rename and a delete, with a new X.w for the next check.
    { ((${#rest[@]} == 0)) && [ -z "$w" ] || (cd "$pm" && rm -f -- "${rest[@]}" ${w:+"$w.w"}); } \
        || { echo "$1 -> $2: FAILED: delete on /mnt/$1"; return 1; }
    until_true "$LIMIT" shows "$pm" "$sm" "$id.w $id.d" "${rest[*]} ${w:+$w.w}" \
        || { echo "$1 -> $2: FAILED within ${LIMIT}s: $(why "$pm" "$sm" "$id.w" "$id.d")${rest[*]:+ (and the deletion of ${rest[*]})}"; return 1; }
    t1=$(( $(date +%s) - start )); start=$(date +%s)
    local next=$id-n
    head -c 2048 /dev/urandom | base64 >"$pm/$next.w" && mv "$pm/$id.w" "$pm/$id.r" && rm -f "$pm/$id.d" \
        || { echo "$1 -> $2: FAILED: rename/delete on /mnt/$1"; return 1; }
    until_true "$LIMIT" shows "$pm" "$sm" "$id.r $next.w" "$id.w $id.d" \
        || { echo "$1 -> $2: FAILED within ${LIMIT}s: the rename $id.w -> $id.r or the delete of $id.d did not reach the secondary: $(why "$pm" "$sm" "$id.r" "$next.w")"; return 1; }
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
