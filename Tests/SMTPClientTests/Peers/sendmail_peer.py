#!/usr/bin/env python3
"""Sendmail itself as an SMTP server for the SMTPClient tests, the way inetd runs it: for each
connection to a loopback port this picks, `sendmail -bs` with the socket as its standard input
and output, in a UTS namespace whose host name is qualified (Sendmail waits a minute otherwise).

  sendmail_peer.py DIRECTORY

DIRECTORY holds sendmail.cf and the SASL configuration (Sendmail.conf, the sasldb2 it names),
and may hold a copy of the sendmail binary without its set-group-ID bit (libsasl2 honours
SASL_CONF_PATH only then); SASL_CONF_PATH points libsasl2 there, so nothing under /etc is read
or written. Prints "PORT n".
"""
import os, socket, subprocess, sys, threading


def main():
    directory = sys.argv[1]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    print("PORT %d" % listener.getsockname()[1], flush=True)
    environment = dict(os.environ, SASL_CONF_PATH=directory)
    binary = os.path.join(directory, "sendmail")
    if not os.path.exists(binary):
        binary = "/usr/sbin/sendmail"
    command = "hostname mx.example.test && exec %s -C %s/sendmail.cf -bs" % (binary, directory)
    while True:
        conn, _ = listener.accept()
        child = subprocess.Popen(
            ["unshare", "-u", "sh", "-c", command], stdin=conn.fileno(), stdout=conn.fileno(),
            stderr=open(os.path.join(directory, "sendmail.stderr"), "a"), env=environment)
        conn.close()
        threading.Thread(target=child.wait, daemon=True).start()


if __name__ == "__main__":
    main()
