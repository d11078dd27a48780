import Foundation
import TestSupport

/// A deliberately vulnerable SMTP server for `swiftmta check server` to find flaws in: Python,
/// one thread per connection, every mistake the probes look for made on purpose.
///
/// - Lines end at a bare LF (a CR before it is dropped), so `<LF>.<LF>` ends DATA: SMTP smuggling.
/// - STARTTLS keeps what was read after the command and runs it under TLS (CVE-2011-0411).
/// - AUTH PLAIN and LOGIN are offered and accepted before TLS.
/// - TLS 1.0 is accepted (OpenSSL's security level 0 for the server).
/// - A recipient is "local" when it ends in `@vuln.example.test`, so the percent hack, bang paths
///   and quoted local parts through it are accepted; other domains are refused.
/// - No line length limit, NUL accepted, unknown commands answered forever.
final class VulnerableSMTPServer: @unchecked Sendable {
    let port: Int
    let directory: TemporaryDirectory
    let certificate: String
    private let process: BackgroundProcess

    init() throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-vulnerable")
        certificate = directory.file("cert.pem")
        try ExternalTool.runChecked("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory.file("key.pem"), "-out", certificate,
            "-days", "30", "-subj", "/CN=vuln.example.test", "-addext", "subjectAltName=DNS:vuln.example.test",
        ])
        let script = try directory.write("vulnerable.py", Self.program)
        port = try LoopbackPort.free()
        process = try BackgroundProcess("python3", [script, String(port), certificate, directory.file("key.pem")])
        do {
            try LoopbackPort.waitUntilAccepting(port)
        } catch {
            throw TestSupportError("the vulnerable server did not start: \(process.output())")
        }
    }

    var output: String { process.output() }

    /// Stops the server; it blocks while the child exits, so call it off Swift concurrency's
    /// threads.
    func stop() {
        process.stop()
    }

    deinit {
        process.stop()
    }

    static let program = #"""
        import socket, ssl, sys, threading

        port, certificate, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.load_cert_chain(certificate, key)

        class Session:
            def __init__(self, sock):
                self.sock, self.buffer, self.tls, self.recipients = sock, b"", False, []

            def send(self, text):
                self.sock.sendall(text.encode() + b"\r\n")

            def line(self):
                while b"\n" not in self.buffer:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        return None
                    self.buffer += chunk
                line, self.buffer = self.buffer.split(b"\n", 1)
                return line[:-1] if line.endswith(b"\r") else line

            def run(self):
                self.send("220 vuln.example.test ESMTP vulnerable")
                while True:
                    line = self.line()
                    if line is None:
                        return
                    verb = line.split(b" ")[0].upper()
                    argument = line[len(verb) + 1:].decode("latin-1")
                    if verb == b"EHLO":
                        self.send("250-vuln.example.test")
                        self.send("250-PIPELINING")
                        if not self.tls:
                            self.send("250-STARTTLS")
                        self.send("250 AUTH PLAIN LOGIN")
                    elif verb == b"HELO":
                        self.send("250 vuln.example.test")
                    elif verb == b"STARTTLS":
                        self.send("220 2.0.0 go ahead")
                        # The flaw: self.buffer keeps the plaintext read after STARTTLS.
                        self.sock = context.wrap_socket(self.sock, server_side=True)
                        self.tls = True
                    elif verb == b"AUTH":
                        self.send("334 ")
                        answer = self.line()
                        if answer is None:
                            return
                        self.send("501 5.0.0 cancelled" if answer == b"*" else "235 2.7.0 ok")
                    elif verb == b"MAIL":
                        self.recipients = []
                        self.send("250 2.1.0 ok")
                    elif verb == b"RCPT":
                        address = argument.split(":", 1)[-1].strip().strip("<>").lower()
                        if address.endswith("@vuln.example.test"):
                            self.recipients.append(address)
                            self.send("250 2.1.5 ok")
                        else:
                            self.send("550 5.7.1 relaying denied")
                    elif verb == b"DATA":
                        self.send("354 go ahead")
                        while True:
                            text = self.line()
                            if text is None:
                                return
                            if text == b".":
                                break
                        # What a real server would deliver: the test reads it.
                        print("queued for", ",".join(self.recipients), flush=True)
                        self.recipients = []
                        self.send("250 2.0.0 queued")
                    elif verb == b"RSET":
                        self.recipients = []
                        self.send("250 2.0.0 ok")
                    elif verb == b"NOOP":
                        self.send("250 2.0.0 ok")
                    elif verb == b"QUIT":
                        self.send("221 2.0.0 bye")
                        self.sock.close()
                        return
                    else:
                        self.send("500 5.5.1 unknown command")

        def serve(sock):
            try:
                Session(sock).run()
            except Exception as error:
                print("session ended:", error, flush=True)
            finally:
                sock.close()

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        while True:
            connection, _ = listener.accept()
            threading.Thread(target=serve, args=(connection,), daemon=True).start()
        """#
}
