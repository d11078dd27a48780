import FuzzSupport

#if SWIFTMTA_FUZZING
/// SwiftPM links an executable's `main` to `<module>_main`; here that is libFuzzer's driver.
@_cdecl("MailServerFuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzDriver.runLibFuzzer(argc, argv, targets: FuzzTargets.all, fallback: "configuration")
}
#else
/// `MailServerFuzz TARGET FILE...` replays inputs through a target; `MailServerFuzz --list` names them.
@main
struct Replay {
    static func main() throws {
        try FuzzDriver.replay(tool: "MailServerFuzz", targets: FuzzTargets.all)
    }
}
#endif
