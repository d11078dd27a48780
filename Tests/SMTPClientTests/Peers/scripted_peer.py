#!/usr/bin/env python3
"""A scripted SMTP server for the SMTPClient tests of misbehaviour no real server shows on demand.

Prints "PORT n" once it listens on a loopback port it picks, and logs every line it reads to the
file given with --log. One scenario:
  inject-with-220        answers STARTTLS with "220 Ready" and, in the same write, an injected
                         "250-..." EHLO reply; then TLS; after TLS a normal session that refuses
                         nothing. The client must never read the injected reply.
  inject-during-handshake  answers STARTTLS with "220 Ready", waits for the client's ClientHello,
                         sends plaintext bytes, then tries TLS.
  refuse-chunk           offers CHUNKING; refuses the first BDAT chunk with 554 and counts the
                         chunks that still come.
"""
import argparse, socket, ssl, sys, threading


def serve(conn, args):
    log = open(args.log, "a") if args.log else None
    reader = conn.makefile("rb")

    def note(text):
        if log:
            log.write(text + "\n")
            log.flush()

    def send(data):
        conn.sendall(data)

    send(b"220 mx.example.test ESMTP scripted\r\n")
    tls = False
    chunks = 0
    while True:
        line = reader.readline()
        if not line:
            note("EOF")
            return
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        note("C: " + text)
        verb = text.split(" ")[0].upper()
        if verb == "EHLO":
            caps = ["mx.example.test", "PIPELINING", "8BITMIME"]
            if not tls and args.certificate:
                caps.append("STARTTLS")
            if args.scenario == "refuse-chunk":
                caps.append("CHUNKING")
            send("".join("250%s%s\r\n" % ("-" if i < len(caps) - 1 else " ", c) for i, c in enumerate(caps)).encode())
        elif verb == "STARTTLS":
            if args.scenario == "inject-with-220":
                send(b"220 2.0.0 Ready to start TLS\r\n250-mx.example.test injected\r\n250 AUTH PLAIN\r\n")
            else:
                send(b"220 2.0.0 Ready to start TLS\r\n")
            if args.scenario == "inject-during-handshake":
                # Wait for the first byte of the ClientHello (peeked, left for the handshake): the
                # client's TLS layer is then in place, so the injection arrives during the
                # handshake however the machine schedules the two processes.
                conn.recv(1, socket.MSG_PEEK)
                send(b"250-mx.example.test injected\r\n250 AUTH PLAIN\r\n")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(args.certificate, args.key)
            try:
                conn = context.wrap_socket(conn, server_side=True)
            except Exception as error:
                note("TLS failed: %s" % error)
                return
            note("TLS established")
            reader = conn.makefile("rb")
            tls = True
        elif verb == "MAIL":
            send(b"250 2.1.0 Ok\r\n")
        elif verb == "RCPT":
            send(b"250 2.1.5 Ok\r\n")
        elif verb == "DATA":
            send(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            while True:
                body = reader.readline()
                if not body or body == b".\r\n":
                    break
            note("message received")
            send(b"250 2.0.0 Ok: queued\r\n")
        elif verb == "BDAT":
            size = int(text.split(" ")[1])
            last = text.upper().endswith(" LAST")
            data = reader.read(size)
            chunks += 1
            note("chunk %d of %d octets%s" % (chunks, len(data), " LAST" if last else ""))
            if chunks == 1:
                send(b"554 5.6.0 Chunk refused\r\n")
            elif last:
                send(b"554 5.5.1 Transaction failed\r\n")
            else:
                send(b"250 2.0.0 chunk ignored\r\n")
        elif verb == "RSET":
            send(b"250 2.0.0 Ok\r\n")
        elif verb == "QUIT":
            send(b"221 2.0.0 Bye\r\n")
            return
        else:
            send(b"502 5.5.2 Error: command not recognized\r\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario")
    parser.add_argument("--certificate")
    parser.add_argument("--key")
    parser.add_argument("--log")
    args = parser.parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    print("PORT %d" % listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=lambda: (serve(conn, args), conn.close()), daemon=True).start()


if __name__ == "__main__":
    main()
