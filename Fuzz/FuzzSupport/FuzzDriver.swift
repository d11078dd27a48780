#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// What every `Fuzz/<Module>Fuzz` executable does with its table of targets, so that each one's
/// `Entry.swift` only names itself: under `-DSWIFTMTA_FUZZING` (scripts/fuzz-run) it hands
/// control to libFuzzer's driver, feeding the target `SWIFTMTA_FUZZ_TARGET` names; in an ordinary
/// build it replays files (`<Module>Fuzz TARGET FILE...`, `--list`: scripts/fuzz-replay).
public enum FuzzDriver {
    /// One fuzz target: it gets the input's bytes and traps on a finding.
    public typealias Target = @Sendable (UnsafeRawBufferPointer) -> Void

    /// The running executable's targets and the default one, for libFuzzer's C callback.
    private static let installed = Mutex<(targets: [String: Target], fallback: String)>(([:], ""))

    /// Runs libFuzzer (`LLVMFuzzerRunDriver`) over `targets`; the target is `SWIFTMTA_FUZZ_TARGET`,
    /// or `fallback`.
    public static func runLibFuzzer(
        _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
        targets: [String: Target], fallback: String
    ) -> Int32 {
        installed.withLock { $0 = (targets, fallback) }
        var count = argc
        var arguments = argv
        return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
            FuzzDriver.runOne(UnsafeRawBufferPointer(start: data ?? UnsafePointer(bitPattern: 1)!, count: size))
            return 0
        }
    }

    /// One input through the installed target.
    static func runOne(_ bytes: UnsafeRawBufferPointer) {
        let (targets, fallback) = installed.withLock { $0 }
        let name = getenv("SWIFTMTA_FUZZ_TARGET").map { String(cString: $0) } ?? fallback
        guard let target = targets[name] else {
            fatalError("unknown SWIFTMTA_FUZZ_TARGET \(name); known: \(targets.keys.sorted())")
        }
        target(bytes)
    }

    /// Without libFuzzer: `tool TARGET FILE...` replays inputs (a saved corpus or a crash) through
    /// a target, so that a finding can be reproduced in an ordinary build; `tool --list` names
    /// the targets. Exits 2 on a usage error.
    public static func replay(tool: String, targets: [String: Target], arguments: [String] = Array(CommandLine.arguments.dropFirst())) throws {
        if arguments.first == "--list" {
            print(targets.keys.sorted().joined(separator: "\n"))
            return
        }
        guard let name = arguments.first, let target = targets[name] else {
            print("usage: \(tool) \(targets.keys.sorted().joined(separator: "|")) FILE...")
            exit(2)
        }
        for path in arguments.dropFirst() {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            data.withUnsafeBytes { target($0) }
        }
        print("replayed \(arguments.count - 1) input(s) through \(name)")
    }
}

#if SWIFTMTA_FUZZING
/// libFuzzer's driver entry point (libFuzzer is linked by `-sanitize=fuzzer`).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// The symbol libFuzzer's own `main` refers to; the driver above passes its callback instead.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    FuzzDriver.runOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32 {
    fatalError("built without libFuzzer: build with -sanitize=fuzzer -DSWIFTMTA_FUZZING (scripts/fuzz-run)")
}
#endif
