import FileSystem
/// How export names files and album folders: byte for byte as in the library, changed only where the target's file
/// system cannot hold the name (`TargetFileSystem`), each change with its reason for the summary.
enum PortableName {
    /// NAME_MAX (255 bytes) less the `.json` of its sidecar `metadata/NAME.json`, so that every sidecar is named
    /// after its file. Partial files have short names of their own (`DurableFile.temporaryPath`).
    static let maxBytes = 250
    /// What each album folder holds besides the originals.
    static let metadataFolder = "metadata"
    static let trashFolder = "Trash"

    /// A name as it is written, and why it differs from the original (nothing when it does not).
    struct Fitted: Equatable {
        var name: [UInt8]
        var reasons: [String] = []
    }

    private static let underscore = UInt8(ascii: "_")
    private static let dot = UInt8(ascii: ".")
    private static let space = UInt8(ascii: " ")
    private static let windowsForbidden = Set("\\:*?\"<>|".unicodeScalars)
    private static let windowsDevices: Set<String> = Set(["CON", "PRN", "AUX", "NUL"]
        + (1...9).flatMap { ["COM\($0)", "LPT\($0)"] })

    /// `name` as `target` can hold it. Always changed: `/` and NUL (to `_`), an empty name or `.`/`..` (to
    /// `fallback`), a name longer than `maxBytes` (shortened keeping its extension), a folder name starting with a dot
    /// (hidden, and the export's own files start with one) and a file name that looks like an unfinished export's
    /// temporary file (its dot to `_`). On Windows-like targets also: `\ : * ? " < > |` and control characters (to
    /// `_`), bytes that are not UTF-8 (read as Latin-1, to `_` below 0xA0), trailing dots and spaces (dropped), and
    /// the device names CON, PRN, AUX, NUL, COM1–9, LPT1–9 (with `_` in front).
    static func fitted(_ name: [UInt8], for target: TargetFileSystem, isFolder: Bool, fallback: String) -> Fitted {
        var result = Fitted(name: [])
        func change(_ reason: String) {
            if !result.reasons.contains(reason) { result.reasons.append(reason) }
        }
        for unit in UTF8Units(name) {
            switch unit {
            case .invalid(let byte) where target.windowsRules:
                if byte >= 0xA0 {
                    result.name += Array(String(Unicode.Scalar(byte)).utf8)
                    change("not UTF-8, which \(target.name) requires: read as Latin-1")
                } else {
                    result.name.append(underscore)
                    change("not UTF-8, which \(target.name) requires")
                }
            case .invalid(let byte):
                result.name.append(byte)
            case .scalar("/"):
                result.name.append(underscore)
                change("/ separates folders")
            case .scalar("\0"):
                result.name.append(underscore)
                change("NUL ends a name")
            case .scalar(let scalar) where target.windowsRules && scalar.value < 0x20:
                result.name.append(underscore)
                change("control characters are not allowed on \(target.name)")
            case .scalar(let scalar) where target.windowsRules && windowsForbidden.contains(scalar):
                result.name.append(underscore)
                change("\(scalar) is not allowed on \(target.name)")
            case .scalar(let scalar):
                result.name += Array(String(scalar).utf8)
            }
        }
        if target.windowsRules, result.name.last == dot || result.name.last == space {
            while result.name.last == dot || result.name.last == space { result.name.removeLast() }
            change("a name cannot end in a dot or space on \(target.name)")
        }
        if result.name.isEmpty || result.name == [dot] || result.name == [dot, dot] {
            change(name.isEmpty ? "no name" : result.name.isEmpty ? "nothing is left of the name" : ". and .. are not names")
            result.name = Array(fallback.utf8)
        }
        if result.name.first == dot, isFolder || result.name.ends(with: DurableFile.partialSuffix.utf8) {
            result.name[0] = underscore
            change(isFolder ? "a folder whose name starts with a dot is hidden"
                            : "it would be taken for an unfinished export's temporary file")
        }
        if target.windowsRules, let device = windowsDevice(result.name) {
            result.name.insert(underscore, at: 0)
            change("\(device) is a device name on Windows")
        }
        if result.name.count > maxBytes {
            result.name = shortened(result.name, to: maxBytes, isFolder: isFolder, target: target)
            change("longer than \(maxBytes) bytes (\(name.count))")
        }
        return result
    }

    /// `name` as the text of a sidecar's `title`: itself when it is UTF-8, else with each byte that is not read as
    /// Latin-1 (JSON holds only Unicode text; Latin-1 is what most such names are).
    static func title(_ name: [UInt8]) -> String {
        var title = String.UnicodeScalarView()
        for unit in UTF8Units(name) {
            switch unit {
            case .scalar(let scalar): title.append(scalar)
            case .invalid(let byte): title.append(Unicode.Scalar(byte))
            }
        }
        return String(title)
    }

    /// The form under which two names clash on `target`: the bytes, or their lower case on a case-insensitive one.
    static func clashKey(_ name: [UInt8], on target: TargetFileSystem) -> [UInt8] {
        guard target.caseInsensitive else { return name }
        var key: [UInt8] = []
        for unit in UTF8Units(name) {
            switch unit {
            case .invalid(let byte): key.append(byte)
            case .scalar(let scalar): key += Array(String(scalar).lowercased().utf8)
            }
        }
        return key
    }

    /// `name` itself for attempt 0, else `stem(n).ext` for a file or `name(n)` for a folder, within `maxBytes`.
    static func variant(of name: [UInt8], attempt: Int, isFolder: Bool) -> [UInt8] {
        guard attempt > 0 else { return name }
        let (stem, ext) = isFolder ? (name, []) : split(name)
        let number = Array("(\(attempt))".utf8)
        return cut(stem, to: maxBytes - number.count - ext.count) + number + ext
    }

    /// The first variant of `name` for which `isTaken` is false; `metadata` and `Trash` are always taken.
    static func firstFree<E: Error>(_ name: [UInt8], isFolder: Bool, on target: TargetFileSystem,
                                    isTaken: ([UInt8]) throws(E) -> Bool) throws(E) -> [UInt8] {
        let reserved = [metadataFolder, trashFolder].map { clashKey(Array($0.utf8), on: target) }
        var attempt = 0
        while true {
            let candidate = variant(of: name, attempt: attempt, isFolder: isFolder)
            if !reserved.contains(clashKey(candidate, on: target)), try !isTaken(candidate) { return candidate }
            attempt += 1
        }
    }

    /// Splits `IMG_1.JPG` into `IMG_1` and `.JPG`; a name without a dot after its first byte, or whose "extension"
    /// is longer than 16 bytes, has none.
    private static func split(_ name: [UInt8]) -> (stem: [UInt8], ext: [UInt8]) {
        guard let at = name.lastIndex(of: dot), at != 0, name.count - at <= 16 else { return (name, []) }
        return (Array(name[..<at]), Array(name[at...]))
    }

    private static func shortened(_ name: [UInt8], to limit: Int, isFolder: Bool, target: TargetFileSystem) -> [UInt8] {
        let (stem, ext) = isFolder ? (name, []) : split(name)
        var kept = cut(stem, to: limit - ext.count)
        if target.windowsRules {
            while kept.last == dot || kept.last == space { kept.removeLast() }
        }
        return kept + ext
    }

    /// The longest start of `bytes` within `limit` bytes that ends between two characters (or undecodable bytes).
    private static func cut(_ bytes: [UInt8], to limit: Int) -> [UInt8] {
        guard bytes.count > limit else { return bytes }
        var end = 0
        for unit in UTF8Units(bytes) {
            guard end + unit.width <= limit else { break }
            end += unit.width
        }
        return Array(bytes[..<end])
    }

    /// The device name `name` is (`CON`, `com1.jpg`…), if it is one.
    private static func windowsDevice(_ name: [UInt8]) -> String? {
        let stem = name.split(separator: dot, maxSplits: 1, omittingEmptySubsequences: false).first ?? []
        let text = String(decoding: stem, as: UTF8.self).uppercased().trimmingSpaces
        return windowsDevices.contains(text) ? text : nil
    }
}

private extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.last == " " { text.removeLast() }
        while text.first == " " { text.removeFirst() }
        return String(text)
    }
}

private extension Array where Element == UInt8 {
    func ends<S: Collection>(with suffix: S) -> Bool where S.Element == UInt8 {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}
