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
    /// The change-list decoder every program starts with (the same rules as ``ChangeList``).
    /// `changes(FILE, IGNORE)` returns `[(TYPE, [path bytes])]`; a malformed list exits 2 before
    /// anything was changed, naming the line.
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
        def decode(field, number):
            parts = field.split(b"%")
            out = [parts[0]]
            for part in parts[1:]:
                if part[:2] not in CODES:
                    die("line %d: %%%s is not an escape glusterfind writes (%%20 %%0A %%25)"
                        % (number, os.fsdecode(part[:2])))
                out += [CODES[part[:2]], part[2:]]
            path = b"".join(out)
            if path.startswith(b"/") or any(c in (b"", b".", b"..") for c in path.split(b"/")):
                die("line %d: %s is not a relative path inside the tree" % (number, show(path)))
            return path
        def ignored(name, ignore):
            # A name at the root left out: given exactly, or by a prefix ending in * (a volume's
            # .glusterfs-anonymous-inode-<volume id> directory differs on every volume).
            return name in ignore or any(p.endswith(b"*") and name.startswith(p[:-1]) for p in ignore)
        def changes(name, ignore=()):
            with open(name, "rb") as f:
                data = f.read()
            result = []
            for number, line in enumerate(data.split(b"\n"), 1):
                if not line:
                    continue
                fields = line.split(b" ")
                if KINDS.get(fields[0]) != len(fields) - 1:
                    die("line %d: %s is not TYPE PATH or RENAME OLD NEW (TYPE: NEW MODIFY RENAME DELETE)"
                        % (number, show(line[:200])))
                paths = [decode(field, number) for field in fields[1:]]
                if not any(ignored(path.split(b"/")[0], ignore) for path in paths):
                    result.append((fields[0].decode(), paths))
            return result
        def show(path):
            # rsync's spelling of a name in its output: control bytes, invalid UTF-8 and \ as \#ooo.
            out = []
            for c in os.fsdecode(path):
                code = ord(c) - 0xDC00 if 0xDC80 <= ord(c) <= 0xDCFF else ord(c)
                bad = code < 32 or code == 127 or c == "\\" or 0xDC80 <= ord(c) <= 0xDCFF
                out.append("\\#%03o" % code if bad else c)
            return "".join(out)
        def roots(paths, mounts):
            result = [os.fsencode(path).rstrip(b"/") or b"/" for path in paths]
            for root in result:
                if not os.path.isdir(root):
                    die("%s is not a directory" % os.fsdecode(root))
                if mounts and not os.path.ismount(root):
                    die("%s is not a mount point (is the volume mounted?)" % os.fsdecode(root))
            real = sorted(os.path.realpath(root) for root in result)
            if real[0] == real[1] or real[1].startswith(real[0].rstrip(b"/") + b"/"):
                die("the source and the target overlap: %s, %s" % tuple(map(os.fsdecode, real)))
            return result

        """##

    /// `tree.replay`'s first command: `SRC DST LIST WORK [--ignore NAME]... [--since EPOCH]
    /// [--identity XATTR] [--mounts]`.
    ///
    /// 1. Renames on DST, when the old name is there and the new one is not (creating its parent),
    ///    or when the new one is a hard link of the old (a gfid-based pre-copy, the reverse geo-rep
    ///    session, links the new name to the file's gfid and leaves the old one): the old name goes.
    /// 2. Deletes: a file or a whole tree, when present; a path the source still has is copied
    ///    instead (deleted and made again, or a hard link glusterfind reports as deleted).
    /// 3. The reconcile, by name, of every directory a listed path is in, every renamed directory
    ///    and every new one. A name only DST has is removed only when nothing is lost with it:
    ///    another name of a file SRC has there (a link the pre-copy left), or an entry whose identity
    ///    (`--identity`, an extended attribute: on GlusterFS the FUSE mount's virtual
    ///    `glusterfs.gfid.string`, which geo-replication keeps across the volumes) SRC has under
    ///    another name there or at a listed path (left by a rename the list lost: a rename then a
    ///    modify is listed as `MODIFY new` alone, upstream issue 3804). It is kept, for tree.diff
    ///    and the commit gate to show, when it changed on DST since `--since` (a write there during
    ///    the window) or when SRC has nothing with its identity (`kept_unsynced`: written on the
    ///    original primary and never synced before it was lost, or a delete the list lost; an
    ///    entry without the attribute counts as such). A name only SRC has that no line names is
    ///    copied (a new directory with all it holds).
    /// Never through a symlinked directory. Writes `WORK/copy0`, NUL-separated, for the one rsync
    /// that follows: NEW, MODIFY and rename targets, the names the reconcile found, the reconciled
    /// directories themselves (for their times and modes) and the same-directory hard links of a
    /// listed file. Prints one JSON line of counts.
    public static let replay =
        prelude + ##"""
            import argparse, shutil
            parser = argparse.ArgumentParser(prog="tree.replay")
            for name in ("source", "target", "list", "work"):
                parser.add_argument(name)
            parser.add_argument("--ignore", action="append", default=[])
            parser.add_argument("--since", type=float)
            parser.add_argument("--identity", default="glusterfs.gfid.string")
            parser.add_argument("--mounts", action="store_true")
            options = parser.parse_args()
            src, dst = roots([options.source, options.target], options.mounts)
            ignore = set(map(os.fsencode, options.ignore))
            items = changes(options.list, ignore)
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
            def linked_names(a, b):
                # Two names of one file (not a directory): the same inode.
                x, y = os.lstat(a), os.lstat(b)
                return (not stat.S_ISDIR(x.st_mode) and x.st_nlink > 1
                        and (x.st_dev, x.st_ino) == (y.st_dev, y.st_ino))
            def remove(path):
                if isdir(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
            def identity(path):
                # What names the entry across the two trees (GlusterFS: its gfid), or None.
                try:
                    return os.getxattr(path, options.identity, follow_symlinks=False) if path else None
                except OSError:
                    return None
            counts = dict(renamed=0, renames_skipped=0, deleted=0, deletes_absent=0, deletes_kept=0,
                          removed_stale=0, kept_recent=0, kept_unsynced=0, added_unlisted=0)
            skipped, removed, unsynced, copy, dirs = [], [], [], set(), {b""}
            listed_ids = None
            for kind, paths in items:
                if kind == "RENAME":
                    old, new = paths
                    copy.add(new)
                    dirs.update((parent(old), parent(new), new))
                    before, after = under(dst, old), under(dst, new)
                    if before is None or after is None:
                        why = "a directory on the way is a symlink in the target"
                    elif not os.path.lexists(before):
                        why = "the old name is not in the target"
                    elif os.path.lexists(after) and linked_names(before, after):
                        # A gfid-based pre-copy (the reverse geo-rep session) made the new name a
                        # hard link of the old one: dropping the old name completes the rename.
                        os.unlink(before)
                        counts["renamed"] += 1
                        continue
                    elif os.path.lexists(after):
                        why = "the new name is already in the target"
                    else:
                        os.makedirs(os.path.dirname(after), exist_ok=True)
                        os.rename(before, after)
                        counts["renamed"] += 1
                        continue
                    counts["renames_skipped"] += 1
                    skipped.append("RENAME %s %s: %s" % (show(old), show(new), why))
            for kind, paths in items:
                if kind == "DELETE":
                    path = paths[0]
                    dirs.add(parent(path))
                    source, target = under(src, path), under(dst, path)
                    if source is not None and os.path.lexists(source):
                        copy.add(path)
                        dirs.add(path)
                        counts["deletes_kept"] += 1
                    elif target is None:
                        counts["deletes_absent"] += 1
                        skipped.append("DELETE %s: a directory on the way is a symlink in the target" % show(path))
                    elif os.path.lexists(target):
                        remove(target)
                        counts["deleted"] += 1
                    else:
                        counts["deletes_absent"] += 1
            for kind, paths in items:
                if kind in ("NEW", "MODIFY"):
                    copy.add(paths[0])
                    dirs.update((parent(paths[0]), paths[0]))
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
                kept, here_ids = {}, None
                for name in there & names:
                    info = os.lstat(target + b"/" + name)
                    if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                        kept[(info.st_dev, info.st_ino)] = name
                for name in sorted(there - names):
                    at = target + b"/" + name
                    info = os.lstat(at)
                    if stat.S_ISREG(info.st_mode) and (info.st_dev, info.st_ino) in kept:
                        # Another name of a file the source has here (what a gfid-based pre-copy
                        # leaves of a rename: a link under the new name): nothing is lost with it.
                        os.unlink(at)
                        counts["removed_stale"] += 1
                        removed.append(show(join(folder, name)))
                    elif options.since is not None and info.st_ctime >= options.since:
                        counts["kept_recent"] += 1
                        skipped.append("kept %s: changed on the target during the window" % show(join(folder, name)))
                    else:
                        mine = identity(at)
                        if mine is not None and here_ids is None:
                            here_ids = {identity(source + b"/" + n) for n in names}
                        if mine is not None and mine not in here_ids and listed_ids is None:
                            listed_ids = {identity(under(src, path)) for path in listed_paths}
                        if mine is not None and (mine in here_ids or mine in listed_ids):
                            remove(at)
                            counts["removed_stale"] += 1
                            removed.append(show(join(folder, name)))
                        else:
                            counts["kept_unsynced"] += 1
                            unsynced.append(show(join(folder, name)))
                            skipped.append("kept %s: only the target has it and the source has nothing with its %s"
                                           " (never synced before the primary was lost?)"
                                           % (show(join(folder, name)), options.identity))
                for name in sorted(names - there):
                    if join(folder, name) not in copy:
                        copy.add(join(folder, name))
                        pending.append(join(folder, name))
                        counts["added_unlisted"] += 1
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
            os.makedirs(options.work, exist_ok=True)
            with open(os.path.join(options.work, "copy0"), "wb") as f:
                f.write(b"".join(path + b"\0" for path in sorted(copy)))
            lines = {}
            for kind, _ in items:
                lines[kind] = lines.get(kind, 0) + 1
            print(json.dumps(dict(counts, lines=lines, copy=len(copy), dirs=len(seen), linked=linked,
                                  removed=removed[:20], unsynced=unsynced[:20], skipped=skipped[:20],
                                  skipped_count=len(skipped))))

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
    /// in each tree. Not compared: ACLs, xattrs, a symlink's own mtime. The root counts as `.`. Prints one
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
            options = parser.parse_args()
            trees = roots([options.source, options.target], options.mounts)
            ignore = set(map(os.fsencode, options.ignore))
            listed = set(map(os.fsencode, options.path))
            for name in options.list:
                for kind, paths in changes(name, ignore):
                    if kind != "DELETE":
                        listed.add(paths[-1])
            found = dict(differences=0, only_source=0, only_target=0, changed=0, entries=0, compared=0)
            lines, links = [], [{}, {}]
            def note(sign, path, what=""):
                found["differences"] += 1
                found[{"+": "only_source", "-": "only_target", "~": "changed"}[sign]] += 1
                if len(lines) < options.limit:
                    lines.append("%s %s%s" % (sign, show(path), " (%s)" % what if what else ""))
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
        public var addedUnlisted: Int
        public var lines: [String: Int]
        public var copy: Int
        public var dirs: Int
        public var linked: Int
        public var removed: [String]
        public var unsynced: [String]
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
