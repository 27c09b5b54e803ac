#!/usr/bin/env bash
# The first process (pid 1) of one lab node's namespaces; up.sh starts it as
#   unshare --mount --net --uts --pid --fork --mount-proc --propagation private \
#       bash node-init.sh NODE ADDRESS PREFIX NODE_DIR HOSTS_FILE
# It gives the node its hostname, its own /etc/hosts, /var/lib/glusterd, /run (tmpfs),
# /var/log/glusterfs, /var/lib/misc, /root/.ssh, /bricks and /etc/fstab (bind mounts of NODE_DIR/...),
# waits for up.sh to move the node's end of its veth pair (eth0) in, configures it, and then
# only reaps orphans (glusterd, bricks, sshd and gsyncd are started by up.sh with nsenter and
# end up as children of this process). When it exits, every process of the node dies.
set -u
NODE=$1 ADDR=$2 PREFIX=$3 D=$4 HOSTS=$5
fail() { echo "node-init $NODE: $*" >&2; exit 1; }

hostname "$NODE" || fail "hostname"
mount --bind "$HOSTS" /etc/hosts || fail "bind $HOSTS"
mount --bind "$D/glusterd" /var/lib/glusterd || fail "bind glusterd"
mount -t tmpfs -o mode=0755 tmpfs /run || fail "tmpfs /run"
mkdir -p /run/sshd /run/gluster && chmod 0755 /run/sshd
mount --bind "$D/log" /var/log/glusterfs || fail "bind log"
mount --bind "$D/misc" /var/lib/misc || fail "bind misc"
mount --bind "$D/ssh" /root/.ssh || fail "bind ssh"
mount --bind "$D/bricks" /bricks || fail "bind bricks"
# The shared-storage hook (cluster.enable-shared-storage) mounts the meta volume at
# /run/gluster/shared_storage (this node's tmpfs) and rewrites /etc/fstab with `mv` from /run: the
# node's own fstab, so the machine's is never touched.
mount --bind "$D/fstab" /etc/fstab || fail "bind fstab"
ip link set lo up || fail "lo up"

# up.sh creates the veth pair with its peer in this namespace, named eth0 (bounded wait).
for _ in $(seq 600); do ip link show eth0 >/dev/null 2>&1 && break; sleep 0.1; done
ip link show eth0 >/dev/null 2>&1 || fail "eth0 did not appear within 60 s"
ip addr add "$ADDR/$PREFIX" dev eth0 2>/dev/null || true
ip link set eth0 up || fail "eth0 up"
echo "node-init $NODE: $ADDR/$PREFIX on eth0"

# pid 1 of a PID namespace ignores signals it has no handler for.
trap 'exit 0' TERM INT
while :; do
    sleep 5 &
    wait $!     # bash reaps every child, orphans included, on SIGCHLD
done
