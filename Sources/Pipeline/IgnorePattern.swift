import FileSystem

/// One line of a `.keepsakeignore` file or one `--exclude`, with gitignore's rules: `*` and `?` match within a
/// name, `[...]` a class (`!` or `^` negates, ranges, `[:alpha:]`...), a `**` component any number of folders,
/// a slash at the start or in the middle anchors the pattern to its folder (otherwise it matches a name at any
/// depth), a trailing slash matches folders only, `!` re-includes, `\` escapes. Names are matched as bytes: `?`
/// and a class take one UTF-8 character, or one byte that is not part of one.
public struct IgnorePattern: Sendable, Equatable {
    public let negated: Bool
    public let foldersOnly: Bool
    /// Matched against the path relative to the pattern's folder, rather than against the last name only.
    public let anchored: Bool
    /// The pattern's components; `nil` is a `**` component.
    let components: [[Token]?]

    enum Token: Sendable, Equatable {
        case literal(UTF8Units.Unit)
        case any
        case star
        case set(CharacterSet, negated: Bool)
    }

    struct CharacterSet: Sendable, Equatable {
        var units: [UTF8Units.Unit] = []
        var ranges: [ClosedRange<UInt32>] = []
        var classes: [String] = []
    }

    /// Nil for a blank line, a comment, or a line that can match nothing (a trailing lone backslash).
    public init?(line: some Collection<UInt8>) {
        var units = Array(UTF8Units(Array(line)))
        if units.last == .scalar("\r") { units.removeLast() }
        // Trailing spaces go, unless escaped.
        while units.last == .scalar(" ") {
            let backslashes = units.dropLast().reversed().prefix { $0 == .scalar("\\") }.count
            if backslashes % 2 == 1 { break }
            units.removeLast()
        }
        guard let first = units.first, first != .scalar("#") else { return nil }
        negated = first == .scalar("!")
        if negated { units.removeFirst() }
        foldersOnly = units.last == .scalar("/")
        while units.last == .scalar("/") { units.removeLast() }
        guard !units.isEmpty else { return nil }
        let slashes = units.indices.filter { units[$0] == .scalar("/") && !Self.isEscaped(units, at: $0) }
        anchored = !slashes.isEmpty
        if units.first == .scalar("/") { units.removeFirst() }
        var parts: [[Token]?] = []
        for part in Self.split(units) {
            if part == [.scalar("*"), .scalar("*")] { parts.append(nil); continue }
            guard let tokens = Self.tokens(part) else { return nil }
            parts.append(tokens)
        }
        // Repeated `**` components are one.
        components = parts.enumerated().filter { $0.offset == 0 || $0.element != nil || parts[$0.offset - 1] != nil }.map(\.element)
        guard !components.isEmpty else { return nil }
    }

    public init?(_ text: String) { self.init(line: Array(text.utf8)) }

    /// Whether the pattern matches `path`, a path relative to the pattern's folder (its components), which is a
    /// folder when `isFolder`. The sign (`negated`) is the caller's to apply.
    public func matches(_ path: [ArraySlice<UInt8>], isFolder: Bool) -> Bool {
        guard !path.isEmpty, isFolder || !foldersOnly else { return false }
        let names = path.map { Array(UTF8Units(Array($0))) }
        if anchored { return match(0, names, 0) }
        // A pattern without a slash is one component, matched against the last name at any depth.
        guard let only = components.first, components.count == 1 else { return match(0, names, 0) }
        guard let tokens = only else { return true }
        return Self.matchName(tokens[...], names[names.count - 1][...])
    }

    private func match(_ p: Int, _ names: [[UTF8Units.Unit]], _ n: Int) -> Bool {
        guard p < components.count else { return n == names.count }
        guard let tokens = components[p] else {
            // A trailing `**` matches everything inside (at least one name); another matches zero or more folders.
            if p == components.count - 1 { return n < names.count }
            return (n...names.count).contains { match(p + 1, names, $0) }
        }
        return n < names.count && Self.matchName(tokens[...], names[n][...]) && match(p + 1, names, n + 1)
    }

    /// One name against one component's tokens: a `*` that fails is retried one character further, from the last
    /// `*` only (what is before it matched already), so a pattern of many stars stays linear in the name's length.
    private static func matchName(_ tokens: ArraySlice<Token>, _ name: ArraySlice<UTF8Units.Unit>) -> Bool {
        var t = tokens.startIndex, n = name.startIndex
        var lastStar: (token: Int, name: Int)?
        while n < name.endIndex {
            if t < tokens.endIndex {
                switch tokens[t] {
                case .star:
                    lastStar = (t, n)
                    t += 1
                    continue
                case .any:
                    t += 1
                    n += 1
                    continue
                case .literal(let unit) where unit == name[n]:
                    t += 1
                    n += 1
                    continue
                case .set(let set, let negated) where set.contains(name[n]) != negated:
                    t += 1
                    n += 1
                    continue
                default:
                    break
                }
            }
            guard let star = lastStar else { return false }
            lastStar = (star.token, star.name + 1)
            t = star.token + 1
            n = star.name + 1
        }
        return tokens[t...].allSatisfy { $0 == .star }
    }

    private static func isEscaped(_ units: [UTF8Units.Unit], at index: Int) -> Bool {
        units[..<index].reversed().prefix { $0 == .scalar("\\") }.count % 2 == 1
    }

    /// The pattern's components, split at unescaped slashes.
    private static func split(_ units: [UTF8Units.Unit]) -> [[UTF8Units.Unit]] {
        var parts: [[UTF8Units.Unit]] = [[]]
        var index = 0
        while index < units.count {
            let unit = units[index]
            if unit == .scalar("\\"), index + 1 < units.count {
                parts[parts.count - 1] += [unit, units[index + 1]]
                index += 2
                continue
            }
            if unit == .scalar("/") { parts.append([]) } else { parts[parts.count - 1].append(unit) }
            index += 1
        }
        return parts.filter { !$0.isEmpty }
    }

    /// The tokens of one component; nil when it ends in a lone backslash (git's pattern that matches nothing).
    private static func tokens(_ units: [UTF8Units.Unit]) -> [Token]? {
        var tokens: [Token] = []
        var index = 0
        while index < units.count {
            let unit = units[index]
            index += 1
            switch unit {
            case .scalar("\\"):
                guard index < units.count else { return nil }
                tokens.append(.literal(units[index]))
                index += 1
            case .scalar("*"):
                if tokens.last != .star { tokens.append(.star) }  // `**` within a name is `*`
            case .scalar("?"):
                tokens.append(.any)
            case .scalar("["):
                if let (set, negated, end) = characterSet(units, from: index) {
                    tokens.append(.set(set, negated: negated))
                    index = end
                } else {
                    tokens.append(.literal(unit))  // no closing bracket: a plain `[`
                }
            default:
                tokens.append(.literal(unit))
            }
        }
        return tokens
    }

    /// The class that starts after a `[` at `start`, and the index after its `]`.
    private static func characterSet(_ units: [UTF8Units.Unit], from start: Int) -> (CharacterSet, Bool, Int)? {
        var index = start
        var set = CharacterSet()
        let negated = index < units.count && (units[index] == .scalar("!") || units[index] == .scalar("^"))
        if negated { index += 1 }
        var first = true
        while index < units.count {
            var unit = units[index]
            if unit == .scalar("]") && !first { return (set, negated, index + 1) }
            first = false
            if unit == .scalar("["), index + 1 < units.count, units[index + 1] == .scalar(":"),
               let close = (index + 2..<units.count).first(where: { units[$0] == .scalar(":") && $0 + 1 < units.count && units[$0 + 1] == .scalar("]") }) {
                set.classes.append(String(decoding: units[(index + 2)..<close].compactMap(\.scalarValue).flatMap { Array(String($0).utf8) }, as: UTF8.self))
                index = close + 2
                continue
            }
            if unit == .scalar("\\"), index + 1 < units.count {
                index += 1
                unit = units[index]
            }
            if index + 2 < units.count, units[index + 1] == .scalar("-"), units[index + 2] != .scalar("]") {
                var upper = units[index + 2]
                var end = index + 3
                if upper == .scalar("\\"), index + 3 < units.count {
                    upper = units[index + 3]
                    end += 1
                }
                if let low = unit.ordinal, let high = upper.ordinal, low <= high { set.ranges.append(low...high) }
                index = end
                continue
            }
            set.units.append(unit)
            index += 1
        }
        return nil
    }
}

extension IgnorePattern.CharacterSet {
    func contains(_ unit: UTF8Units.Unit) -> Bool {
        if units.contains(unit) { return true }
        if let ordinal = unit.ordinal, ranges.contains(where: { $0.contains(ordinal) }) { return true }
        guard case .scalar(let scalar) = unit, scalar.isASCII else { return false }
        let c = Character(scalar)
        return classes.contains { name in
            switch name {
            case "alnum": c.isLetter || c.isNumber
            case "alpha": c.isLetter
            case "digit": c.isNumber
            case "lower": c.isLowercase
            case "upper": c.isUppercase
            case "space": c.isWhitespace
            case "blank": c == " " || c == "\t"
            case "punct": c.isPunctuation || c.isSymbol
            case "xdigit": c.isHexDigit
            case "cntrl": scalar.value < 0x20 || scalar.value == 0x7F
            case "graph": scalar.value > 0x20 && scalar.value < 0x7F
            case "print": scalar.value >= 0x20 && scalar.value < 0x7F
            default: false
            }
        }
    }
}

extension UTF8Units.Unit {
    var scalarValue: Unicode.Scalar? {
        if case .scalar(let scalar) = self { return scalar }
        return nil
    }

    /// The scalar's value, for ranges; an invalid byte is in no range (it is matched only as itself).
    var ordinal: UInt32? { scalarValue?.value }
}
