#!/usr/bin/env python3
"""The client of the runner's crash test: sends messages with unique ids, one session each, to
the port in PORTFILE (re-read for every session: the server restarts on another port), and appends
each id to ACKED once the server said 250 after DATA. Runs until STOPFILE exists.

usage: crash_client.py PORTFILE ACKED STOPFILE PREFIX
"""
import os, smtplib, sys, time

port_file, acked_file, stop_file, prefix = sys.argv[1:5]
counter = 0
with open(acked_file, "a") as acked:
    while not os.path.exists(stop_file):
        try:
            with open(port_file) as f:
                port = int(f.read().strip() or "0")
        except (OSError, ValueError):
            port = 0
        if not port:
            time.sleep(0.02)
            continue
        counter += 1
        ident = "%s-%06d" % (prefix, counter)
        body = "X-Test-Id: %s\r\nSubject: crash test %s\r\nFrom: sender@example.test\r\nTo: sink@elsewhere.example\r\n\r\n" % (ident, ident)
        body += "".join("line %d of %s\r\n" % (i, ident) for i in range(40)) + "END %s\r\n" % ident
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as s:
                s.ehlo("crash-client.example")
                code, _ = s.mail("sender@example.test")
                if code != 250:
                    continue
                code, _ = s.rcpt("sink@elsewhere.example")
                if code != 250:
                    continue
                code, _ = s.data(body.encode())
                if code == 250:
                    acked.write(ident + "\n")
                    acked.flush()
        except (OSError, smtplib.SMTPException):
            time.sleep(0.01)
