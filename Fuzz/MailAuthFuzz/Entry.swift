import FuzzSupport

#if SWIFTMTA_FUZZING
/// SwiftPM links an executable's `main` to `<module>_main`; here that is libFuzzer's driver.
@_cdecl("MailAuthFuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzDriver.runLibFuzzer(argc, argv, targets: FuzzTargets.all, fallback: "directives")
}
#else
/// `MailAuthFuzz TARGET FILE...` replays inputs through a target; `MailAuthFuzz --list` names them.
@main
struct Replay {
    static func main() throws {
        try FuzzDriver.replay(tool: "MailAuthFuzz", targets: FuzzTargets.all)
    }
}
#endif
