import MailServer

/// The fuzz targets of the queue runner's parsers (MailServer's RunnerFuzzing): the control
/// socket's requests, masquerading's header rewriting, TLS policy values, sendmail's arguments.
/// Selected by name (`SWIFTMTA_FUZZ_TARGET` when fuzzing, the first argument when replaying files).
enum FuzzTargets {
    static let all: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        "control": { RunnerFuzzing.controlRequest($0) },
        "header": { RunnerFuzzing.senderHeader($0) },
        "policy": { RunnerFuzzing.tlsPolicy($0) },
        "sendmail": { RunnerFuzzing.sendmailArguments($0) },
    ]
}
