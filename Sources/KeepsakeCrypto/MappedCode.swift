#if canImport(Glibc)
import Glibc
#endif

/// The process's code as mapped from its executable and libraries.
///
/// Argon2id's 256 MiB is every command's memory peak, and it is added to what the process already has resident. Most
/// of that is code: the pages of `keepsake`, the Swift runtime and Foundation that ran so far, 20–25 MB, counted in
/// the resident set although they are only the page cache's clean file pages mapped in. `letGo()` unmaps them before
/// the derivation; they stay in the page cache, and each comes back on its next use as a minor fault. The kernel
/// would drop them the same way under memory pressure; this keeps the peak at the derivation plus the process's own
/// data instead of waiting for that pressure.
enum MappedCode {
    /// Unmaps the pages of every executable file mapping that holds nothing but the file's own bytes (no private
    /// dirty page, no anonymous page: a mapping the loader or a debugger wrote to is left as it is). Best effort: a
    /// mapping the kernel will not advise on is skipped. Returns the bytes of the mappings let go.
    @discardableResult
    static func letGo() -> Int {
        var released = 0
        for mapping in executableFileMappings() where mapping.clean {
            let length = Int(mapping.end - mapping.start)
            if madvise(UnsafeMutableRawPointer(bitPattern: mapping.start), length, MADV_DONTNEED) == 0 { released += length }
        }
        return released
    }

    /// The resident KiB of the executable file mappings (read with C calls only, so that reading adds little code).
    static func residentKiB() -> Int {
        executableFileMappings().reduce(0) { $0 + $1.residentKiB }
    }

    private struct Mapping {
        var start: UInt, end: UInt
        var clean = true
        var residentKiB = 0
    }

    /// The private `r-x` file mappings of `/proc/self/smaps`; `clean` when none of its pages is private dirty or
    /// anonymous (a mapping the loader or a debugger wrote to).
    private static func executableFileMappings() -> [Mapping] {
        guard let file = fopen("/proc/self/smaps", "r") else { return [] }
        defer { fclose(file) }
        var mappings: [Mapping] = []
        var inExecutable = false
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(cString: line)
            if let mapping = parseMappingLine(text) {
                inExecutable = mapping.executableFile
                if inExecutable { mappings.append(Mapping(start: mapping.start, end: mapping.end)) }
            } else if inExecutable {
                if text.hasPrefix("Private_Dirty:") || text.hasPrefix("Anonymous:") {
                    if kibibytes(in: text) != 0 { mappings[mappings.count - 1].clean = false }
                } else if text.hasPrefix("Rss:") {
                    mappings[mappings.count - 1].residentKiB = kibibytes(in: text)
                }
            }
        }
        return mappings
    }

    /// `START-END PERMS OFFSET DEV INODE PATH`: the range, and whether it is a private `r-x` mapping of a file.
    private static func parseMappingLine(_ line: String) -> (start: UInt, end: UInt, executableFile: Bool)? {
        let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5, let dash = fields[0].firstIndex(of: "-"),
              let start = UInt(fields[0][..<dash], radix: 16),
              let end = UInt(fields[0][fields[0].index(after: dash)...], radix: 16) else { return nil }
        let inode = fields[4]
        return (start, end, fields[1] == "r-xp" && inode != "0")
    }

    private static func kibibytes(in line: String) -> Int {
        Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }
}
