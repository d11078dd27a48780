import Foundation

/// Established TCP connections from this process's host to a local port, read from /proc/net/tcp.
public enum TCPConnections {
    /// How many connections to 127.0.0.1:`port` are established.
    public static func established(toPort port: Int) -> Int {
        // /proc files report a size of 0: read to the end rather than by size.
        guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return -1 }
        defer { try? handle.close() }
        let table = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        let remote = String(format: "0100007F:%04X", port)
        return table.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[2] == remote && fields[3] == "01"
        }.count
    }
}
