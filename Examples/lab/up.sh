#!/usr/bin/env bash
# Brings up the local GlusterFS 10.3 geo-replication lab on THIS machine (as root):
#   gvprimary  (brick $(hostname):/bricks/gvprimary)   mounted at /mnt/gvprimary
#   gvsecondary(brick $(hostname):/bricks/gvsecondary) mounted at /mnt/gvsecondary
#   session    gvprimary -> $(hostname)::gvsecondary (push-pem, change_detector xsync,
#              sync_method tarssh: lab-only settings, see README.md)
# Idempotent: re-running reuses what is healthy and repairs or cleans up what is not.
# Everything it starts is stopped by down.sh. See README.md next to this file.
#
# Usage: up.sh [--fresh] [--no-install] [--inventory-out FILE]
#   --fresh           run down.sh first (start from a clean lab)
#   --no-install      never call apt-get (fail if something is missing)
#   --inventory-out   where to write the generated inventory
#                     (default: Examples/lab/inventory.generated.yaml next to this script)
# Environment overrides (rarely needed): LAB_PRIMARY_VOL, LAB_SECONDARY_VOL, LAB_BRICK_ROOT,
#   LAB_PRIMARY_MOUNT, LAB_SECONDARY_MOUNT.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PV=${LAB_PRIMARY_VOL:-gvprimary}
SV=${LAB_SECONDARY_VOL:-gvsecondary}
BRICK_ROOT=${LAB_BRICK_ROOT:-/bricks}
PM=${LAB_PRIMARY_MOUNT:-/mnt/gvprimary}
SM=${LAB_SECONDARY_MOUNT:-/mnt/gvsecondary}
STATE=/run/runbook-lab                      # pid files of what the lab started
LOGDIR=/var/log/runbook-lab                 # stdout/stderr of what the lab started
INV_OUT="$LAB_DIR/inventory.generated.yaml"
FRESH=0; INSTALL=1
ARGS=("$@")
while (($#)); do
    case "$1" in
        --fresh) FRESH=1 ;;
        --no-install) INSTALL=0 ;;
        --inventory-out) INV_OUT=${2:?--inventory-out needs a file}; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "up.sh: unknown argument: $1" >&2; exit 64 ;;
    esac
    shift
done

T0=$(date +%s)
say()  { printf '[lab up %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die()  { printf '[lab up %4ss] ERROR: %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; exit 1; }
# Every gluster call is bounded; --mode=script never prompts. Global options come first
# (required for `geo-replication ... config`).
g()  { timeout 120 gluster --mode=script "$@"; }
gx() { timeout 120 gluster --mode=script --xml "$@"; }
# A clean PATH for everything the lab starts: gsyncd re-executes `python3` through $PATH, and a
# pyenv/venv python3 first in PATH breaks its workers.
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH="$CLEAN_PATH:$PATH"
PY=/usr/bin/python3

[ "$(id -u)" -eq 0 ] || die "must run as root (bricks need trusted.* xattrs, FUSE mounts, sshd on port 22)"
mkdir -p "$STATE" "$LOGDIR"

# One lab script at a time (exit 75 when another one holds the lock for 15 minutes).
if [ -z "${RUNBOOK_LAB_LOCKED:-}" ]; then
    # flock -o: the lock fd is closed before the script runs, so the daemons it starts do not
    # inherit (and hold) the lock.
    RUNBOOK_LAB_LOCKED=1 exec flock -o -w 900 -E 75 "$STATE/lock" bash "${BASH_SOURCE[0]}" "${ARGS[@]}"
fi

if ((FRESH)); then
    say "--fresh: running down.sh first"
    bash "$LAB_DIR/down.sh" || die "down.sh failed"
fi

# ---------------------------------------------------------------- XML helpers (python3 stdlib)
# xq MODE < xml: prints one line per item.
xq() {
    "$PY" -c '
import sys, xml.etree.ElementTree as ET
mode = sys.argv[1]
try:
    root = ET.fromstring(sys.stdin.read())
except Exception:
    sys.exit(3)
if root.findtext("opRet", "-1") != "0":
    sys.exit(4)
t = lambda e, k: (e.findtext(k) or "").strip()
if mode == "volinfo":            # statusStr brickCount brick1 brick2 ...
    for v in root.iter("volume"):
        if v.find("statusStr") is None: continue
        print(t(v, "statusStr"), t(v, "brickCount"), *[t(b, "name") for b in v.iter("brick")])
elif mode == "volopt":           # name=value per option
    for o in root.iter("option"):
        print(t(o, "name") + "=" + t(o, "value"))
elif mode == "bricks":           # host:path status pid   (bricks only, no shd/nfs rows)
    for n in root.iter("node"):
        p = t(n, "path")
        if p.startswith("/"):
            print(t(n, "hostname") + ":" + p, t(n, "status"), t(n, "pid"))
elif mode == "georep":           # primaryvol secondary status   (one line per worker)
    for v in root.iter("volume"):
        name = t(v, "name")
        for s in v.iter("session"):
            for p in s.iter("pair"):
                sec = t(p, "secondary") or t(p, "slave")
                print(name, sec, t(p, "status") or "?")
' "$1"
}

vol_exists() { g volume info "$1" >/dev/null 2>&1; }
vol_info()   { gx volume info "$1" 2>/dev/null | xq volinfo; }
vol_opt()    { gx volume info "$1" 2>/dev/null | xq volopt | sed -n "s/^$2=//p"; }
brick_rows() { gx volume status "$1" 2>/dev/null | xq bricks; }
georep_rows() { gx volume geo-replication status 2>/dev/null | xq georep || true; }
brick_online() { brick_rows "$1" | grep -q " 1 "; }
session_rows() { gx volume geo-replication "$PV" "$H::$SV" status 2>/dev/null | xq georep || true; }

wait_until() {   # wait_until SECONDS DESCRIPTION CMD...  (polls every 2 s)
    local limit=$1 what=$2; shift 2
    local end=$(( $(date +%s) + limit ))
    until "$@" >/dev/null 2>&1; do
        (( $(date +%s) < end )) || { say "timed out after ${limit}s waiting for: $what"; return 1; }
        sleep 2
    done
}

# ---------------------------------------------------------------- 1. packages
say "step 1/10: packages (glusterfs-server, rsync, openssh-server/client)"
need=()
command -v glusterd >/dev/null 2>&1 && command -v gluster >/dev/null 2>&1 || need+=(glusterfs-server)
command -v mount.glusterfs >/dev/null 2>&1 || [ -x /sbin/mount.glusterfs ] || need+=(glusterfs-client)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
[ -x "$PY" ] || need+=(python3)
command -v flock >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v pgrep >/dev/null 2>&1 || need+=(procps)
if ((${#need[@]})); then
    ((INSTALL)) || die "missing packages: ${need[*]} (and --no-install was given)"
    say "  installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Keep package scripts from starting services (sshd on 0.0.0.0:22, a daemonized glusterd):
    # the lab starts its own, and down.sh must be able to stop everything.
    policy_added=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; policy_added=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt_ok=0
    if ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 \
        && timeout 900 apt-get install -y -q --no-install-recommends "${need[@]}" </dev/null >"$LOGDIR/apt.log" 2>&1; then
        apt_ok=1
    else
        say "  apt-get update (package lists missing or stale)"
        if timeout 600 apt-get update -q </dev/null >>"$LOGDIR/apt.log" 2>&1 \
            && timeout 900 apt-get install -y -q --no-install-recommends "${need[@]}" </dev/null >>"$LOGDIR/apt.log" 2>&1; then
            apt_ok=1
        fi
    fi
    if ((policy_added)); then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
    ((apt_ok)) || { tail -20 "$LOGDIR/apt.log" >&2; die "apt-get install ${need[*]} failed (log: $LOGDIR/apt.log)"; }
    say "  installed: $(dpkg-query -W -f '${Package} ${Version}  ' "${need[@]}" 2>/dev/null)"
else
    say "  already installed: glusterfs-server $(dpkg-query -W -f '${Version}' glusterfs-server 2>/dev/null || echo '?'), rsync, openssh"
fi
[ -e /dev/fuse ] || die "/dev/fuse is missing: FUSE mounts (and gsyncd's aux mounts) cannot work here"
GLUSTER=$(command -v gluster)

# ---------------------------------------------------------------- 2. hostname -> 127.0.0.1
H=$(hostname)
say "step 2/10: hostname '$H' must resolve to 127.0.0.1 (geo-rep ssh's to it; sshd listens there)"
[ -n "$H" ] && [ "$H" != localhost ] || die "hostname is '$H': give the machine a real hostname"
addr=$(getent ahostsv4 "$H" 2>/dev/null | awk 'NR==1{print $1}')
if [ "$addr" = 127.0.0.1 ]; then
    say "  ok: $H -> 127.0.0.1"
else
    say "  $H resolves to '${addr:-nothing}': adding '127.0.0.1 $H' at the top of /etc/hosts"
    cp /etc/hosts "$STATE/hosts.before-lab"
    # Write in place (not sed -i / mv): /etc/hosts is often a bind mount in containers.
    { printf '127.0.0.1\t%s\t# added by runbook lab (Examples/lab/up.sh)\n' "$H"; cat "$STATE/hosts.before-lab"; } >/etc/hosts
    addr=$(getent ahostsv4 "$H" | awk 'NR==1{print $1}')
    [ "$addr" = 127.0.0.1 ] || die "$H still resolves to '$addr' after editing /etc/hosts (check /etc/nsswitch.conf)"
fi

# ---------------------------------------------------------------- 3. glusterd
say "step 3/10: glusterd"
# live (not zombie, not exiting) glusterd processes
glusterd_pids() {
    local p st
    for p in $(pgrep -x glusterd || true); do
        st=$(awk '/^State:/ {print $2}' /proc/"$p"/status 2>/dev/null || true)
        [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ] && echo "$p"
    done
    return 0
}
start_glusterd() {
    say "  starting glusterd -N (log: $LOGDIR/glusterd.out, /var/log/glusterfs/glusterd.log)"
    env PATH="$CLEAN_PATH" setsid glusterd -N </dev/null >>"$LOGDIR/glusterd.out" 2>&1 &
    echo $! >"$STATE/glusterd.pid"
}
gd=$(glusterd_pids | xargs)
if [ -n "$gd" ]; then
    say "  glusterd already running (pid $gd)"
    if ! wait_until 30 "glusterd to answer (gluster pool list)" g pool list; then
        gd=$(glusterd_pids | xargs)
        if [ -z "$gd" ]; then
            say "  glusterd has exited meanwhile"
            start_glusterd
        elif [ "$gd" = "$(cat "$STATE/glusterd.pid" 2>/dev/null)" ]; then
            say "  the lab's glusterd (pid $gd) hangs: killing and restarting it"
            kill -KILL "$gd" 2>/dev/null || true
            wait_until 15 "glusterd pid $gd to exit" bash -c "[ -z \"\$(pgrep -x glusterd)\" ] || ! kill -0 $gd" || true
            start_glusterd
        else
            die "glusterd (pid $gd, not started by the lab) does not answer; stop it and re-run"
        fi
    fi
else
    start_glusterd
fi
wait_until 60 "glusterd to answer (gluster pool list)" g pool list \
    || die "glusterd does not answer; see /var/log/glusterfs/glusterd.log"
say "  glusterd answers"

# ---------------------------------------------------------------- 4. stale state
say "step 4/10: looking for stale lab state from an earlier run"
want_brick() { echo "$H:$BRICK_ROOT/$1"; }
reset_needed=""
for v in "$PV" "$SV"; do
    if vol_exists "$v"; then
        read -r st count bricks <<<"$(vol_info "$v")" || true
        if [ "${count:-}" != 1 ] || [ "${bricks:-}" != "$(want_brick "$v")" ]; then
            reset_needed+="volume $v has bricks '${bricks:-?}' (want $(want_brick "$v")); "
        fi
    fi
done
if [ -n "$reset_needed" ]; then
    say "  $reset_needed-> full reset with down.sh"
    bash "$LAB_DIR/down.sh" || die "down.sh could not clean up the stale lab"
    [ -n "$(glusterd_pids)" ] || start_glusterd
    wait_until 60 "glusterd to answer" g pool list || die "glusterd does not answer after reset"
fi
# Sessions that involve the lab volumes other than the lab's own one (e.g. the reverse session a
# failback test left behind, or a session to an old hostname) are stopped and deleted.
while read -r pvol sec status; do
    [ -n "$pvol" ] || continue
    sec=${sec#ssh://}; sec=${sec#*@}      # the all-sessions status says ssh://[user@]host::vol
    case "$pvol $sec" in
        "$PV $H::$SV") continue ;;
    esac
    if [ "$pvol" = "$PV" ] || [ "$pvol" = "$SV" ] || [ "${sec##*::}" = "$PV" ] || [ "${sec##*::}" = "$SV" ]; then
        say "  removing stale geo-rep session $pvol -> $sec ($status)"
        g volume geo-replication "$pvol" "$sec" stop force >/dev/null 2>&1 || true
        g volume geo-replication "$pvol" "$sec" delete >/dev/null 2>&1 \
            || die "cannot delete stale session $pvol -> $sec; run down.sh and retry"
    fi
done < <(georep_rows | sort -u)
say "  done"

# ---------------------------------------------------------------- 5. volumes
ensure_volume() {
    local v=$1 brick="$BRICK_ROOT/$1" st rest
    if vol_exists "$v"; then
        read -r st rest <<<"$(vol_info "$v")"
        say "  $v exists ($st, brick $(want_brick "$v"))"
    else
        if [ -e "$brick" ]; then
            say "  removing leftover brick directory $brick (no volume uses it)"
            rm -rf "$brick"
        fi
        mkdir -p "$brick"
        say "  gluster volume create $v $(want_brick "$v") force"
        g volume create "$v" "$(want_brick "$v")" force || die "volume create $v failed"
        st=Created
    fi
    if [ "$st" != Started ]; then
        say "  gluster volume start $v"
        g volume start "$v" >/dev/null || g volume start "$v" force || die "volume start $v failed"
    fi
    # A started volume whose brick process is gone (killed, or glusterd restarted) needs
    # `start force` to respawn the brick.
    if ! brick_online "$v"; then
        say "  brick of $v is offline: gluster volume start $v force"
        g volume start "$v" force >/dev/null || die "volume start $v force failed"
    fi
    wait_until 60 "brick of $v online" brick_online "$v" \
        || die "brick of $v did not come online; see /var/log/glusterfs/bricks/"
    say "  $v: Started, brick online (pid $(brick_rows "$v" | awk '{print $3}'))"
}
say "step 5/10: volumes $PV and $SV"
mkdir -p "$BRICK_ROOT"
ensure_volume "$PV"
ensure_volume "$SV"
# A failback leaves features.read-only on the ORIGINAL primary; the lab's primary is writable.
if [ "$(vol_opt "$PV" features.read-only)" = on ]; then
    say "  $PV has features.read-only on (left by a failback?): resetting it"
    g volume reset "$PV" features.read-only >/dev/null || die "volume reset $PV features.read-only failed"
fi

# ---------------------------------------------------------------- 6. sshd on 127.0.0.1:22
say "step 6/10: root SSH key and sshd on 127.0.0.1:22"
umask 077
mkdir -p /root/.ssh; chmod 700 /root/.ssh
if [ ! -f /root/.ssh/id_rsa ]; then
    say "  generating /root/.ssh/id_rsa"
    ssh-keygen -q -t rsa -b 3072 -N '' -f /root/.ssh/id_rsa </dev/null
elif [ ! -f /root/.ssh/id_rsa.pub ]; then
    ssh-keygen -y -f /root/.ssh/id_rsa >/root/.ssh/id_rsa.pub
fi
touch /root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys
keyb64=$(awk '{print $2}' /root/.ssh/id_rsa.pub)
if grep -qF "$keyb64" /root/.ssh/authorized_keys; then
    say "  root's key already in authorized_keys"
else
    say "  adding root's key to authorized_keys"
    cat /root/.ssh/id_rsa.pub >>/root/.ssh/authorized_keys
fi
# Exact duplicate lines (from earlier runs or repeated push-pem) are removed, order kept.
awk '!seen[$0]++' /root/.ssh/authorized_keys >"$STATE/ak.tmp" && cat "$STATE/ak.tmp" >/root/.ssh/authorized_keys && rm -f "$STATE/ak.tmp"
umask 022
port22_open() { timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/22' 2>/dev/null; }
ssh_ok() {
    timeout 20 ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout=5 \
        -o PasswordAuthentication=no -i /root/.ssh/id_rsa "root@$H" true </dev/null >/dev/null 2>&1
}
if port22_open; then
    say "  something already listens on 127.0.0.1:22; reusing it"
else
    [ -f /etc/ssh/ssh_host_ed25519_key ] || { say "  generating sshd host keys"; ssh-keygen -A >/dev/null; }
    mkdir -p /run/sshd
    say "  starting /usr/sbin/sshd -o ListenAddress=127.0.0.1 (pid file $STATE/sshd.pid)"
    /usr/sbin/sshd -o ListenAddress=127.0.0.1 -o Port=22 -o PidFile="$STATE/sshd.pid" \
        -o PermitRootLogin=prohibit-password -o PubkeyAuthentication=yes \
        -E "$LOGDIR/sshd.log" </dev/null || die "sshd failed to start (see $LOGDIR/sshd.log)"
    wait_until 15 "sshd on 127.0.0.1:22" port22_open || die "sshd does not listen on 127.0.0.1:22"
fi
wait_until 20 "ssh root@$H true" ssh_ok \
    || die "passwordless 'ssh root@$H' does not work (an sshd that is not the lab's on port 22? PermitRootLogin?)"
say "  ssh root@$H works without a password"

# ---------------------------------------------------------------- 7. session
say "step 7/10: geo-rep session $PV -> $H::$SV"
session_exists() { gx volume geo-replication "$PV" "$H::$SV" status >/dev/null 2>&1; }
just_created=0
create_session() {
    just_created=1
    say "  gluster system:: execute gsec_create"
    g system:: execute gsec_create >/dev/null || die "gsec_create failed"
    say "  gluster volume geo-replication $PV $H::$SV create push-pem force"
    g volume geo-replication "$PV" "$H::$SV" create push-pem force || die "geo-rep create push-pem failed"
}
if session_exists; then
    say "  session exists: $(session_rows | awk '{print $3}' | sort | uniq -c | xargs)"
else
    create_session
fi
# push-pem makes the secondary read-only (asynchronously, from a post-create hook); a failover
# test may have turned it off. The lab's secondary is read-only.
if [ "$(vol_opt "$SV" features.read-only)" != on ]; then
    ((just_created)) && wait_until 10 "$SV features.read-only on (post-create hook)" bash -c "$(declare -f g gx xq vol_opt); PY=$PY; [ \"\$(vol_opt $SV features.read-only)\" = on ]" || {
        say "  gluster volume set $SV features.read-only on"
        g volume set "$SV" features.read-only on >/dev/null || die "volume set $SV features.read-only on failed"
    }
fi
# Lab-only settings (see README.md): setting a key restarts a running session, so only set
# what differs.
conf_get() { g volume geo-replication "$PV" "$H::$SV" config "$1" 2>/dev/null | tr -d '[:space:]'; }
for kv in change_detector=xsync sync_method=tarssh; do
    k=${kv%%=*}; val=${kv#*=}
    cur=$(conf_get "$k")
    if [ "$cur" = "$val" ]; then
        say "  config $k = $val (already)"
    else
        say "  config $k $val (was '${cur:-?}')"
        g volume geo-replication "$PV" "$H::$SV" config "$k" "$val" >/dev/null || die "config $k $val failed"
    fi
done

# ---------------------------------------------------------------- 8. start, Faulty race
say "step 8/10: start the session and wait for Active/Passive"
healthy() {   # every worker Active or Passive, at least one Active
    local rows; rows=$(session_rows)
    [ -n "$rows" ] || return 1
    echo "$rows" | awk '{print $3}' | grep -qx Active || return 1
    ! echo "$rows" | awk '{print $3}' | grep -vqxE 'Active|Passive'
}
# The first start after push-pem can look Active for a moment and then go Faulty: ask twice.
healthy_stable() { healthy && sleep 6 && healthy; }
statuses() { session_rows | awk '{print $3}' | sort | uniq -c | xargs; }
attempt=0; max_attempts=4; recreated=0
until healthy_stable; do
    attempt=$((attempt + 1))
    if ((attempt > max_attempts)); then
        if ((recreated)); then
            log=$(ls -t /var/log/glusterfs/geo-replication/"${PV}_${H}_${SV}"/gsyncd.log 2>/dev/null | head -1 || true)
            [ -n "$log" ] && { echo "--- last lines of $log:" >&2; tail -25 "$log" >&2; }
            die "session is not Active after $max_attempts start attempts and a re-create: $(statuses)"
        fi
        say "  still not healthy ($(statuses)): deleting and re-creating the session once"
        g volume geo-replication "$PV" "$H::$SV" stop force >/dev/null 2>&1 || true
        g volume geo-replication "$PV" "$H::$SV" delete >/dev/null 2>&1 || true
        create_session
        g volume geo-replication "$PV" "$H::$SV" config change_detector xsync >/dev/null || die "config change_detector failed"
        g volume geo-replication "$PV" "$H::$SV" config sync_method tarssh >/dev/null || die "config sync_method failed"
        recreated=1; attempt=1
    fi
    now=$(statuses)
    case " $now " in
        *" Created "*|*" Stopped "*) ;;
        *) # Faulty / Initializing... / anything else: the first start after push-pem may race
           # the key push ("Permission denied (publickey)"): stop + start fixes it.
           say "  attempt $attempt: status '$now': stop force"
           g volume geo-replication "$PV" "$H::$SV" stop force >/dev/null 2>&1 || true ;;
    esac
    say "  attempt $attempt/$max_attempts: gluster volume geo-replication $PV $H::$SV start"
    g volume geo-replication "$PV" "$H::$SV" start >/dev/null 2>&1 \
        || g volume geo-replication "$PV" "$H::$SV" start force >/dev/null \
        || die "geo-rep start failed"
    # Wait up to 60 s for Active; leave early on Faulty (it will not heal by itself quickly).
    end=$(( $(date +%s) + 60 ))
    while (( $(date +%s) < end )); do
        healthy_stable && break
        case " $(statuses) " in *Faulty*) sleep 3; healthy || break ;; esac
        sleep 3
    done
    healthy || say "  attempt $attempt: status is '$(statuses)'"
done
say "  session healthy: $(statuses)"

# ---------------------------------------------------------------- 9. mounts
say "step 9/10: FUSE mounts"
ensure_mount() {
    local v=$1 mp=$2 src cur_src cur_type
    src="$H:/$v"
    read -r cur_src cur_type < <(awk -v mp="$mp" '$2==mp {print $1, $3}' /proc/mounts | tail -1) || true
    if [ -n "${cur_src:-}" ]; then
        if [ "$cur_type" = fuse.glusterfs ] && [ "${cur_src#*:}" = "/$v" ] && timeout 10 stat -t "$mp" >/dev/null 2>&1; then
            say "  $mp: $cur_src already mounted and answering"
            return 0
        fi
        say "  $mp: stale or wrong mount ($cur_src $cur_type): unmounting"
        umount "$mp" 2>/dev/null || umount -l "$mp" || die "cannot unmount $mp"
    fi
    mkdir -p "$mp"
    say "  mount -t glusterfs $src $mp"
    timeout 60 mount -t glusterfs "$src" "$mp" </dev/null >"$LOGDIR/mount-$v.out" 2>&1 \
        || { cat "$LOGDIR/mount-$v.out" >&2; die "mount of $src on $mp failed (log: /var/log/glusterfs/$(echo "${mp#/}" | tr / -).log)"; }
    wait_until 20 "$mp answering" timeout 5 stat -t "$mp" || die "$mp does not answer after mounting"
}
ensure_mount "$PV" "$PM"
ensure_mount "$SV" "$SM"

# ---------------------------------------------------------------- 10. inventory + summary
say "step 10/10: writing $INV_OUT"
tmp_inv="$INV_OUT.tmp.$$"
cat >"$tmp_inv" <<EOF
# GENERATED by Examples/lab/up.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ) for host '$H'. Do not edit or commit:
# re-run up.sh. Same as inventory.yaml (the documented template) with the real hostname.
# transport: local: both "sites" are this machine, so the tool runs gluster directly (no SSH hop).
apiVersion: runbook/v1
kind: Inventory
metadata: {name: gluster-lab}
defaults: {transport: local, gluster: $GLUSTER}
hosts:
  lab-primary: {roles: [primary]}
  lab-secondary: {roles: [secondary]}
vars:
  primary_volume: $PV
  secondary_volume: $SV
  primary_host: $H
  secondary_host: $H
  sync_method: tarssh
  change_detector: xsync
  initial_sync: full
  client_switch: [sh, -c, "echo secondary > $STATE/clients"]
  client_switch_check: [grep, -qx, secondary, $STATE/clients]
  client_switch_back: [sh, -c, "echo primary > $STATE/clients"]
  primary_mount: $PM
  secondary_mount: $SM
EOF
mv -f "$tmp_inv" "$INV_OUT"

echo
say "status: gluster volume geo-replication $PV $H::$SV status"
g volume geo-replication "$PV" "$H::$SV" status || true
say "volumes: $(for v in "$PV" "$SV"; do printf '%s=%s ' "$v" "$(vol_info "$v" | awk '{print $1}')"; done)"
say "mounts:  $PM ($H:/$PV, writable)  $SM ($H:/$SV, read-only while the session exists)"
say "inventory: $INV_OUT"
say "lab is UP in $(( $(date +%s) - T0 ))s (stop it with: bash $LAB_DIR/down.sh)"
