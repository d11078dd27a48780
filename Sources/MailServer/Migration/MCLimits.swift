/// The bounds of reading a `sendmail.mc`: m4 is a macro language, and a macro that expands to
/// itself (`define(`a', `a a')a`) grows without end; a real .mc is a few kilobytes and expands
/// to a few hundred. Past a bound the import stops with an error naming the line.
package struct MCLimits: Hashable, Sendable {
    /// The largest file read (the .mc or an include).
    package var maximumFileSize = 1024 * 1024
    /// How deep `include` may nest (GNU m4 has no bound; Sendmail's own files nest three deep).
    package var maximumIncludeDepth = 8
    /// Macro calls in all (Sendmail's own cf library makes a few thousand for a whole .mc).
    package var maximumExpansions = 200_000
    /// Bytes of macro expansions read back in all.
    package var maximumExpandedBytes = 16 * 1024 * 1024
    /// Expansions inside expansions (GNU m4's `--nesting-limit` is 1024; recursion that deep in a
    /// .mc is a loop).
    package var maximumNesting = 250
    /// The longest argument of a macro call, and the longest quoted string.
    package var maximumArgumentSize = 1024 * 1024

    package init() {}
}
