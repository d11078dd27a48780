import Foundation
@testable import MailServer
import NIOCore
import SMTPProtocol
import Testing
import TestSupport

@Suite("Spool on a full or failing disk: 452 4.3.1, nothing half-stored, recovery when space returns", .serialized)
struct QueueDiskFullTests {
    /// How the test takes the space away.
    enum Pressure: String, CaseIterable {
        /// A real 16 MiB ext4 file system, loop-mounted, filled up by a file beside the spool.
        case loopMountedExt4
        /// No mounting allowed: making a segment fails with ENOSPC as it would on a full disk.
        case injected
    }

    static var pressures: [Pressure] {
        QueueFixture.canMount && ExternalTool.find("mkfs.ext4") != nil ? Pressure.allCases : [.injected]
    }

    static func expectStorageError(_ error: any Error) -> Bool {
        guard let error = error as? MailQueueError, error.kind == .insufficientStorage else { return false }
        return error.reply.code == 452 && error.reply.enhancedCode == EnhancedStatusCode(4, 3, 1)
    }

    @Test("A full file system refuses new messages with 452 4.3.1 and takes them again once there is room", arguments: pressures)
    func diskFull(pressure: Pressure) async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-diskfull")
        var root = directory.path
        var mounted: String?
        if pressure == .loopMountedExt4 {
            let image = directory.file("fs.img")
            try await ExternalTool.runChecked("truncate", ["-s", "16M", image])
            try await ExternalTool.runChecked("mkfs.ext4", ["-q", "-m", "0", "-F", image])
            root = directory.file("mnt")
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try await ExternalTool.runChecked("mount", ["-o", "loop", image, root])
            mounted = root
        }
        defer { if let mounted { _ = try? ExternalTool.run("umount", [mounted]) } }

        var configuration = QueueFixture.configuration(segmentSize: 256 << 10)
        configuration.freeSegmentsKept = 0
        let faults = QueueFaultInjection()
        configuration.faults = faults
        let spool = root + "/spool"
        let queue = try await QueueFixture.open(spool, configuration)
        var acknowledged: [(QueueID, String)] = []
        acknowledged.append((try await QueueFixture.commit(queue, QueueFixture.message("before")), QueueFixture.message("before")))

        // Take the space away.
        let filler = root + "/filler"
        switch pressure {
        case .loopMountedExt4:
            try await offThread {
                let descriptor = open(filler, O_CREAT | O_WRONLY, 0o600)
                let block = [UInt8](repeating: 0, count: 65536)
                while block.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) > 0 {}
                let full = errno
                fsync(descriptor)
                close(descriptor)
                if full != ENOSPC { throw TestSupportError("filling \(filler) stopped with errno \(full), not ENOSPC") }
            }
        case .injected:
            faults.fail(.prepare, with: ENOSPC, count: .max)
        }

        // Commit until the spool is full; every failure is a storage failure with 452 4.3.1.
        var refusal: (any Error)?
        for index in 0..<2000 {
            let text = QueueFixture.message("fill\(index)", size: 6000)
            do {
                acknowledged.append((try await QueueFixture.commit(queue, text), text))
            } catch {
                refusal = error
                break
            }
        }
        let error = try #require(refusal, "the spool never filled")
        #expect(Self.expectStorageError(error), "\(error)")
        // A message whose text is cut off by the full disk is refused too, and leaves nothing.
        await #expect { () async throws in
            let writer = try queue.beginMessage()
            for _ in 0..<40 { try await writer.append(ByteBuffer(repeating: UInt8(ascii: "x"), count: 8192)) }
            _ = try await writer.commit(try QueueFixture.envelope())
        } throws: { Self.expectStorageError($0) }
        #expect(queue.list().map(\.id) == acknowledged.map(\.0))

        // The runner can still record deliveries and removals: they use the space kept for them.
        let delivered = QueueRecipientStatus(disposition: .delivered, attempts: 1)
        try await queue.update(acknowledged[0].0, recipients: [0: delivered])
        try await queue.remove(acknowledged[1].0)
        acknowledged.remove(at: 1)

        // Space returns.
        switch pressure {
        case .loopMountedExt4: unlink(filler)
        case .injected: faults.clear()
        }
        var resumed: QueueID?
        for _ in 0..<100 where resumed == nil {
            do {
                resumed = try await QueueFixture.commit(queue, QueueFixture.message("resumed"))
            } catch {
                #expect(Self.expectStorageError(error), "\(error)")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let first = try #require(resumed, "the spool did not take messages again after space returned")
        acknowledged.append((first, QueueFixture.message("resumed")))
        for index in 0..<20 {
            let text = QueueFixture.message("after\(index)", size: 6000)
            acknowledged.append((try await QueueFixture.commit(queue, text), text))
        }
        await queue.close()

        let reopened = try await QueueFixture.open(spool, configuration)
        #expect(reopened.list().map(\.id) == acknowledged.map(\.0))
        for (id, text) in acknowledged { #expect(try await QueueFixture.text(id, in: reopened) == text) }
        #expect(reopened.message(acknowledged[0].0)?.recipients == [delivered])
        #expect(reopened.recoveryReport.incomplete.isEmpty)
        await reopened.close()
        // A closed spool holds no file open: the file system unmounts.
        if let point = mounted {
            let result = try await offThread { try ExternalTool.run("umount", [point]) }
            #expect(result.status == 0, "umount: \(result.standardError)")
            if result.status == 0 { mounted = nil }
        }
    }

    @Test("A write that fails with EIO fails its message with 452 4.3.1; the spool goes on in a new segment")
    func writeError() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-eio")
        var configuration = QueueFixture.configuration()
        let faults = QueueFaultInjection()
        configuration.faults = faults
        let spool = directory.file("spool")
        let queue = try await QueueFixture.open(spool, configuration)
        let before = try await QueueFixture.commit(queue, QueueFixture.message("before"))
        faults.fail(.write, with: EIO)
        await #expect {
            _ = try await QueueFixture.commit(queue, QueueFixture.message("failed"))
        } throws: { error in
            guard let error = error as? MailQueueError else { return false }
            return error.kind == .ioError && error.reply.code == 452 && error.reply.enhancedCode == EnhancedStatusCode(4, 3, 1)
        }
        let after = try await QueueFixture.commit(queue, QueueFixture.message("after"))
        #expect(queue.list().map(\.id) == [before, after])
        #expect(queue.statistics.failedSegments == 1)
        await queue.close()
        let reopened = try await QueueFixture.open(spool, configuration)
        #expect(reopened.list().map(\.id) == [before, after])
        #expect(try await QueueFixture.text(after, in: reopened) == QueueFixture.message("after"))
        await reopened.close()
    }

    @Test("A flush that fails with EIO fails the messages waiting on it; none of them is listed; the spool goes on")
    func flushError() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-eio")
        var configuration = QueueFixture.configuration()
        let faults = QueueFaultInjection()
        configuration.faults = faults
        let spool = directory.file("spool")
        let queue = try await QueueFixture.open(spool, configuration)
        let before = try await QueueFixture.commit(queue, QueueFixture.message("before"))
        faults.fail(.sync, with: EIO)
        var failedID: QueueID?
        await #expect {
            let writer = try queue.beginMessage()
            failedID = writer.id
            try await writer.append(ByteBuffer(string: QueueFixture.message("in doubt")))
            _ = try await writer.commit(try QueueFixture.envelope())
        } throws: { ($0 as? MailQueueError)?.kind == .ioError }
        let inDoubt = try #require(failedID)
        #expect(queue.message(inDoubt) == nil)
        let after = try await QueueFixture.commit(queue, QueueFixture.message("after"))
        #expect(queue.list().map(\.id) == [before, after])
        await queue.close()
        // The failed flush's records may have reached the disk all the same: then the message is
        // back after a restart (at least once — the client was told 452 and sends it again), whole.
        let reopened = try await QueueFixture.open(spool, configuration)
        let ids = reopened.list().map(\.id)
        #expect(ids.contains(before) && ids.contains(after))
        if ids.contains(inDoubt) { #expect(try await QueueFixture.text(inDoubt, in: reopened) == QueueFixture.message("in doubt")) }
        await reopened.close()
    }
}
