import Testing

/// What a test needs of the machine, as traits: a test whose corpus or oracle tool is missing shows as skipped in the
/// summary, with the reason and how to get it, instead of passing without checking anything.
extension Trait where Self == ConditionTrait {
    /// The test corpus (`../shared/corpus` beside the package, or `$KEEPSAKE_CORPUS`).
    public static var needsCorpus: Self {
        .enabled(if: TestEnvironment.corpus != nil, "the corpus is absent: set KEEPSAKE_CORPUS to its folder")
    }

    /// Tools on the PATH (the oracles the test compares against); `scripts/setup --test` installs them.
    public static func needs(_ tools: String...) -> Self {
        let missing = tools.filter { !TestEnvironment.hasTool($0) }
        return .enabled(if: missing.isEmpty, "\(missing.joined(separator: ", ")) missing: run scripts/setup --test")
    }
}
