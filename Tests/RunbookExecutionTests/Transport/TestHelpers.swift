import RunbookCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Arguments whose every character means something to a shell.
let trickyArguments: [String] = [
    "a b",
    "it's",
    "\"double\"",
    "$(echo pwned)",
    "; echo injected",
    "`id`",
    "back\\slash",
    "",
    "*",
    "tab\there",
    "new\nline",
    "$HOME",
    "~",
    "a=b",
    "-n",
    "x'\"'\"y",
]

/// `sh -c` script printing each argument as `<arg>`.
let printArgsScript = "for a in \"$@\"; do printf '<%s>' \"$a\"; done"

/// What `printArgsScript` prints for `args`.
func bracketed(_ args: [String]) -> String {
    args.map { "<\($0)>" }.joined()
}

/// Whether `pid` is a live (non-zombie) process.
func isAlive(_ pid: Int32) -> Bool {
    guard let f = fopen("/proc/\(pid)/stat", "r") else { return false }
    defer { fclose(f) }
    var buffer = [CChar](repeating: 0, count: 1024)
    guard fgets(&buffer, Int32(buffer.count), f) != nil else { return false }
    let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // Format: pid (comm) STATE ...; comm may contain spaces, so split after the last ')'.
    guard let close = line.lastIndex(of: ")") else { return false }
    let rest = line[line.index(after: close)...].drop { $0 == " " }
    return rest.first != "Z" && rest.first != "X"
}

/// Polls until `pid` is gone (reaped or zombie) or `seconds` pass.
func waitUntilGone(_ pid: Int32, seconds: Double = 30) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + .milliseconds(Int64(seconds * 1000))
    while clock.now < deadline {
        if !isAlive(pid) { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return !isAlive(pid)
}

/// Reads a small text file, or nil.
func readSmallFile(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buffer, 1, buffer.count, f)
        if n <= 0 { break }
        out += buffer[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

/// A fresh temporary directory.
func makeTempDirectory() -> String {
    var template = Array("/tmp/rb-test-XXXXXX".utf8CString)
    return String(cString: mkdtemp(&template)!)
}

/// Names of Unix sockets directly inside `directory`.
func sockets(in directory: String) -> [String] {
    guard let dir = opendir(directory) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name == "." || name == ".." { continue }
        var st = stat()
        if stat(directory + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK {
            names.append(name)
        }
    }
    return names
}

/// Integer pids in whitespace-separated text.
func pids(in text: String) -> [Int32] {
    text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
}
