#!/usr/bin/env python3
"""SMTP load generator for `make bench` (scripts/bench/mtabench.py runs it as a child process).

Two modes, each against any MTA alike, in plaintext or after STARTTLS (RFC 3207) — which
Postfix's smtp-source cannot do:

  latency  SESSIONS concurrent sessions send MESSAGES messages of SIZE octets, one per
           connection (connect, EHLO, [STARTTLS, EHLO], MAIL, RCPT, DATA, QUIT, no pipelining),
           and print one JSON object: the accept latency of every message (from the end of
           data, "<CRLF>.<CRLF>", to its 250 reply: the MTA's durable commit) and the whole
           transaction's latency (connect to that 250), as p50/p90/p99/max in milliseconds.

  idle     open CONNECTIONS connections, each greeted and EHLO'd (and STARTTLS'd with
           --starttls), print one JSON line {"ready": N, "failed": F, ...} once all are open,
           hold them until standard input closes or gives a line, then close them.

Only the standard library; it raises its own descriptor limit to the hard limit.
"""

import argparse
import asyncio
import json
import resource
import ssl
import sys
import time


class SMTPFailure(Exception):
    """A reply other than the one the dialogue expects, or a lost connection."""


async def read_reply(reader, what):
    """Reads one (possibly multi-line) reply and returns its code."""
    while True:
        line = await reader.readline()
        if not line:
            raise SMTPFailure(f"{what}: connection closed")
        if len(line) < 4 or line[3:4] != b"-":
            try:
                return int(line[:3]), line
            except ValueError:
                raise SMTPFailure(f"{what}: malformed reply {line[:60]!r}") from None


async def expect(reader, code, what):
    got, line = await read_reply(reader, what)
    if got != code:
        raise SMTPFailure(f"{what}: expected {code}, got {line.decode('latin-1').strip()[:120]}")


def tls_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False          # the benchmark's own test certificate
    context.verify_mode = ssl.CERT_NONE
    return context


async def open_session(host, port, starttls, context, helo):
    """Connects and brings a session to the point where MAIL may follow."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        await expect(reader, 220, "greeting")
        writer.write(b"EHLO " + helo + b"\r\n")
        await expect(reader, 250, "EHLO")
        if starttls:
            writer.write(b"STARTTLS\r\n")
            await expect(reader, 220, "STARTTLS")
            await writer.start_tls(context, server_hostname="mx.bench.test")
            writer.write(b"EHLO " + helo + b"\r\n")
            await expect(reader, 250, "EHLO after STARTTLS")
    except BaseException:
        writer.close()
        raise
    return reader, writer


def message_text(size, number, sender, recipient):
    """A message whose body is SIZE octets of 76-character lines (as smtp-source's -l), after a few headers."""
    header = (f"From: <{sender}>\r\nTo: <{recipient}>\r\nSubject: bench {number}\r\n"
              f"Message-ID: <bench-{number}-{time.monotonic_ns()}@source.test>\r\n\r\n").encode()
    line = b"X" * 76 + b"\r\n"
    body = bytearray(header)
    while len(body) - len(header) + len(line) <= size:
        body += line
    return bytes(body)


def percentiles(values):
    if not values:
        return None
    ordered = sorted(values)

    def at(fraction):
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 3)
    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": round(ordered[-1] * 1000, 3)}


async def latency(args):
    context = tls_context() if args.starttls else None
    sender, recipient = args.sender.encode(), args.recipient.encode()
    bodies = [message_text(args.size, n, args.sender, args.recipient) for n in range(min(args.messages, 64))]
    accept, whole, errors = [], [], []
    next_number = 0

    async def one(number):
        start = time.perf_counter()
        reader, writer = await open_session(args.host, args.port, args.starttls, context, b"loadgen.source.test")
        try:
            writer.write(b"MAIL FROM:<" + sender + b">\r\n")
            await expect(reader, 250, "MAIL")
            writer.write(b"RCPT TO:<" + recipient + b">\r\n")
            await expect(reader, 250, "RCPT")
            writer.write(b"DATA\r\n")
            await expect(reader, 354, "DATA")
            writer.write(bodies[number % len(bodies)])
            await writer.drain()
            writer.write(b".\r\n")
            end_of_data = time.perf_counter()
            await expect(reader, 250, "end of data")
            acknowledged = time.perf_counter()
            accept.append(acknowledged - end_of_data)
            whole.append(acknowledged - start)
            writer.write(b"QUIT\r\n")
            try:
                await asyncio.wait_for(read_reply(reader, "QUIT"), 10)
            except (SMTPFailure, asyncio.TimeoutError, ConnectionError):
                pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, ssl.SSLError):
                pass

    async def worker():
        nonlocal next_number
        while next_number < args.messages:
            number = next_number
            next_number += 1
            try:
                await asyncio.wait_for(one(number), args.timeout)
            except (SMTPFailure, OSError, ssl.SSLError, asyncio.TimeoutError) as error:
                errors.append(f"message {number}: {type(error).__name__}: {error}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.sessions)))
    wall = time.perf_counter() - started
    print(json.dumps({
        "mode": "latency", "starttls": args.starttls, "sessions": args.sessions,
        "messages": args.messages, "accepted": len(accept), "failed": len(errors),
        "errors": errors[:5], "wall_s": round(wall, 3),
        "rate": round(len(accept) / wall, 1) if wall > 0 else None,
        "accept_ms": percentiles(accept), "transaction_ms": percentiles(whole),
    }), flush=True)
    return 0 if not errors else 1


async def idle(args):
    context = tls_context() if args.starttls else None
    sessions, errors = [], []
    gate = asyncio.Semaphore(args.opening)

    async def one(number):
        async with gate:
            try:
                sessions.append(await asyncio.wait_for(
                    open_session(args.host, args.port, args.starttls, context, b"idle.source.test"), args.timeout))
            except (SMTPFailure, OSError, ssl.SSLError, asyncio.TimeoutError) as error:
                errors.append(f"connection {number}: {type(error).__name__}: {error}")

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(args.connections)))
    print(json.dumps({
        "mode": "idle", "starttls": args.starttls, "ready": len(sessions), "failed": len(errors),
        "errors": errors[:5], "open_s": round(time.perf_counter() - started, 3),
    }), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    for _, writer in sessions:
        writer.close()
    await asyncio.sleep(0.2)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["latency", "idle"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--starttls", action="store_true")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--opening", type=int, default=100, help="idle: connections being opened at once")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per message or per connection")
    parser.add_argument("--sender", default="bench@source.test")
    parser.add_argument("--recipient", default="user@bench.test")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    run = latency if args.mode == "latency" else idle
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
