import FuzzSupport

#if SWIFTMTA_FUZZING
/// SwiftPM links an executable's `main` to `<module>_main`; here that is libFuzzer's driver.
@_cdecl("MailRoutingFuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzDriver.runLibFuzzer(argc, argv, targets: FuzzTargets.all, fallback: "address")
}
#else
/// `MailRoutingFuzz TARGET FILE...` replays inputs through a target; `MailRoutingFuzz --list` names them.
@main
struct Replay {
    static func main() throws {
        try FuzzDriver.replay(tool: "MailRoutingFuzz", targets: FuzzTargets.all)
    }
}
#endif
