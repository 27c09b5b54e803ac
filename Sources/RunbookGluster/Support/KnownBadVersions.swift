/// The known-bad list of the `known-bad-versions` preflight check: package versions (and OS
/// releases) with which geo-replication is known to break, each with its tracker issue. This is
/// data: add an entry here (or, at a site, in the step's `known_bad`) when a new one is found.
///
/// A version pattern is `=V` (exactly V), `<V`, `>=V` (compared by their leading numbers:
/// `3.11.2-1+b1` is 3.11.2), or `V*` (starts with V). `gluster` narrows an entry to nodes whose
/// `glusterfs-server` package matches it (nil: any).
public enum KnownBadVersions {
    public struct Entry: Sendable, Hashable {
        /// `rsync`, `python3`, `glusterfs-server`, or `os` (`ID VERSION_ID` of /etc/os-release).
        public var package: String
        public var version: String
        public var gluster: String?
        public var issue: String
        public var why: String
        public var fix: String
    }

    public static let entries: [Entry] = [
        Entry(
            package: "rsync", version: "=3.5.0+ds1-0+deb12u1", gluster: nil,
            issue: "https://github.com/gluster/glusterfs/issues/4533",
            why:
                "geo-rep's rsync copies files as empty and exits 0, the session stays Active and checkpoints complete (measured in the two-site lab, Examples/lab/README.md)",
            fix:
                "apt-get install --allow-downgrades rsync=3.2.7-1+deb12u6, then apt-mark hold rsync until a fixed one is out"
        ),
        Entry(
            package: "rsync", version: "=3.2.7-0ubuntu0.22.04.3", gluster: nil,
            issue: "https://github.com/gluster/glusterfs/issues/4533",
            why: "the USN-7206-1 rsync update breaks geo-replication on 11.1",
            fix: "downgrade rsync and hold it (apt-mark hold rsync)"),
        Entry(
            package: "os", version: "=ubuntu 24.04", gluster: "11.*",
            issue: "https://github.com/gluster/glusterfs/issues/4480",
            why:
                "`create push-pem` fails with \"Unable to get statefile's name\" on Ubuntu 24.04 with 11.1 (and 11.2, issue 4629)",
            fix: "create the session from nodes of another release, or keep Ubuntu 22.04 on the nodes that run it"),
        Entry(
            package: "python3", version: ">=3.9", gluster: "<9.3",
            issue: "https://github.com/gluster/glusterfs/issues/2440",
            why: "gsyncd calls Thread.isAlive, which Python 3.9 removed: workers crash (fixed in 9.3 and 10.0)",
            fix: "upgrade GlusterFS to 9.3 or later"),
    ]

    /// Whether `version` matches `pattern` (see the type's documentation).
    public static func matches(_ version: String, _ pattern: String) -> Bool {
        if pattern.hasPrefix(">=") { return compare(version, String(pattern.dropFirst(2))) >= 0 }
        if pattern.hasPrefix("<") { return compare(version, String(pattern.dropFirst(1))) < 0 }
        if pattern.hasPrefix("=") { return version == pattern.dropFirst() }
        if pattern.hasSuffix("*") { return version.hasPrefix(pattern.dropLast()) }
        return version == pattern
    }

    /// Compares the leading dotted numbers of two versions (an epoch `1:` is skipped).
    static func compare(_ a: String, _ b: String) -> Int {
        func numbers(_ text: String) -> [Int] {
            let body = text.split(separator: ":", maxSplits: 1).last.map(String.init) ?? text
            let head = body.prefix { $0.isNumber || $0 == "." }
            return head.split(separator: ".").compactMap { Int($0) }
        }
        let x = numbers(a)
        let y = numbers(b)
        for i in 0..<max(x.count, y.count) {
            let l = i < x.count ? x[i] : 0
            let r = i < y.count ? y[i] : 0
            if l != r { return l < r ? -1 : 1 }
        }
        return 0
    }
}
