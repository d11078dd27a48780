#if SWIFTMTA_FUZZING
#if canImport(Glibc)
import Glibc
#endif

/// SwiftPM links an executable's `main` to `<module>_main`; here that is libFuzzer's driver
/// (`LLVMFuzzerRunDriver`), so libFuzzer's own `main` is not needed.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

@_cdecl("MailRunnerFuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        fuzzOneInput(data ?? UnsafePointer(bitPattern: 1)!, size)
    }
}

/// One input; the target comes from `SWIFTMTA_FUZZ_TARGET` (default: control).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let name = getenv("SWIFTMTA_FUZZ_TARGET").map { String(cString: $0) } ?? "control"
    guard let target = FuzzTargets.all[name] else {
        fatalError("unknown SWIFTMTA_FUZZ_TARGET \(name); known: \(FuzzTargets.all.keys.sorted())")
    }
    target(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
import Foundation

/// Without libFuzzer: `MailRunnerFuzz TARGET FILE...` replays inputs (a saved corpus or a
/// crash) through a target, so a finding can be reproduced in an ordinary build;
/// `MailRunnerFuzz --list` names the targets (scripts/fuzz-run, scripts/fuzz-replay).
@main
struct Replay {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.first == "--list" {
            print(FuzzTargets.all.keys.sorted().joined(separator: "\n"))
            return
        }
        guard let name = arguments.first, let target = FuzzTargets.all[name] else {
            print("usage: MailRunnerFuzz \(FuzzTargets.all.keys.sorted().joined(separator: "|")) FILE...")
            exit(2)
        }
        for path in arguments.dropFirst() {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            data.withUnsafeBytes { target($0) }
        }
        print("replayed \(arguments.count - 1) input(s) through \(name)")
    }
}
#endif
