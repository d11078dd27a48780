#!/usr/bin/env python3
"""Real Sendmail delivering one message, for import-mc's delivery oracle (ImportMCDeliveryTests).

    sendmail-delivery.py WORK MC_TEMPLATE SENDER RECIPIENT MESSAGE [PEER_OPTION ...]

Runs itself again in private mount, network and UTS namespaces (root): the host name is
mx.example.test, the network is loopback only, /etc/hosts, /etc/resolv.conf and
/etc/nsswitch.conf are the work folder's own (no name lookup leaves the namespace), and
/var/mail is WORK/mail. There it starts dnsmasq (this host, smarthost.example.test and
elsewhere.example; NXDOMAIN for the rest) and the SMTPClient tests' aiosmtpd peer (with
PEER_OPTIONs) on 127.0.0.1, greeting as smarthost.example.test; writes WORK/sendmail.mc from MC_TEMPLATE with @PORT@ the peer's port, builds
WORK/sendmail.cf with m4 and Sendmail's cf library, builds the aliases, and runs
`sendmail -odi -oi -f SENDER RECIPIENT < MESSAGE` (deliver before exiting). It prints one JSON
object: sendmail's exit status, standard output (its -v dialogue with SENDMAIL_VERBOSE set) and
standard error, the messages the peer received (its log
records), and the queue as `mailq` lists it afterwards.
"""
import json, os, socket, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "..", "..", "SMTPClientTests", "Peers", "aiosmtpd_peer.py")


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def inside(work, template, sender, recipient, message, peer_options):
    subprocess.run(["hostname", "mx.example.test"], check=True)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    files = {
        "resolv.conf": "nameserver 127.0.0.1\n",
        "hosts": "127.0.0.1 mx.example.test localhost\n127.0.0.1 smarthost.example.test\n",
        # Users from /etc/passwd alone: systemd's NSS module cannot be reached from here.
        "nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n",
    }
    # Sendmail's own switch: host names from the hosts file first, then DNS.
    with open(os.path.join(work, "service.switch"), "w") as f:
        f.write("hosts files dns\naliases files\n")
    for name, text in files.items():
        with open(os.path.join(work, name), "w") as f:
            f.write(text)
        subprocess.run(["mount", "--bind", os.path.join(work, name), "/etc/" + name], check=True)
    mail = os.path.join(work, "mail")
    os.makedirs(mail, exist_ok=True)
    os.chmod(mail, 0o1777)
    subprocess.run(["mount", "--bind", mail, "/var/mail"], check=True)
    queue = os.path.join(work, "mqueue")
    os.makedirs(queue, 0o700, exist_ok=True)

    # A DNS server that knows this host and answers NXDOMAIN for the rest at once (Sendmail
    # canonifies the recipient's domain; without an answer it would queue).
    dnsmasq = subprocess.Popen(
        ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
         "--port=53", "--listen-address=127.0.0.1", "--bind-interfaces", "--pid-file=", "--user=nobody",
         "--host-record=mx.example.test,127.0.0.1", "--host-record=elsewhere.example,192.0.2.99", "--host-record=smarthost.example.test,127.0.0.1", "--local=/example/", "--local=/test/", "--local=/com/",
         "--local=/in-addr.arpa/", "--local=/ip6.arpa/", "--local=/#/"])
    deadline = time.time() + 30
    while not listening(53):
        if time.time() > deadline:
            sys.exit("dnsmasq did not listen on port 53")
        time.sleep(0.05)
    log = os.path.join(work, "peer.jsonl")
    # The peer greets as smarthost.example.test (a greeting with Sendmail's own name would make it
    # refuse the connection: "mail loops back to me"), and takes MAIL's AUTH= parameter (RFC 4954
    # §5), which Sendmail sends after AUTH and aiosmtpd does not implement.
    named = ("import runpy, sys, aiosmtpd.smtp as smtp\n"
             "class Named(smtp.SMTP):\n"
             "    def __init__(self, *a, **k):\n"
             "        k['hostname'] = 'smarthost.example.test'\n"
             "        super().__init__(*a, **k)\n"
             "    async def smtp_MAIL(self, arg):\n"
             "        if arg:\n"
             "            arg = ' '.join(w for w in arg.split(' ') if not w.upper().startswith('AUTH='))\n"
             "        return await super().smtp_MAIL(arg)\n"
             "smtp.SMTP = Named\n"
             "sys.argv = sys.argv[1:]\n"
             "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    peer = subprocess.Popen([sys.executable, "-c", named, PEER, "--log", log] + peer_options, stdout=subprocess.PIPE, text=True)
    try:
        line = peer.stdout.readline()
        if not line.startswith("PORT "):
            sys.exit(f"the peer did not start: {line!r}")
        port = line.split()[1]
        with open(template) as f:
            mc = f.read().replace("@PORT@", port)
        with open(os.path.join(work, "sendmail.mc"), "w") as f:
            f.write(mc)
        with open(os.path.join(work, "sendmail.cf"), "w") as f:
            subprocess.run(["m4", os.path.join(work, "sendmail.mc")], stdout=f, check=True)
        options = ["-C", os.path.join(work, "sendmail.cf"), "-O", f"QueueDirectory={queue}",
                   "-O", f"PidFile={work}/sendmail.pid", "-O", f"StatusFile={work}/statistics",
                   "-O", "DontProbeInterfaces=true", "-O", "Timeout.ident=0",
                   "-O", f"ServiceSwitchFile={work}/service.switch",
                   # Deliver however loaded the machine is (Sendmail queues above QueueLA).
                   "-O", "QueueLA=1000", "-O", "RefuseLA=1000"]
        subprocess.run(["/usr/sbin/sendmail"] + options + ["-bi"], capture_output=True, timeout=60)
        with open(message, "rb") as f:
            run = subprocess.run(["/usr/sbin/sendmail"] + options + (["-v"] if os.environ.get("SENDMAIL_VERBOSE") else []) + ["-odi", "-oi", "-f", sender, recipient],
                                 stdin=f, capture_output=True, timeout=180)
        listed = subprocess.run(["/usr/sbin/sendmail"] + options + ["-bp"], capture_output=True, text=True, timeout=60)
        # The peer writes its log line before it answers 250; sendmail has exited by now.
        time.sleep(0.2)
        received = []
        if os.path.exists(log):
            with open(log) as f:
                received = [json.loads(l) for l in f if l.strip()]
        print(json.dumps({
            "status": run.returncode, "stderr": run.stderr.decode("utf-8", "replace"), "stdout": run.stdout.decode("utf-8", "replace"),
            "messages": received, "queue": listed.stdout + listed.stderr,
        }), flush=True)
    finally:
        peer.kill()
        peer.wait()
        dnsmasq.kill()
        dnsmasq.wait()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        inside(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7:])
        return
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    run = subprocess.run(["unshare", "-m", "-n", "-u", sys.executable, os.path.abspath(__file__), "--inside"] + sys.argv[1:],
                         capture_output=True, text=True, timeout=300)
    sys.stderr.write(run.stderr)
    sys.stdout.write(run.stdout)
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
