#!/usr/bin/env bash
# Tears down the local GlusterFS geo-replication lab started by up.sh, idempotently: works when
# the lab is up, half-up (an up.sh that failed midway) or already down.
#   stops + deletes the lab's geo-rep sessions, stops + deletes gvprimary/gvsecondary, unmounts
#   /mnt/gvprimary and /mnt/gvsecondary, removes the bricks, stops gsyncd, glusterfsd, glusterd
#   and the lab's sshd, removes the geo-rep command= keys from root's authorized_keys.
# Usage: down.sh [--keep-packages] [--keep-glusterd]
#   --keep-packages  (default, and the only behaviour) packages are never uninstalled
#   --keep-glusterd  leave glusterd running (it is also left running, with a note, when it
#                    manages volumes that are not the lab's)
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PV=${LAB_PRIMARY_VOL:-gvprimary}
SV=${LAB_SECONDARY_VOL:-gvsecondary}
BRICK_ROOT=${LAB_BRICK_ROOT:-/bricks}
PM=${LAB_PRIMARY_MOUNT:-/mnt/gvprimary}
SM=${LAB_SECONDARY_MOUNT:-/mnt/gvsecondary}
STATE=/run/runbook-lab
GLUSTERD_DIR=/var/lib/glusterd
KEEP_GLUSTERD=0
ARGS=("$@")
while (($#)); do
    case "$1" in
        --keep-packages) ;;
        --keep-glusterd) KEEP_GLUSTERD=1 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "down.sh: unknown argument: $1" >&2; exit 64 ;;
    esac
    shift
done

T0=$(date +%s)
say() { printf '[lab down %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { printf '[lab down %4ss] ERROR: %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; exit 1; }
g()  { timeout 60 gluster --mode=script "$@"; }
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

[ "$(id -u)" -eq 0 ] || die "must run as root"
mkdir -p "$STATE"
# One lab script at a time (exit 75 when another one holds the lock for 15 minutes).
if [ -z "${RUNBOOK_LAB_LOCKED:-}" ]; then
    # flock -o: the lock fd is closed before the script runs, so the daemons it starts do not
    # inherit (and hold) the lock.
    RUNBOOK_LAB_LOCKED=1 exec flock -o -w 900 -E 75 "$STATE/lock" bash "${BASH_SOURCE[0]}" "${ARGS[@]}"
fi

H=$(hostname)
have_gluster=0; command -v gluster >/dev/null 2>&1 && have_gluster=1
glusterd_up() { ((have_gluster)) && pgrep -x glusterd >/dev/null && g pool list >/dev/null 2>&1; }
VOLRE="($PV|$SV)"

# pids whose command line (NUL -> space) matches the extended regex $1; never this script.
pids_matching() {
    local d pid cmd
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
        cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
        [ -n "$cmd" ] && [[ $cmd =~ $1 ]] && echo "$pid"
    done
    return 0
}
# stop_pids WHAT PID...: SIGTERM, wait up to 10 s, then SIGKILL.
stop_pids() {
    local what=$1; shift
    (($#)) || return 0
    say "  stopping $what (pid $*)"
    kill -TERM "$@" 2>/dev/null || true
    local end=$(( $(date +%s) + 10 )) alive
    while :; do
        alive=(); for p in "$@"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
        ((${#alive[@]})) || return 0
        (( $(date +%s) < end )) || break
        sleep 1
    done
    say "  $what still alive after 10 s: SIGKILL ${alive[*]}"
    kill -KILL "${alive[@]}" 2>/dev/null || true
}

# ---------------------------------------------------------------- 1. sessions
say "step 1/7: geo-rep sessions involving $PV / $SV"
if glusterd_up; then
    # all sessions: "<primary volume> <secondary url>"
    sessions=$(timeout 60 gluster --mode=script --xml volume geo-replication status 2>/dev/null | /usr/bin/python3 -c '
import sys, xml.etree.ElementTree as ET
try: root = ET.fromstring(sys.stdin.read())
except Exception: sys.exit(0)
seen = set()
for v in root.iter("volume"):
    for p in v.iter("pair"):
        s = (v.findtext("name") or "", (p.findtext("secondary") or p.findtext("slave") or "").strip())
        if s not in seen: seen.add(s); print(*s)
' || true)
    n=0
    while read -r pvol sec; do
        [ -n "$pvol" ] || continue
        sec=${sec#ssh://}; sec=${sec#*@}  # the all-sessions status says ssh://[user@]host::vol
        if [[ $pvol =~ ^$VOLRE$ ]] || [[ ${sec##*::} =~ ^$VOLRE$ ]]; then
            n=$((n + 1))
            say "  gluster volume geo-replication $pvol $sec stop force; ... delete"
            g volume geo-replication "$pvol" "$sec" stop force >/dev/null 2>&1 || true
            g volume geo-replication "$pvol" "$sec" delete >/dev/null 2>&1 \
                || say "  (delete of $pvol -> $sec failed; its state is removed in step 6)"
        fi
    done <<<"$sessions"
    ((n)) || say "  none"
else
    say "  glusterd is not running: nothing to ask (leftover state is removed in step 6)"
fi

# ---------------------------------------------------------------- 2. mounts
say "step 2/7: unmounting"
for mp in "$PM" "$SM"; do
    if awk -v mp="$mp" '$2==mp {f=1} END {exit !f}' /proc/mounts; then
        say "  umount $mp"
        timeout 30 umount "$mp" 2>/dev/null || timeout 30 umount -l "$mp" || die "cannot unmount $mp"
    fi
done
# gsyncd's aux mounts of the lab volumes, if any are visible here
awk '$3=="fuse.glusterfs" {print $1, $2}' /proc/mounts | while read -r src mp; do
    if [[ ${src#*:} =~ ^/?$VOLRE$ ]]; then
        say "  umount -l $mp ($src)"
        timeout 30 umount -l "$mp" 2>/dev/null || true
    fi
done
say "  done"

# ---------------------------------------------------------------- 3. volumes
say "step 3/7: volumes"
for v in "$SV" "$PV"; do
    if glusterd_up && g volume info "$v" >/dev/null 2>&1; then
        say "  gluster volume stop $v force; gluster volume delete $v"
        g volume stop "$v" force >/dev/null 2>&1 || true
        g volume delete "$v" >/dev/null 2>&1 || say "  (delete of $v failed; its state is removed in step 6)"
    fi
done

# ---------------------------------------------------------------- 4. processes of the lab volumes
say "step 4/7: leftover lab processes (bricks, gsyncd, FUSE clients)"
stop_pids "brick processes" $(pids_matching "glusterfsd .*--volfile-id $VOLRE\\.")
stop_pids "gsyncd workers" $(pids_matching "gsyncd.* .*$VOLRE")
stop_pids "FUSE clients" $(pids_matching "^/?[a-z/]*glusterfs .*--volfile-id[= ]/?$VOLRE ")

# ---------------------------------------------------------------- 5. glusterd, sshd
say "step 5/7: glusterd and the lab's sshd"
others=""
if [ -d "$GLUSTERD_DIR/vols" ]; then
    others=$(find "$GLUSTERD_DIR/vols" -mindepth 1 -maxdepth 1 -type d ! -name "$PV" ! -name "$SV" -printf '%f ' 2>/dev/null || true)
fi
stopped_glusterd=0
gd_pids=$(pgrep -x glusterd || true)
if [ -z "$gd_pids" ]; then
    say "  glusterd is not running"
    stopped_glusterd=1
elif ((KEEP_GLUSTERD)); then
    say "  --keep-glusterd: leaving glusterd running"
elif [ -n "$others" ]; then
    say "  leaving glusterd running: it also manages non-lab volumes: $others"
else
    # shellcheck disable=SC2086
    stop_pids glusterd $gd_pids
    stopped_glusterd=1
    # self-heal/quota daemons glusterd may have spawned for the lab (none for 1-brick volumes)
    stop_pids "glusterd helper daemons" $(pids_matching "glusterfs .*--volfile-id (gluster/glustershd|gluster/quotad|gluster/bitd|gluster/scrub) ")
fi
rm -f "$STATE/glusterd.pid"
if [ -f "$STATE/sshd.pid" ]; then
    p=$(cat "$STATE/sshd.pid")
    if [ -n "$p" ] && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = sshd ]; then
        stop_pids "the lab's sshd" "$p"
    else
        say "  the lab's sshd is not running"
    fi
    rm -f "$STATE/sshd.pid"
else
    say "  no sshd started by the lab (an sshd that was already on port 22 is left alone)"
fi

# ---------------------------------------------------------------- 6. state on disk
say "step 6/7: bricks and leftover gluster state"
for v in "$PV" "$SV"; do
    if [ -e "$BRICK_ROOT/$v" ]; then say "  rm -rf $BRICK_ROOT/$v"; rm -rf "${BRICK_ROOT:?}/$v"; fi
done
rmdir "$BRICK_ROOT" 2>/dev/null || true
leftover=()
for v in "$PV" "$SV"; do [ -e "$GLUSTERD_DIR/vols/$v" ] && leftover+=("$GLUSTERD_DIR/vols/$v"); done
for d in "$GLUSTERD_DIR"/geo-replication/"$PV"_* "$GLUSTERD_DIR"/geo-replication/"$SV"_* \
         "$GLUSTERD_DIR"/geo-replication-secondaries/"$PV"_* "$GLUSTERD_DIR"/geo-replication-secondaries/"$SV"_*; do
    [ -e "$d" ] && leftover+=("$d")
done
if ((${#leftover[@]})); then
    if ((stopped_glusterd)) && ! pgrep -x glusterd >/dev/null; then
        say "  removing leftover state (glusterd is stopped): ${leftover[*]}"
        rm -rf "${leftover[@]}"
    elif [ -e "$GLUSTERD_DIR/vols/$PV" ] || [ -e "$GLUSTERD_DIR/vols/$SV" ]; then
        die "glusterd still runs and still knows a lab volume; stop it and re-run down.sh"
    else
        rm -rf "${leftover[@]}"   # session files only; glusterd no longer lists the session
    fi
fi
for mp in "$PM" "$SM"; do rmdir "$mp" 2>/dev/null || true; done
rm -f "$LAB_DIR/inventory.generated.yaml"

# ---------------------------------------------------------------- 7. authorized_keys
say "step 7/7: geo-rep keys in /root/.ssh/authorized_keys"
ak=/root/.ssh/authorized_keys
if [ -f "$ak" ] && [ -z "$others" ] && grep -qE '^command="(.*gsyncd"|tar \$\{SSH_ORIGINAL_COMMAND)' "$ak"; then
    # the same cleanup glusterfs's own tests do (tests/geo-rep.rc); root's own key stays
    grep -vE '^command="(.*gsyncd"|tar \$\{SSH_ORIGINAL_COMMAND)' "$ak" >"$STATE/ak.tmp" || true
    cat "$STATE/ak.tmp" >"$ak"; rm -f "$STATE/ak.tmp"
    say "  removed the command=\"...gsyncd\" / command=\"tar ...\" lines"
else
    say "  nothing to remove"
fi

left=$(pids_matching "(glusterfsd .*--volfile-id $VOLRE\\.|gsyncd.* .*$VOLRE)" | xargs)
[ -z "$left" ] || die "lab processes still running: $left"
say "lab is DOWN in $(( $(date +%s) - T0 ))s (packages kept)"
