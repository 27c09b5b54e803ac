# Shared by up.sh, down.sh, site.sh and node.sh (sourced, not run). See README.md.
#
# The two-site lab: four "nodes", each its own mount/net/UTS/PID namespace with its own
# glusterd and sshd, joined by veth pairs to the bridge rblab0 in the root namespace.
#
#   site A (primary):   gfs-a1 198.51.100.11, gfs-a2 198.51.100.12  (one trusted pool)
#   site B (secondary): gfs-b1 198.51.100.21, gfs-b2 198.51.100.22  (one trusted pool)
#   sessions:           gvprimary -> gfs-b1::gvsecondary, gvprimary2 -> gfs-b1::gvsecondary2
#                       (changelog + rsync, use_meta_volume true: gluster_shared_storage at each site)
#   controller:         the root namespace, 198.51.100.1 on rblab0 (runbook runs here)

LAB_NODES=(gfs-a1 gfs-a2 gfs-b1 gfs-b2)
declare -A LAB_ADDR=([gfs-a1]=198.51.100.11 [gfs-a2]=198.51.100.12 [gfs-b1]=198.51.100.21 [gfs-b2]=198.51.100.22)
declare -A LAB_SITE=([gfs-a1]=A [gfs-a2]=A [gfs-b1]=B [gfs-b2]=B)
declare -A LAB_VETH=([gfs-a1]=rbl-a1 [gfs-a2]=rbl-a2 [gfs-b1]=rbl-b1 [gfs-b2]=rbl-b2)   # root-namespace ends
LAB_BRIDGE=rblab0
LAB_BRIDGE_ADDR=198.51.100.1
LAB_PREFIX=24
PV=gvprimary                          # replica 2 on gfs-a1 + gfs-a2
SV=gvsecondary                        # replica 2 on gfs-b1 + gfs-b2
PM=/mnt/gvprimary                     # mount points (root namespace, and inside the nodes)
SM=/mnt/gvsecondary
PV2=gvprimary2                        # the second session's pair: replica 2 on gfs-a1 + gfs-a2,
SV2=gvsecondary2                      # replica 2 on gfs-b1 + gfs-b2 (the two-session tests)
PM2=/mnt/gvprimary2
SM2=/mnt/gvsecondary2
LAB_SESSIONS=("$PV $SV" "$PV2 $SV2")  # PRIMARY SECONDARY: the lab's geo-rep sessions, gfs-a1 -> gfs-b1
STATE=/run/runbook-lab                # pid and state files
LOGDIR=/var/log/runbook-lab           # output of what the lab starts
VARDIR=/var/lib/runbook-lab           # per-node glusterd state, bricks, keys (kept across up.sh runs)
HOSTS_FILE=$VARDIR/hosts              # the lab's hosts file (bind-mounted over /etc/hosts in the nodes)
CTL_KEY=$VARDIR/controller/id_ed25519 # the controller's (runbook's) key for the nodes
CTL_KNOWN_HOSTS=$VARDIR/controller/known_hosts
META_MOUNT=/run/gluster/shared_storage  # the meta volume gluster_shared_storage, inside every node
# rsync: the geo-rep workers' sync_method rsync copies file DATA with it. Debian's security update
# 3.5.0+ds1-0+deb12u1 (bookworm-security) makes geo-rep create every file EMPTY on the secondary
# while rsync exits 0 (GlusterFS issue 4533); bookworm main's 3.2.7-1+deb12u6 works. up.sh pins it
# the way sites do (apt-get install --allow-downgrades rsync=VERSION; apt-mark hold rsync).
LAB_RSYNC_VERSION=${LAB_RSYNC_VERSION:-3.2.7-1+deb12u6}
# changelog.rollover-time of the lab's four volumes (GlusterFS' default is 15 s). Every checkpoint,
# the failback's settle, glusterfind's first listable time and health.sh wait for a rollover; the
# runbooks read the value from the volume, so a site's 15 s makes each of those waits 10 s longer.
LAB_ROLLOVER=${LAB_ROLLOVER:-5}
# The lab's glusterds (and the bricks they start) run with this library preloaded: it works around
# GlusterFS' changelog registration race (changelog-connect-delay.c; README.md "changelog").
CHANGELOG_FIX_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/changelog-connect-delay.c
CHANGELOG_FIX_SO=$VARDIR/changelog-connect-delay.so
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH="$CLEAN_PATH:$PATH"

site_nodes() {   # site_nodes A|B
    local n
    for n in "${LAB_NODES[@]}"; do [ "${LAB_SITE[$n]}" = "$1" ] && echo "$n"; done
    return 0
}

# The namespace's first process (pid 1 inside), as a root-namespace pid; empty when not running.
node_pid() {
    local p
    p=$(cat "$STATE/nodes/$1.pid" 2>/dev/null) || return 0
    [ -n "$p" ] && [ -r "/proc/$p/cmdline" ] || return 0
    case "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
        *"node-init.sh $1 "*) echo "$p" ;;
    esac
    return 0
}

# in_node NODE CMD...: runs CMD inside the node's namespaces (mount, UTS, net, PID).
in_node() {
    local n=$1 p; shift
    p=$(node_pid "$n")
    [ -n "$p" ] || { echo "lab: node $n is not running" >&2; return 125; }
    nsenter -t "$p" -m -u -n -p -- env PATH="$CLEAN_PATH" HOME=/root "$@"
}

# Every process whose PID namespace is the node's (the node's init included).
node_processes() {
    local p ns d
    p=$(node_pid "$1"); [ -n "$p" ] || return 0
    ns=$(readlink "/proc/$p/ns/pid")
    for d in /proc/[0-9]*; do
        [ "$(readlink "$d/ns/pid" 2>/dev/null)" = "$ns" ] && echo "${d#/proc/}"
    done
    return 0
}

wait_until() {   # wait_until SECONDS DESCRIPTION CMD...  (polls every 2 s; bounded)
    local limit=$1 what=$2; shift 2
    local end=$(( $(date +%s) + limit ))
    until "$@" >/dev/null 2>&1; do
        (( $(date +%s) < end )) || { say "timed out after ${limit}s waiting for: $what"; return 1; }
        sleep 2
    done
}

lab_lock() {   # re-exec the calling script under the lab lock (one lab script at a time)
    mkdir -p "$STATE"
    if [ -z "${RUNBOOK_LAB_LOCKED:-}" ]; then
        # flock -o: the lock fd is closed for the script, so the daemons it starts do not hold it.
        RUNBOOK_LAB_LOCKED=1 exec flock -o -w 900 -E 75 "$STATE/lock" bash "$@"
    fi
}

# restart_proven PRIMARY SECONDARY [TRIES]: stop and start the session PRIMARY -> gfs-b1::SECONDARY,
# then prove it replicates live: once its Active worker is in Changelog Crawl, a marker written
# on /mnt/PRIMARY must show on /mnt/SECONDARY within 45 s (existence only: a broken rsync makes it
# empty). A worker that got no live changelog (GlusterFS' registration race, see README
# "changelog") is restarted again, up to TRIES starts (default 5). 0 when proven, 1 otherwise.
restart_proven() {
    local pv=$1 sv=$2 tries=${3:-5} i k m
    local gl=(timeout 120 nsenter -t "$(node_pid gfs-a1)" -m -u -n -p -- env PATH="$CLEAN_PATH" gluster --mode=script)
    for ((i = 1; i <= tries; i++)); do
        "${gl[@]}" volume geo-replication "$pv" "gfs-b1::$sv" stop force >/dev/null 2>&1 || true
        "${gl[@]}" volume geo-replication "$pv" "gfs-b1::$sv" start force >/dev/null 2>&1 || true
        for ((k = 0; k < 60; k++)); do
            "${gl[@]}" volume geo-replication "$pv" "gfs-b1::$sv" status 2>/dev/null | grep -q "Active *Changelog Crawl" && break
            sleep 2
        done
        mkdir -p "/mnt/$pv/.rbl-health" && m=".rbl-health/p-$(date +%s)-$RANDOM" && : >"/mnt/$pv/$m" || return 1
        for ((k = 0; k < 45; k++)); do
            if [ -e "/mnt/$sv/$m" ]; then rm -f "/mnt/$pv/$m"; echo "$pv -> gfs-b1::$sv: restarted, replicating (start $i)"; return 0; fi
            sleep 1
        done
        rm -f "/mnt/$pv/$m"
        echo "$pv -> gfs-b1::$sv: start $i: no live changelog (the marker did not arrive in 45 s); restarting"
        if ((i >= 2)); then
            # A brick whose registrations keep getting nothing: restart its processes too (the
            # brick's event selection counts start afresh; see README "changelog").
            "${gl[@]}" volume geo-replication "$pv" "gfs-b1::$sv" stop force >/dev/null 2>&1 || true
            for k in gfs-a1 gfs-a2; do in_node "$k" pkill -KILL -f "glusterfsd .*--volfile-id $pv[.]" 2>/dev/null || true; done
            sleep 2
            "${gl[@]}" volume start "$pv" force >/dev/null 2>&1 || true
            sleep 8
            echo "$pv -> gfs-b1::$sv: restarted the bricks of $pv on gfs-a1 and gfs-a2"
        fi
    done
    return 1
}
