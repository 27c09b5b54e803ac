import Foundation

/// The Python 3 programs `tree.replay`, `tree.diff` and `glusterfind.changes` run on the host of
/// their step, passed whole as `python3 -c PROGRAM ARGS...` so the plan shows exactly what runs.
///
/// They run there, not here, because the lists and trees are there (in a real site both trees are
/// FUSE mounts on a node of site B, reached over ssh) and python3 is on every gluster node. They
/// read and write paths as bytes, take every path as an argv element or from a NUL-separated
/// file, and never start a shell. Strings in them use double quotes, so the shell-quoted text the
/// plan prints has no `'\''` in it. Python 3.6 or later.
public enum TreePrograms {
    /// The change-list decoder every program starts with (the same rules as ``ChangeList``, and
    /// the pieces glusterfind 10.3 splits a name with a comma into joined back: `main.py`
    /// `write_output` splits every row's path on commas, its hard-link separator).
    /// `changes(FILE, IGNORE, FOUND)` returns `[(TYPE, [path bytes])]`; a malformed list exits 2
    /// before anything was changed, naming the line. Also the mount-table check of the trees'
    /// volumes (`roots`).
    public static let prelude = ##"""
        import json, os, stat, sys
        KINDS = {b"NEW": 1, b"MODIFY": 1, b"DELETE": 1, b"RENAME": 2}
        CODES = {b"20": b" ", b"0A": b"\n", b"25": b"%"}
        def die(message):
            sys.stderr.write("runbook: %s\n" % message)
            sys.exit(2)
        def failed(kind, error, trace):
            # An OSError (a vanished or unreadable entry) is said in one line; anything else is a bug.
            if issubclass(kind, OSError):
                sys.stderr.write("runbook: %s: %s\n" % (os.fsdecode(error.filename or ""), error.strerror))
            else:
                sys.__excepthook__(kind, error, trace)
        sys.excepthook = failed
        def unescape(field, number):
            parts = field.split(b"%")
            out = [parts[0]]
            for part in parts[1:]:
                if part[:2] not in CODES:
                    die("line %d: %%%s is not an escape glusterfind writes (%%20 %%0A %%25)"
                        % (number, os.fsdecode(part[:2])))
                out += [CODES[part[:2]], part[2:]]
            return b"".join(out)
        def inside(path):
            return not path.startswith(b"/") and not any(c in (b"", b".", b"..") for c in path.split(b"/"))
        def ignored(name, ignore):
            # A name at the root left out: given exactly, or by a prefix ending in * (a volume's
            # .glusterfs-anonymous-inode-<volume id> directory differs on every volume).
            return name in ignore or any(p.endswith(b"*") and name.startswith(p[:-1]) for p in ignore)
        JOINED = []
        MAX_PIECES = 8
        def changes(name, ignore=(), found=None):
            # glusterfind 10.3 (main.py write_output) splits a row's path on every comma, its separator
            # of a file's hard links, and writes one line per piece with the row's TYPE (and a RENAME's
            # new path, which it does not split): a name with a comma comes out as consecutive lines of
            # pieces. `found(kind, path)` says whether a joined path is the row's own (it is in the
            # tree the row speaks of); the longest join of consecutive pieces it accepts is one line,
            # else each piece is a line of its own. Joins are tried only when one of the first two
            # pieces is not found on its own, over at most MAX_PIECES pieces (a name with more commas
            # stays in pieces: tree.diff shows it). Without `found`, only a piece that is no path
            # (`d/` of `d/,x`) is joined to the next ones.
            with open(name, "rb") as f:
                data = f.read()
            known = {}
            def alone(kind, path):
                if (kind, path) not in known:
                    known[(kind, path)] = inside(path) and found(kind, path)
                return known[(kind, path)]
            rows = []
            for number, line in enumerate(data.split(b"\n"), 1):
                if not line:
                    continue
                fields = line.split(b" ")
                if KINDS.get(fields[0]) != len(fields) - 1:
                    die("line %d: %s is not TYPE PATH or RENAME OLD NEW (TYPE: NEW MODIFY RENAME DELETE)"
                        % (number, show(line[:200])))
                rows.append((number, fields[0].decode(), [unescape(field, number) for field in fields[1:]]))
            result, i = [], 0
            while i < len(rows):
                number, kind, paths = rows[i]
                pieces, j = [paths[0]], i + 1
                while j < len(rows) and rows[j][1] == kind and rows[j][2][1:] == paths[1:]:
                    pieces.append(rows[j][2][0])
                    j += 1
                take, pieces = 1, pieces[:MAX_PIECES]
                if found is not None and len(pieces) > 1 and not all(alone(kind, p) for p in pieces[:2]):
                    # Joins are tried only where a piece is no path of its own (one look-up per line).
                    for k in range(len(pieces), 1, -1):
                        if inside(b",".join(pieces[:k])) and found(kind, b",".join(pieces[:k])):
                            take = k
                            break
                elif found is None and not inside(pieces[0]):
                    take = next((k for k in range(2, len(pieces) + 1) if inside(b",".join(pieces[:k]))), 1)
                item = [b",".join(pieces[:take])] + paths[1:]
                if take > 1:
                    JOINED.append(item[0])
                for path in item:
                    if not inside(path):
                        die("line %d: %s is not a relative path inside the tree" % (number, show(path)))
                if not any(ignored(path.split(b"/")[0], ignore) for path in item):
                    result.append((kind, item))
                i += take
            return result
        def show(path):
            # rsync's spelling of a name in its output: control bytes, invalid UTF-8 and \ as \#ooo.
            out = []
            for c in os.fsdecode(path):
                code = ord(c) - 0xDC00 if 0xDC80 <= ord(c) <= 0xDCFF else ord(c)
                bad = code < 32 or code == 127 or c == "\\" or 0xDC80 <= ord(c) <= 0xDCFF
                out.append("\\#%03o" % code if bad else c)
            return "".join(out)
        def unoctal(field):
            # A field of the mount table: space, tab, newline and backslash are written \040 \011 \012 \134.
            parts = field.split(b"\\")
            return parts[0] + b"".join(bytes([int(p[:3], 8)]) + p[3:] if p[:3].isdigit() else b"\\" + p
                                       for p in parts[1:])
        def volume_of(root, table):
            # What the mount table (/proc/mounts: SOURCE MOUNTPOINT TYPE ...) says is mounted at root, the
            # last entry for it winning: (source, type), or None.
            real, found = os.path.realpath(root), None
            with open(table, "rb") as f:
                for line in f:
                    fields = line.split()
                    if len(fields) >= 3 and unoctal(fields[1]) == real:
                        found = (unoctal(fields[0]), fields[2].decode("utf-8", "replace"))
            return found
        def check_volume(root, volume, table):
            # A GlusterFS FUSE mount's source is HOST:/VOLUME (or HOST:VOLUME); the volume name must be
            # the one asked for (any host of its cluster may serve the mount).
            want = os.fsencode(volume).rpartition(b":")[2].lstrip(b"/")
            found = volume_of(root, table)
            if found is None:
                die("%s is not a mount point in %s: it should be the volume %s mounted (nothing was changed)"
                    % (os.fsdecode(root), table, volume))
            source, kind = found
            if not kind.startswith("fuse.glusterfs") or source.rpartition(b":")[2].lstrip(b"/") != want:
                die("%s is %s (%s), not the volume %s: the wrong volume is mounted there (nothing was changed)"
                    % (os.fsdecode(root), os.fsdecode(source), kind, os.fsdecode(want)))
        def roots(paths, mounts, volumes=(), table="/proc/mounts"):
            result = [os.fsencode(path).rstrip(b"/") or b"/" for path in paths]
            for root in result:
                if not os.path.isdir(root):
                    die("%s is not a directory" % os.fsdecode(root))
                if mounts and not os.path.ismount(root):
                    die("%s is not a mount point (is the volume mounted?)" % os.fsdecode(root))
            real = sorted(os.path.realpath(root) for root in result)
            if real[0] == real[1] or real[1].startswith(real[0].rstrip(b"/") + b"/"):
                die("the source and the target overlap: %s, %s" % tuple(map(os.fsdecode, real)))
            for root, volume in zip(result, volumes):
                if volume:
                    check_volume(root, volume, table)
            return result

        """##

    /// `tree.replay`'s first command: `SRC DST LIST WORK [--ignore NAME]... [--since EPOCH]
    /// [--identity XATTR] [--mounts] [--fenced EPOCH] [--source-volume V] [--target-volume V]
    /// [--mount-table FILE]`.
    ///
    /// The list is read as glusterfind writes it: a name with a comma comes as consecutive lines of
    /// pieces, joined back when the joined name is in the tree the row speaks of (``prelude``).
    /// The rule (issue 21): nothing on DST is overwritten or removed, nor copied back onto it,
    /// unless the evidence says it is SRC's newer change. "Written on DST in the window": its
    /// ctime (which no copy sets) at or after `--since` and, with `--fenced` (when DST was made
    /// read-only for the failback), before it; later changes there are the pre-copy's or this
    /// program's own. An entry whose version equals SRC's (type, size, mtime) is never a conflict.
    /// 1. Renames on DST, when the old name is there and the new one is not (creating its parent),
    ///    or when the new one is a hard link of the old (a gfid-based pre-copy, the reverse geo-rep
    ///    session, links the new name to the file's gfid and leaves the old one): the old name goes.
    /// 2. Deletes (a delete listed under the old name of a directory renamed later in the window
    ///    follows the rename): a file, unless written on DST in the window (`kept_changed`); in a
    ///    directory, exactly the entries a DELETE line names (and not written in the window), the
    ///    directory itself only when it is then empty: anything else in it (never synced) is kept
    ///    (`kept_unsynced`). A path the source still has is copied instead (deleted and made
    ///    again, or a hard link glusterfind reports as deleted).
    /// 3. A listed path (NEW, MODIFY, a rename's target) whose DST entry was written in the window
    ///    and differs from SRC's is not copied (`kept_changed`).
    /// 4. The reconcile, by name, of every directory a listed path is in, every renamed directory
    ///    and every new one. A name only DST has is removed only when nothing is lost with it:
    ///    another name of a file SRC has there (a link the pre-copy left), or an entry whose identity
    ///    (`--identity`, an extended attribute: on GlusterFS the FUSE mount's virtual
    ///    `glusterfs.gfid.string`, which geo-replication keeps across the volumes) SRC has at a
    ///    listed path (left by a rename the list lost: a rename then a modify is listed as
    ///    `MODIFY new` alone, upstream issue 3804). It is kept, for tree.diff and the commit gate
    ///    to show, when it was written on DST in the window (`kept_recent`), when SRC has its
    ///    identity under a name no line names (a rename DST made and never synced), or when SRC
    ///    has nothing with its identity (`kept_unsynced`: written on the original primary and
    ///    never synced before it was lost, or a delete the list lost; an entry without the
    ///    attribute counts as such). A name only SRC has that no line names is copied (a new
    ///    directory with all it holds) when SRC changed it in the window (or without `--since`);
    ///    otherwise DST deleted or renamed it: not copied back (`left_absent`).
    /// Never through a symlinked directory. With `--source-volume`/`--target-volume`, each tree
    /// must be a `fuse.glusterfs` mount of that volume in the mount table, checked before
    /// anything. Writes `WORK/copy0`, NUL-separated, for the one rsync that follows: NEW, MODIFY
    /// and rename targets not kept, the names the reconcile found, the reconciled directories
    /// themselves (for their times and modes) and the same-directory hard links of a listed
    /// file. Prints one JSON line of counts.
    public static let replay =
        prelude + ##"""
            import argparse, shutil, time
            parser = argparse.ArgumentParser(prog="tree.replay")
            for name in ("source", "target", "list", "work"):
                parser.add_argument(name)
            parser.add_argument("--ignore", action="append", default=[])
            parser.add_argument("--since", type=float)
            parser.add_argument("--fenced", type=float)
            parser.add_argument("--identity", default="glusterfs.gfid.string")
            parser.add_argument("--mounts", action="store_true")
            parser.add_argument("--source-volume")
            parser.add_argument("--target-volume")
            parser.add_argument("--mount-table", default="/proc/mounts")
            options = parser.parse_args()
            src, dst = roots([options.source, options.target], options.mounts,
                             (options.source_volume, options.target_volume), options.mount_table)
            ignore = set(map(os.fsencode, options.ignore))
            def parent(path):
                return path.rpartition(b"/")[0]
            def join(folder, name):
                return folder + b"/" + name if folder else name
            def under(root, path):
                # The path in root, or None when a directory on the way is a symlink (never followed).
                at = root
                for part in path.split(b"/")[:-1] if path else []:
                    at += b"/" + part
                    if os.path.islink(at):
                        return None
                return root + b"/" + path if path else root
            def isdir(path):
                return path is not None and os.path.isdir(path) and not os.path.islink(path)
            def lstat(path):
                try:
                    return os.lstat(path) if path is not None else None
                except OSError:
                    return None
            def exists(root, path):
                return lstat(under(root, path)) is not None
            def linked_names(a, b):
                # Two names of one file (not a directory): the same inode.
                x, y = os.lstat(a), os.lstat(b)
                return (not stat.S_ISDIR(x.st_mode) and x.st_nlink > 1
                        and (x.st_dev, x.st_ino) == (y.st_dev, y.st_ino))
            def identity(path):
                # What names an entry across the two trees (GlusterFS: its gfid), or None.
                try:
                    return os.getxattr(path, options.identity, follow_symlinks=False) if path else None
                except OSError:
                    return None
            def touched(info):
                # Changed on the target by its own clients during the window: its ctime (which no copy can
                # set) from the window's start to when the target was fenced for the failback (a change
                # after that, the reverse session's pre-copy or this replay, is not the target's own).
                if options.since is None or info is None:
                    return False
                return info.st_ctime >= options.since and (options.fenced is None or info.st_ctime < options.fenced)
            def written(info):
                # Its data written there then, too (its mtime in the window): not only linked, renamed or
                # chmod-ed (as the pre-copy links a renamed file's new name to the old one).
                return touched(info) and info.st_mtime >= options.since
            def changed_in_window(info):
                # The source changed the entry during the window (a write, a rename, a mode: its ctime).
                return options.since is None or max(info.st_mtime, info.st_ctime) >= options.since
            def same(a, b):
                # The same version: type, size and mtime to the second (what rsync -a and geo-replication keep).
                return (a is not None and b is not None and stat.S_IFMT(a.st_mode) == stat.S_IFMT(b.st_mode)
                        and a.st_size == b.st_size and int(a.st_mtime) == int(b.st_mtime))
            def stamp(t):
                return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
            def found(kind, path):
                # Whether a path glusterfind split on its commas is the row's own (see changes).
                if kind == "DELETE":
                    return exists(dst, path) and not exists(src, path)
                return exists(dst if kind == "RENAME" else src, path)
            items = changes(options.list, ignore, found)
            counts = dict(renamed=0, renames_skipped=0, deleted=0, deletes_absent=0, deletes_kept=0,
                          removed_stale=0, kept_recent=0, kept_unsynced=0, kept_changed=0, added_unlisted=0,
                          left_absent=0, rejoined=len(JOINED))
            skipped, removed, unsynced, changed, absent, copy, dirs = [], [], [], [], [], set(), {b""}
            listed_ids = None
            # What the target held before anything here changed it (a rename or an unlink moves its ctime).
            before = {}
            def target_info(path):
                return before[path] if path in before else lstat(under(dst, path))
            held = set()
            def hold(path):
                # A path kept on the target, and the directories holding it: the reconcile leaves them be.
                if path in held:
                    return False
                while path and path not in held:
                    held.add(path)
                    path = parent(path)
                return True
            def keep_changed(path, info, what):
                if not hold(path):
                    return
                counts["kept_changed"] += 1
                changed.append(show(path))
                skipped.append("kept %s: changed on the target at %s, after the window's start; %s"
                               % (show(path), stamp(info.st_ctime), what))
            def keep_unsynced(path, why):
                if not hold(path):
                    return
                counts["kept_unsynced"] += 1
                unsynced.append(show(path))
                skipped.append("kept %s: %s" % (show(path), why))
            moved = []
            for kind, paths in items:
                if kind == "RENAME":
                    old, new = paths
                    copy.add(new)
                    dirs.update((parent(old), parent(new), new))
                    prior, after = under(dst, old), under(dst, new)
                    if prior is None or after is None:
                        why = "a directory on the way is a symlink in the target"
                    elif not os.path.lexists(prior):
                        why = "the old name is not in the target"
                    elif os.path.lexists(after) and linked_names(prior, after):
                        # A gfid-based pre-copy (the reverse geo-rep session) made the new name a
                        # hard link of the old one: dropping the old name completes the rename.
                        before[new] = os.lstat(after)
                        os.unlink(prior)
                        counts["renamed"] += 1
                        continue
                    elif os.path.lexists(after):
                        why = "the new name is already in the target"
                    else:
                        before[new] = os.lstat(prior)
                        os.makedirs(os.path.dirname(after), exist_ok=True)
                        os.rename(prior, after)
                        moved.append((old, new))
                        counts["renamed"] += 1
                        continue
                    counts["renames_skipped"] += 1
                    skipped.append("RENAME %s %s: %s" % (show(old), show(new), why))
            def through(path):
                # Where a path is in the target after the renames applied: a delete listed with the old name
                # of a directory renamed later in the window.
                for old, new in moved:
                    if path == old or path.startswith(old + b"/"):
                        path = new + path[len(old):]
                return path
            deleting = set()
            for kind, paths in items:
                if kind == "DELETE":
                    path = paths[0]
                    deleting.add(path if exists(dst, path) or exists(src, path) else through(path))
            def prune(path):
                # Removes what the list deleted in the directory path of the target: the entries a DELETE line
                # names that did not change on the target during the window. Anything else is kept, and so are
                # the directories holding it. True when path itself went.
                top, keep = under(dst, path), False
                for name in sorted(os.listdir(top)):
                    child = join(path, name)
                    info = os.lstat(top + b"/" + name)
                    if stat.S_ISDIR(info.st_mode):
                        keep = not prune(child) or keep
                    elif child not in deleting:
                        keep = True
                        keep_unsynced(child, "in a directory the source deleted, but no line deletes it (written on"
                                      " the target and never synced?)")
                    elif written(info):
                        keep = True
                        keep_changed(child, info, "the source deleted it")
                    else:
                        os.unlink(top + b"/" + name)
                if keep or path not in deleting:
                    if not keep:
                        keep_unsynced(path, "a directory the source deleted, but no line deletes it")
                    return False
                os.rmdir(top)
                return True
            for kind, paths in items:
                if kind == "DELETE":
                    path = paths[0]
                    if not exists(dst, path) and not exists(src, path):
                        path = through(path)
                    dirs.add(parent(path))
                    source, target = under(src, path), under(dst, path)
                    if source is not None and os.path.lexists(source):
                        copy.add(path)
                        dirs.add(path)
                        counts["deletes_kept"] += 1
                    elif target is None:
                        counts["deletes_absent"] += 1
                        skipped.append("DELETE %s: a directory on the way is a symlink in the target" % show(path))
                    elif not os.path.lexists(target):
                        counts["deletes_absent"] += 1
                    elif isdir(target):
                        if prune(path):
                            counts["deleted"] += 1
                    elif written(target_info(path)):
                        keep_changed(path, target_info(path), "the source deleted it")
                    else:
                        os.unlink(target)
                        counts["deleted"] += 1
            for kind, paths in items:
                if kind in ("NEW", "MODIFY"):
                    copy.add(paths[0])
                    dirs.update((parent(paths[0]), paths[0]))
            # A listed path whose entry the target changed itself during the window is not copied over.
            for path in sorted(copy):
                info = target_info(path)
                if info is not None and not stat.S_ISDIR(info.st_mode) and written(info):
                    if not same(info, lstat(under(src, path))):
                        copy.discard(path)
                        keep_changed(path, info, "the source's version is not copied over it")
            pending, seen, listed_paths = sorted(dirs), set(), set(copy)
            while pending:
                folder = pending.pop()
                source, target = under(src, folder), under(dst, folder)
                if folder in seen or not isdir(source):
                    continue
                seen.add(folder)
                copy.add(folder or b".")
                names = set(os.listdir(source))
                there = set(os.listdir(target)) if isdir(target) else set()
                if not folder:
                    names = {n for n in names if not ignored(n, ignore)}
                    there = {n for n in there if not ignored(n, ignore)}
                kept = {}
                for name in there & names:
                    info = os.lstat(target + b"/" + name)
                    if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                        kept[(info.st_dev, info.st_ino)] = name
                for name in sorted(there - names):
                    if join(folder, name) in held:
                        continue
                    at = target + b"/" + name
                    info = os.lstat(at)
                    if stat.S_ISREG(info.st_mode) and (info.st_dev, info.st_ino) in kept:
                        # Another name of a file the source has here (what a gfid-based pre-copy
                        # leaves of a rename: a link under the new name): nothing is lost with it.
                        os.unlink(at)
                        counts["removed_stale"] += 1
                        removed.append(show(join(folder, name)))
                    elif touched(info):
                        counts["kept_recent"] += 1
                        skipped.append("kept %s: changed on the target during the window" % show(join(folder, name)))
                    else:
                        mine = identity(at)
                        if mine is not None and listed_ids is None:
                            listed_ids = {identity(under(src, path)) for path in listed_paths}
                        if mine is not None and mine in listed_ids:
                            # The source has it under a name a line of the window names (a rename the list lost:
                            # a rename then a modify is listed as `MODIFY new` alone, upstream issue 3804).
                            if isdir(at):
                                shutil.rmtree(at)
                            else:
                                os.unlink(at)
                            counts["removed_stale"] += 1
                            removed.append(show(join(folder, name)))
                        elif mine is not None and mine in {identity(source + b"/" + n) for n in names - there}:
                            keep_unsynced(join(folder, name), "the source has its %s under another name that no line"
                                          " of the window names: renamed on the target and never synced?" % options.identity)
                        else:
                            keep_unsynced(join(folder, name), "only the target has it and the source has nothing with"
                                          " its %s (never synced before the primary was lost?)" % options.identity)
                for name in sorted(names - there):
                    path = join(folder, name)
                    if path in copy:
                        continue
                    info = os.lstat(source + b"/" + name)
                    if changed_in_window(info):
                        copy.add(path)
                        pending.append(path)
                        counts["added_unlisted"] += 1
                    else:
                        counts["left_absent"] += 1
                        absent.append(show(path))
                        skipped.append("not copied %s: only the source has it, no line names it and it did not change there"
                                       " during the window (deleted or renamed on the target?)" % show(path))
            # A new hard link is listed alone (NEW link): its other names in that directory go with it, so
            # that rsync -H links them. Links in other directories are not searched for (tree.diff shows them).
            inodes, linked = {}, 0
            for path in sorted(copy):
                source = under(src, path)
                try:
                    info = os.lstat(source) if source else None
                except OSError:
                    continue
                if info and stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                    folder = parent(path)
                    if folder not in inodes:
                        inodes[folder] = {}
                        with os.scandir(os.path.dirname(source)) as entries:
                            for entry in entries:
                                if entry.is_file(follow_symlinks=False):
                                    other = entry.stat(follow_symlinks=False)
                                    inodes[folder].setdefault((other.st_dev, other.st_ino), []).append(entry.name)
                    for name in inodes[folder].get((info.st_dev, info.st_ino), []):
                        if join(folder, name) not in copy:
                            copy.add(join(folder, name))
                            linked += 1
            # rsync reads `.` in --files-from as the root and its immediate entries (--files-from
            # implies --dirs): the root's names that are not to be copied (kept on the target, left
            # absent, or in no line) are excluded, anchored at the root, wildcards escaped. A
            # directory both trees have stays in (only its times and mode are copied: no data).
            beneath = {path.split(b"/")[0] for path in copy if b"/" in path}
            rules = []
            for name in sorted(os.listdir(src)):
                if ignored(name, ignore) or name in copy or name in beneath:
                    continue
                if isdir(src + b"/" + name) and isdir(dst + b"/" + name):
                    continue
                if any(c in name for c in b"*?["):
                    name = b"".join(b"\\" + bytes([c]) if c in b"\\*?[" else bytes([c]) for c in name)
                rules.append(b"/" + name)
            os.makedirs(options.work, exist_ok=True)
            with open(os.path.join(options.work, "copy0"), "wb") as f:
                f.write(b"".join(path + b"\0" for path in sorted(copy)))
            with open(os.path.join(options.work, "exclude0"), "wb") as f:
                f.write(b"".join(rule + b"\0" for rule in rules))
            lines = {}
            for kind, _ in items:
                lines[kind] = lines.get(kind, 0) + 1
            print(json.dumps(dict(counts, lines=lines, copy=len(copy), dirs=len(seen), linked=linked,
                                  removed=removed[:20], unsynced=unsynced[:20], changed=changed[:20], absent=absent[:20],
                                  skipped=skipped[:20], skipped_count=len(skipped))))

            """##

    /// Runs its arguments as a command (no shell) with stdout read here: counts the lines (rsync's
    /// `--itemize-changes`, one per item, names with a newline spelled `\#012`), keeps the first 20,
    /// and prints them as one JSON line; stderr passes through; exits with the command's status.
    public static let itemize = ##"""
        import json, subprocess, sys
        process = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
        count, first = 0, []
        for line in process.stdout:
            count += 1
            if len(first) < 20:
                first.append(line.rstrip(b"\n").decode("utf-8", "backslashreplace"))
        status = process.wait()
        print(json.dumps({"itemized": count, "first": first, "exit": status}))
        sys.exit(status)

        """##

    /// `tree.diff`: `SOURCE TARGET [--limit N] [--ignore NAME]... [--checksum none|all|listed]
    /// [--path P]... [--list FILE]... [--mounts] [--no-root-mtime] [--no-dir-mtime]`.
    ///
    /// Walks both trees together, directory by directory (memory grows with a directory's width and
    /// the tree's depth, not its size), comparing each entry by `lstat`: its type; for files the size;
    /// the permission bits (not for symlinks); owner and group; the mtime to the second (rsync's
    /// default comparison); a symlink's target; and, when asked, a file's content (byte for byte,
    /// when the sizes are equal). Hard links are compared as the groups of names sharing an inode
    /// in each tree; with `--xattrs`, extended attributes (POSIX ACLs included); with `--sparse`,
    /// whether a file has holes (allocated bytes short of its size by more than 64 KiB) on one
    /// side only. Not compared: a symlink's own mtime, allocated blocks otherwise. With `--write FILE`, every `+` and `~` path (not only
    /// the first N) goes to FILE, NUL-separated, for tree.copy. The root counts as `.`. Prints one
    /// JSON line: counts, the first N differences as `+ PATH` (only in the source), `- PATH` (only in
    /// the target), `~ PATH (what differs)`, and the seconds it took.
    public static let diff =
        prelude + ##"""
            import argparse, time
            started = time.monotonic()
            sys.setrecursionlimit(10000)
            parser = argparse.ArgumentParser(prog="tree.diff")
            parser.add_argument("source")
            parser.add_argument("target")
            parser.add_argument("--limit", type=int, default=20)
            parser.add_argument("--ignore", action="append", default=[])
            parser.add_argument("--checksum", choices=["none", "all", "listed"], default="none")
            parser.add_argument("--path", action="append", default=[])
            parser.add_argument("--list", action="append", default=[])
            parser.add_argument("--mounts", action="store_true")
            parser.add_argument("--no-root-mtime", action="store_true")
            parser.add_argument("--no-dir-mtime", action="store_true")
            parser.add_argument("--xattrs", action="store_true")
            parser.add_argument("--sparse", action="store_true")
            parser.add_argument("--source-volume")
            parser.add_argument("--target-volume")
            parser.add_argument("--mount-table", default="/proc/mounts")
            parser.add_argument("--write")
            options = parser.parse_args()
            trees = roots([options.source, options.target], options.mounts,
                          (options.source_volume, options.target_volume), options.mount_table)
            if options.write:
                os.makedirs(os.path.dirname(options.write) or ".", exist_ok=True)
            differing = open(options.write, "wb") if options.write else None
            ignore = set(map(os.fsencode, options.ignore))
            listed = set(map(os.fsencode, options.path))
            for name in options.list:
                for kind, paths in changes(name, ignore, lambda kind, path: os.path.lexists(trees[0] + b"/" + path)):
                    if kind != "DELETE":
                        listed.add(paths[-1])
            found = dict(differences=0, only_source=0, only_target=0, changed=0, entries=0, compared=0)
            lines, links = [], [{}, {}]
            def note(sign, path, what=""):
                found["differences"] += 1
                found[{"+": "only_source", "-": "only_target", "~": "changed"}[sign]] += 1
                if len(lines) < options.limit:
                    lines.append("%s %s%s" % (sign, show(path), " (%s)" % what if what else ""))
                if differing is not None and sign != "-":
                    # What a copy from the source would change: every `+` and `~` entry, never a `-` one.
                    differing.write((path or b".") + b"\0")
            def sparse(info):
                # Holes: fewer bytes allocated than the size, by more than a block's rounding.
                return info.st_blocks * 512 + 65536 < info.st_size
            def xattrs(side, path):
                # Extended attributes, ACLs included (system.posix_acl_access, _default), by name.
                at = trees[side] + b"/" + path if path else trees[side]
                try:
                    return {name: os.getxattr(at, name, follow_symlinks=False)
                            for name in os.listxattr(at, follow_symlinks=False)}
                except OSError:
                    return {}
            def kind(info):
                mode = info.st_mode
                if stat.S_ISDIR(mode):
                    return "dir"
                return "file" if stat.S_ISREG(mode) else "symlink" if stat.S_ISLNK(mode) else "special"
            def entries(side, folder):
                result = {}
                with os.scandir(trees[side] + b"/" + folder if folder else trees[side]) as scan:
                    for entry in scan:
                        if folder or not ignored(entry.name, ignore):
                            result[entry.name] = entry.stat(follow_symlinks=False)
                return result
            def same_content(path):
                with open(trees[0] + b"/" + path, "rb") as a, open(trees[1] + b"/" + path, "rb") as b:
                    while True:
                        x, y = a.read(1 << 20), b.read(1 << 20)
                        if x != y:
                            return False
                        if not x:
                            return True
            def one_side(side, path, info):
                # Each entry under a name only one tree has is a difference of its own, as rsync lists it.
                found["entries"] += 1
                note("+" if side == 0 else "-", path)
                if stat.S_ISDIR(info.st_mode):
                    for name, child in sorted(entries(side, path).items()):
                        one_side(side, path + b"/" + name, child)
            def compare(path, a, b):
                found["entries"] += 1
                what, ka, kb = [], kind(a), kind(b)
                if ka != kb:
                    what.append("%s -> %s" % (ka, kb))
                else:
                    if ka == "file" and a.st_size != b.st_size:
                        what.append("size %d -> %d" % (a.st_size, b.st_size))
                    if ka != "symlink" and stat.S_IMODE(a.st_mode) != stat.S_IMODE(b.st_mode):
                        what.append("mode %o -> %o" % (stat.S_IMODE(a.st_mode), stat.S_IMODE(b.st_mode)))
                    if (a.st_uid, a.st_gid) != (b.st_uid, b.st_gid):
                        what.append("owner %d:%d -> %d:%d" % (a.st_uid, a.st_gid, b.st_uid, b.st_gid))
                    if ka != "symlink" and int(a.st_mtime) != int(b.st_mtime):
                        what.append("mtime")
                    if ka == "symlink" and os.readlink(trees[0] + b"/" + path) != os.readlink(trees[1] + b"/" + path):
                        what.append("link target")
                    if options.xattrs and ka != "symlink":
                        x, y = xattrs(0, path), xattrs(1, path)
                        for name in sorted(set(x) | set(y)):
                            if x.get(name) != y.get(name):
                                what.append("acl" if name.startswith("system.posix_acl_") else "xattr %s" % name)
                    if options.sparse and ka == "file" and sparse(a) != sparse(b):
                        what.append("sparse -> allocated" if sparse(a) else "allocated -> sparse")
                    if ka == "file" and a.st_size == b.st_size and (options.checksum == "all" or path in listed):
                        found["compared"] += 1
                        if not same_content(path):
                            what.append("content")
                    for side, info in ((0, a), (1, b)):
                        if ka == "file" and info.st_nlink > 1:
                            links[side].setdefault((info.st_dev, info.st_ino), []).append(path)
                if (not path and options.no_root_mtime) or (ka == kb == "dir" and options.no_dir_mtime):
                    what = [w for w in what if w != "mtime"]
                if what:
                    note("~", path or b".", ", ".join(what))
                for side, info in ((0, a), (1, b)):
                    if stat.S_ISDIR(info.st_mode) and (ka != kb):
                        for name, child in sorted(entries(side, path).items()):
                            one_side(side, path + b"/" + name, child)
                if ka == kb == "dir":
                    left, right = entries(0, path), entries(1, path)
                    for name in sorted(set(left) | set(right)):
                        child = path + b"/" + name if path else name
                        if name not in right:
                            one_side(0, child, left[name])
                        elif name not in left:
                            one_side(1, child, right[name])
                        else:
                            compare(child, left[name], right[name])
            compare(b"", os.lstat(trees[0]), os.lstat(trees[1]))
            groups = [{}, {}]
            for side in (0, 1):
                for paths in links[side].values():
                    for path in paths:
                        groups[side][path] = sorted(paths)
            for path in sorted(set(groups[0]) | set(groups[1])):
                a, b = groups[0].get(path, [path]), groups[1].get(path, [path])
                if a != b:
                    note("~", path, "hard links: %s -> %s" % (" ".join(map(show, a[:3])), " ".join(map(show, b[:3]))))
            if differing is not None:
                differing.close()
            print(json.dumps(dict(found, lines=lines, seconds=round(time.monotonic() - started, 3))))

            """##

    /// `glusterfind.changes`' count of a list: `LIST`; decodes every line (a malformed list exits 2
    /// naming the line) and prints `{"lines": {TYPE: N}, "bytes": SIZE}`.
    public static let count =
        prelude + ##"""
            lines = {}
            for kind, _ in changes(sys.argv[1]):
                lines[kind] = lines.get(kind, 0) + 1
            print(json.dumps({"lines": lines, "bytes": os.path.getsize(sys.argv[1])}))

            """##

    // MARK: What they print

    /// What ``replay`` prints.
    public struct ReplayReport: Codable, Sendable, Hashable {
        public var renamed: Int
        public var renamesSkipped: Int
        public var deleted: Int
        public var deletesAbsent: Int
        public var deletesKept: Int
        public var removedStale: Int
        public var keptRecent: Int
        public var keptUnsynced: Int
        public var keptChanged: Int
        public var addedUnlisted: Int
        public var leftAbsent: Int
        public var rejoined: Int
        public var lines: [String: Int]
        public var copy: Int
        public var dirs: Int
        public var linked: Int
        public var removed: [String]
        public var unsynced: [String]
        public var changed: [String]
        public var absent: [String]
        public var skipped: [String]
        public var skippedCount: Int
    }

    /// What ``itemize`` prints.
    public struct ItemizeReport: Codable, Sendable, Hashable {
        public var itemized: Int
        public var first: [String]
        public var exit: Int
    }

    /// What ``diff`` prints.
    public struct DiffReport: Codable, Sendable, Hashable {
        public var differences: Int
        public var onlySource: Int
        public var onlyTarget: Int
        public var changed: Int
        public var entries: Int
        public var compared: Int
        public var lines: [String]
        public var seconds: Double
    }

    /// What ``count`` prints.
    public struct CountReport: Codable, Sendable, Hashable {
        public var lines: [String: Int]
        public var bytes: Int
    }

    /// The report on the last non-empty line of a program's output, or nil.
    public static func report<T: Decodable>(_ type: T.Type, in stdout: String) -> T? {
        guard let line = stdout.split(separator: "\n").last(where: { !$0.isEmpty }) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try? decoder.decode(type, from: Data(line.utf8))
    }

    /// The program's own message (`runbook: ...` on stderr), or the last line it printed there.
    public static func message(_ result: CommandResult) -> String {
        let lines = result.stderr.split(separator: "\n")
        if let own = lines.last(where: { $0.hasPrefix("runbook: ") }) { return String(own.dropFirst(9)) }
        return lines.last.map(String.init) ?? "no message"
    }
}
