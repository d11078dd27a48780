#!/usr/bin/env python3
"""make bench: SwiftMTA against Postfix and Sendmail as whole MTAs, on this machine, in one run.

Each MTA accepts mail for one domain (bench.test) and relays all of it through its normal durable
queue to Postfix's smtp-sink, the final destination. Postfix's smtp-source sends M messages of L
octets over S parallel sessions, one message per connection. Measured per trial:

  accept rate      messages / smtp-source's wall time (every message had its 250)
  end-to-end rate  messages / the time until the sink has counted every one of them
  CPU per message  the MTA's whole process tree (cgroup v2 cpu.stat; /proc when there is no
                   cgroup), from the first connection until the last message reached the sink
  peak RSS / PSS   sampled over the MTA's processes (smaps_rollup) during the trial

Trials are interleaved across the MTAs (the order rotates each round) and repeated; the report
gives min/median/max and ratios of medians. In the same run: the ceiling (smtp-source straight
into smtp-sink), the disk's fsync rates, accept latency p50/p99 from smtpload.py in plaintext and
after STARTTLS for every MTA, and memory per idle connection (plaintext and STARTTLS).

The load average is recorded with every trial: figures taken on a busy machine are noise.
Needs root (cgroups, user switching, mount and UTS namespaces for Sendmail). See BENCHMARKS.md.
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
POSTFIX = os.path.join(ROOT, ".tools", "postfix")
POSTFIX_LIB = os.path.join(POSTFIX, "usr", "lib", "postfix")
SMTP_SOURCE = os.path.join(POSTFIX, "usr", "sbin", "smtp-source")
SMTP_SINK = os.path.join(POSTFIX, "usr", "sbin", "smtp-sink")
SENDMAIL = "/usr/sbin/sendmail-mta" if os.path.exists("/usr/sbin/sendmail-mta") else "/usr/sbin/sendmail"
SENDMAIL_CF = "/usr/share/sendmail/cf/m4/cf.m4"
CGROUP2 = next((p for p in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")
                if os.path.exists(os.path.join(p, "cgroup.procs")) and os.path.exists(os.path.join(p, "cpu.stat"))), None)

DOMAIN = "bench.test"
SENDER = "bench@source.test"
RECIPIENT = "user@bench.test"
SINK_HOST = "127.0.0.2"   # not 127.0.0.1: Sendmail counts its own addresses as local (class w)
MTA_NAMES = ("swiftmta", "postfix", "sendmail")


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def machine_busy_seconds():
    """CPU seconds the whole machine has spent busy (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / os.sysconf("SC_CLK_TCK")


def own_seconds():
    """CPU seconds of this harness and its waited-for children (smtp-source, smtpload.py)."""
    self_, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_.ru_utime + self_.ru_stime + children.ru_utime + children.ru_stime


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_greeting(host, port, timeout, process=None):
    """Waits until HOST:PORT answers with a 220 greeting."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"exited with status {process.returncode} before listening on {host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=5) as s:
                data = s.recv(512)
                if data.startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
                last = data[:80]
        except OSError as error:
            last = error
        time.sleep(0.1)
    raise RuntimeError(f"no 220 greeting on {host}:{port} within {timeout} s (last: {last})")


class ProcessGroup:
    """The processes of one MTA: a cgroup v2 leaf (CPU and membership of the whole tree, however
    many daemons fork), or, without cgroups, the /proc descendants of the first process."""

    def __init__(self, parent, name):
        self.name = name
        self.path = os.path.join(parent, name) if parent else None
        self.root_pids = []
        if self.path:
            os.makedirs(self.path, exist_ok=True)

    def wrap(self, argv):
        """argv run inside this group, with the descriptor limit raised to the hard limit."""
        join = f'echo $$ > "{self.path}/cgroup.procs" && ' if self.path else ""
        return ["/bin/sh", "-c", join + 'ulimit -n "$(ulimit -Hn)" && exec "$@"', "sh"] + list(argv)

    def pids(self):
        if self.path:
            with open(os.path.join(self.path, "cgroup.procs")) as f:
                return [int(x) for x in f.read().split()]
        children = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    children.setdefault(ppid, []).append(int(entry))
                except (OSError, IndexError, ValueError):
                    pass
        found, todo = [], list(self.root_pids)
        while todo:
            pid = todo.pop()
            if os.path.exists(f"/proc/{pid}"):
                found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def cpu_seconds(self):
        return sum(self.cpu_split())

    def cpu_split(self):
        """(user, system) CPU seconds of the group, children included."""
        if self.path:
            stat = {}
            with open(os.path.join(self.path, "cpu.stat")) as f:
                for line in f:
                    key, value = line.split()
                    stat[key] = int(value)
            if "user_usec" in stat and "system_usec" in stat:
                return stat["user_usec"] / 1e6, stat["system_usec"] / 1e6
            return stat.get("usage_usec", 0) / 1e6, 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        user = system = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                user += int(fields[11]) + int(fields[13])     # utime cutime
                system += int(fields[12]) + int(fields[14])   # stime cstime
            except (OSError, IndexError, ValueError):
                pass
        return user / ticks, system / ticks

    def memory_kib(self):
        """(RSS, PSS, process count) summed over the group, in KiB."""
        rss = pss = count = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Rss:"):
                            rss += int(line.split()[1])
                        elif line.startswith("Pss:"):
                            pss += int(line.split()[1])
                count += 1
            except OSError:
                pass
        return rss, pss, count

    def kill(self):
        if self.path and os.path.exists(os.path.join(self.path, "cgroup.kill")):
            with open(os.path.join(self.path, "cgroup.kill"), "w") as f:
                f.write("1")
        else:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        deadline = time.monotonic() + 5
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.05)

    def remove(self):
        if self.path and os.path.isdir(self.path):
            self.kill()
            try:
                os.rmdir(self.path)
            except OSError:
                pass


class MemorySampler:
    """Samples a group's RSS and PSS every INTERVAL seconds and keeps the peaks."""

    def __init__(self, group, interval=0.25):
        self.group, self.interval = group, interval
        self.peak_rss = self.peak_pss = self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while True:
            rss, pss, count = self.group.memory_kib()
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.peak_processes = max(self.peak_processes, count)
            if self._stop.wait(self.interval):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class Sink:
    """Postfix's smtp-sink, the final destination for every MTA; counts the messages it got."""

    def __init__(self, run_dir, group, name="sink"):
        self.port = free_port(SINK_HOST)
        self.group = group
        self._count = 0
        self._lock = threading.Lock()
        env = dict(os.environ, LD_LIBRARY_PATH=POSTFIX_LIB)
        argv = [SMTP_SINK, "-c", "-u", "nobody", "-m", "20000", f"{SINK_HOST}:{self.port}", "4096"]
        self._stderr = open(os.path.join(run_dir, f"{name}.stderr"), "wb")
        self.process = subprocess.Popen(group.wrap(argv), env=env, stdout=subprocess.PIPE, stderr=self._stderr)
        group.root_pids.append(self.process.pid)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        wait_for_greeting(SINK_HOST, self.port, 10, self.process)

    def _read(self):
        pattern = re.compile(rb"mesg=(\d+)")
        tail = b""
        while True:
            data = os.read(self.process.stdout.fileno(), 65536)
            if not data:
                return
            tail = (tail + data)[-256:]
            found = pattern.findall(tail)
            if found:
                with self._lock:
                    self._count = max(self._count, int(found[-1]))

    def count(self):
        with self._lock:
            return self._count

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._stderr.close()


class SyslogReceiver:
    """A syslog socket for Sendmail (its /dev/log links to it): each datagram one line of a file."""

    def __init__(self, path, log_path):
        if os.path.exists(path):
            os.unlink(path)
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.socket.bind(path)
        self.socket.settimeout(0.2)
        self.file = open(log_path, "ab")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data = self.socket.recv(16384)
            except socket.timeout:
                continue
            except OSError:
                return
            self.file.write(data.rstrip(b"\n\0") + b"\n")

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.socket.close()
        self.file.close()


def make_certificate(directory):
    """A self-signed ECDSA P-256 test certificate (mx.bench.test) that all three MTAs present."""
    os.makedirs(directory, exist_ok=True)
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=mx.bench.test",
                    "-addext", "subjectAltName=DNS:mx.bench.test"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


class MTA:
    """One MTA under test: its files, its process group, start and stop."""

    name = "mta"
    label = "MTA"

    def __init__(self, run_dir, cgroup_parent, sink, certificate, folder=None):
        self.dir = os.path.join(run_dir, folder or self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.cgroup_parent = cgroup_parent
        self.sink = sink
        self.cert, self.key = certificate
        self.port = free_port()
        self.group = None
        self.process = None
        self.log_file = None

    def start(self):
        self.group = ProcessGroup(self.cgroup_parent, os.path.basename(self.dir))
        self.log_file = open(os.path.join(self.dir, "stderr.log"), "ab")
        argv, env = self.command()
        self.process = subprocess.Popen(self.group.wrap(argv), env=env, stdout=self.log_file,
                                        stderr=self.log_file, stdin=subprocess.DEVNULL)
        self.group.root_pids.append(self.process.pid)
        try:
            wait_for_greeting("127.0.0.1", self.port, getattr(self, "start_timeout", 60), self.process)
        except RuntimeError as error:
            self.stop()
            raise RuntimeError(f"{self.label} did not start: {error} (see {self.dir})") from None

    def stop(self):
        if self.process is None:
            return
        self.shutdown()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            log(f"{self.label}: no exit 20 s after the stop request; killing its processes")
        self.group.remove()
        self.process.wait()
        self.process = None
        self.log_file.close()

    def shutdown(self):
        self.process.terminate()

    def queued(self):
        """Messages still in the MTA's queue (None when the harness cannot tell)."""
        return None

    def version(self):
        return None


class SwiftMTA(MTA):
    name = "swiftmta"
    label = "SwiftMTA"
    binary = os.path.join(ROOT, ".build", "release", "swiftmta")
    wrapper = []                 # e.g. valgrind's argv, for the profile
    extra_env = {}
    delivery_mode = None         # [queue] delivery_mode; None: the default (background)
    start_timeout = 60

    run_as = "nobody"            # [daemon] user: the server drops root once bound, as Postfix runs as postfix

    def configure(self):
        with open(os.path.join(self.dir, "relay-domains"), "w") as f:
            f.write(DOMAIN + "\n")
        # The server makes its spool for that user; its folder (logs, valgrind's output) is the user's too.
        shutil.chown(self.dir, self.run_as)
        with open(os.path.join(self.dir, "swiftmta.toml"), "w") as f:
            f.write(f"""# Written by scripts/bench/mtabench.py: accept {DOMAIN}, relay all of it to the sink.
hostname = "mx.swiftmta.test"
relay_domains = "list:relay-domains"
local_users = "any"

[relay]
accept_unresolvable_domains = true

[routing]
smart_host = "relay:[{SINK_HOST}]"
relay_mailer_port = {self.sink.port}

[tls]
certificate = "{self.cert}"
key = "{self.key}"

[queue]
directory = "spool"
{f'delivery_mode = "{self.delivery_mode}"' if self.delivery_mode else ""}

[daemon]
user = "{self.run_as}"

[[listen]]
address = "127.0.0.1:{self.port}"
mode = "smtp"
max_connections = 20000
max_connections_per_client = 20000
""")

    def command(self):
        return (self.wrapper + [self.binary, "serve", "--config", os.path.join(self.dir, "swiftmta.toml")],
                dict(os.environ, **self.extra_env))

    def version(self):
        commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True)
        return f"SwiftMTA {commit.stdout.strip() or 'unknown commit'} ({self.binary})"


class Postfix(MTA):
    name = "postfix"
    label = "Postfix"

    def configure(self):
        etc, queue, data = (os.path.join(self.dir, d) for d in ("etc", "queue", "data"))
        for d in (etc, queue, data):
            os.makedirs(d, exist_ok=True)
        shutil.copy(os.path.join(POSTFIX, "etc", "postfix", "postfix-files"), etc)
        sbin = os.path.join(POSTFIX, "usr", "lib", "postfix", "sbin")
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(f"""# Written by scripts/bench/mtabench.py: accept {DOMAIN}, relay all of it to the sink.
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
daemon_directory = {sbin}
command_directory = {os.path.join(POSTFIX, "usr", "sbin")}
shlib_directory = {POSTFIX_LIB}
meta_directory = {etc}
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH={POSTFIX_LIB}
mail_owner = postfix
setgid_group = postdrop
maillog_file = {self.dir}/maillog
maillog_file_prefixes = {self.dir}
myhostname = mx.postfix.test
myorigin = $myhostname
mydestination =
relay_domains = {DOMAIN}
relay_transport = relay:[{SINK_HOST}]:{self.sink.port}
smtpd_relay_restrictions = reject_unauth_destination
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_tls_cert_file = {self.cert}
smtpd_tls_key_file = {self.key}
smtpd_tls_security_level = may
""")
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write(f"""# Written by scripts/bench/mtabench.py (Debian's master.cf, the services a relay uses).
# smtpd may run 1,100 processes so that 1,000 idle connections each get one.
127.0.0.1:{self.port} inet n - n - 1100 smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
""")
        # `postfix check` creates the queue's folders with their owners (post-install create-missing).
        self._postfix("check", check=False)
        shutil.chown(data, "postfix")

    def _env(self):
        return dict(os.environ, LD_LIBRARY_PATH=POSTFIX_LIB)

    def _postfix(self, *words, check=True):
        argv = [os.path.join(POSTFIX, "usr", "sbin", "postfix"), "-c", os.path.join(self.dir, "etc")] + list(words)
        return subprocess.run(argv, env=self._env(), check=check, capture_output=True, timeout=60)

    def command(self):
        return [os.path.join(POSTFIX, "usr", "sbin", "postfix"), "-c", os.path.join(self.dir, "etc"), "start-fg"], self._env()

    def shutdown(self):
        self._postfix("stop", check=False)

    def queued(self):
        total = 0
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.dir, "queue", sub)):
                total += len(files)
        return total

    def version(self):
        out = subprocess.run([os.path.join(POSTFIX, "usr", "sbin", "postconf"), "-d", "-h", "mail_version"],
                             env=self._env(), capture_output=True, text=True).stdout.strip()
        return f"Postfix {out}" if out else None


class Sendmail(MTA):
    name = "sendmail"
    label = "Sendmail"

    def configure(self):
        d = self.dir
        queue = os.path.join(d, "queue")
        os.makedirs(queue, exist_ok=True)
        os.chmod(queue, 0o700)
        with open(os.path.join(d, "aliases"), "w") as f:
            f.write("postmaster: root\nMAILER-DAEMON: postmaster\n")
        # Host names from a private hosts file (bind-mounted over /etc/hosts in Sendmail's own mount
        # namespace) and no DNS: this machine's resolver drops queries.
        with open(os.path.join(d, "hosts"), "w") as f:
            f.write("127.0.0.1 localhost mx.sendmail.test\n")
        with open(os.path.join(d, "service.switch"), "w") as f:
            f.write("hosts files\naliases files\n")
        mc = os.path.join(d, "bench.mc")
        with open(mc, "w") as f:
            f.write(f"""divert(-1)
# Written by scripts/bench/mtabench.py: accept {DOMAIN}, relay all of it to the sink.
divert(0)dnl
include(`{SENDMAIL_CF}')dnl
VERSIONID(`SwiftMTA benchmark')dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `mx.sendmail.test')dnl
define(`QUEUE_DIR', `{queue}')dnl
define(`confPID_FILE', `{d}/sendmail.pid')dnl
define(`STATUS_FILE', `{d}/statistics')dnl
define(`ALIAS_FILE', `{d}/aliases')dnl
define(`confSERVICE_SWITCH_FILE', `{d}/service.switch')dnl
define(`confHOST_STATUS_DIRECTORY', `')dnl
define(`confSAFE_QUEUE', `True')dnl
define(`confDELIVERY_MODE', `background')dnl
define(`confQUEUE_LA', `1000')dnl
define(`confREFUSE_LA', `1000')dnl
define(`confDELAY_LA', `0')dnl
define(`confTO_IDENT', `0')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confBIND_OPTS', `-DNSRCH -DEFNAMES')dnl
define(`confSERVER_CERT', `{self.cert}')dnl
define(`confSERVER_KEY', `{self.key}')dnl
define(`confCACERT_PATH', `{os.path.dirname(self.cert)}')dnl
define(`confCACERT', `{self.cert}')dnl
define(`SMART_HOST', `[{SINK_HOST}]')dnl
define(`RELAY_MAILER_ARGS', `TCP $h {self.sink.port}')dnl
define(`ESMTP_MAILER_ARGS', `TCP $h {self.sink.port}')dnl
define(`SMTP_MAILER_ARGS', `TCP $h {self.sink.port}')dnl
FEATURE(`nocanonify')dnl
FEATURE(`accept_unresolvable_domains')dnl
FEATURE(`no_default_msa')dnl
RELAY_DOMAIN(`{DOMAIN}')dnl
DAEMON_OPTIONS(`Port={self.port}, Addr=127.0.0.1, Name=MTA, Listen=1024')dnl
MAILER(`smtp')dnl
""")
        with open(os.path.join(d, "bench.cf"), "w") as out:
            subprocess.run(["m4", mc], stdout=out, check=True)
        subprocess.run(self._namespace([SENDMAIL, "-bi", "-C", os.path.join(d, "bench.cf")]),
                       check=True, capture_output=True, timeout=60)

    def start(self):
        self.syslog = SyslogReceiver(os.path.join(self.dir, "log.sock"), os.path.join(self.dir, "maillog"))
        super().start()

    def stop(self):
        super().stop()
        if getattr(self, "syslog", None):
            self.syslog.close()
            self.syslog = None

    def _namespace(self, argv):
        """argv in its own UTS and mount namespaces: a qualified host name (sendmail sleeps 60 s on an
        unqualified one) that the private hosts file resolves, and a private /dev whose /dev/log is
        the harness's syslog socket (this machine runs no syslogd; Sendmail logs as it would)."""
        d = self.dir
        script = (f'mount --bind "{d}/hosts" /etc/hosts && hostname mx.sendmail.test && '
                  'mount -t tmpfs -o mode=755 sendmail-dev /dev && '
                  'mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5 && '
                  'mknod -m 666 /dev/random c 1 8 && mknod -m 666 /dev/urandom c 1 9 && '
                  f'ln -s /proc/self/fd /dev/fd && ln -s "{d}/log.sock" /dev/log && exec "$@"')
        return ["unshare", "-u", "-m", "/bin/sh", "-c", script, "sh"] + argv

    def command(self):
        return self._namespace([SENDMAIL, "-bD", "-C", os.path.join(self.dir, "bench.cf")]), dict(os.environ)

    def queued(self):
        return sum(1 for f in os.listdir(os.path.join(self.dir, "queue")) if f.startswith("qf"))

    def version(self):
        out = subprocess.run(self._namespace([SENDMAIL, "-d0.1", "-bt", "-C", os.path.join(self.dir, "bench.cf")]),
                             input="", capture_output=True, text=True, timeout=60).stdout
        found = re.search(r"Version (\S+)", out)
        return f"Sendmail {found.group(1)}" if found else None


# ---------------------------------------------------------------------------------------------------------
# Measurements


def smtp_source(host, port, sessions, messages, size, timeout):
    """Postfix's smtp-source: SESSIONS parallel sessions, one message per connection."""
    env = dict(os.environ, LD_LIBRARY_PATH=POSTFIX_LIB)
    argv = [SMTP_SOURCE, "-s", str(sessions), "-m", str(messages), "-l", str(size),
            "-f", SENDER, "-t", RECIPIENT, "-M", "source.test", f"{host}:{port}"]
    started = time.monotonic()
    try:
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return started, time.monotonic(), -1, f"smtp-source ran longer than {timeout} s"
    return started, time.monotonic(), result.returncode, (result.stderr or result.stdout).strip()[-300:]


def wait_for_sink(sink, target, started, stall_seconds=30):
    """Waits until the sink has counted TARGET messages; gives up when the count stalls."""
    last, last_change = sink.count(), time.monotonic()
    while True:
        now_count = sink.count()
        if now_count >= target:
            return time.monotonic()
        if now_count != last:
            last, last_change = now_count, time.monotonic()
        elif time.monotonic() - last_change > stall_seconds:
            return None
        time.sleep(0.005)


def settle(mta, sink, timeout=30):
    """Waits until the MTA's queue is empty and the sink's count stops moving."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = sink.count()
        time.sleep(0.3)
        queued = mta.queued() if mta else 0
        if sink.count() == before and not queued:
            return True
    return False


def throughput_trial(mta, sink, sink_group, sessions, messages, size):
    """One trial: smtp-source → MTA → its sink, or (no MTA) smtp-source → SINK, the ceiling."""
    sink = mta.sink if mta else sink
    group = mta.group if mta else sink_group
    port = mta.port if mta else sink.port
    if mta:
        settle(mta, sink)
    load_before = loadavg()
    base = sink.count()
    cpu0 = group.cpu_split()
    sink0, busy0, own0 = (sink.group.cpu_seconds() if mta else 0), machine_busy_seconds(), own_seconds()
    timeout = max(120, messages / 10)
    with MemorySampler(group) as memory:
        host = "127.0.0.1" if mta else SINK_HOST
        started, accepted, rc, output = smtp_source(host, port, sessions, messages, size, timeout)
        done = wait_for_sink(sink, base + messages, started)
        cpu1 = group.cpu_split()
        if mta and done:
            settle(mta, sink, timeout=10)   # let the MTA finish its book-keeping (queue file removal)
            cpu1 = group.cpu_split()
    user_s, system_s = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    # What else ran on the machine meanwhile: its busy time less this trial's MTA, sink, smtp-source
    # and harness, as cores. (The load average alone misleads: it counts the D-state processes
    # waiting on fsync, of which a forking MTA has many.)
    wall = time.monotonic() - started
    ours = user_s + system_s + (sink.group.cpu_seconds() - sink0 if mta else 0) + own_seconds() - own0
    others_cores = max(0.0, (machine_busy_seconds() - busy0 - ours) / wall)
    delivered = sink.count() - base
    record = {
        "mta": mta.name if mta else "ceiling",
        "sessions": sessions, "messages": messages, "size": size,
        "accept_s": round(accepted - started, 4),
        "accept_rate": round(messages / (accepted - started), 1) if rc == 0 else None,
        "end_to_end_s": round(done - started, 4) if done else None,
        "end_to_end_rate": round(messages / (done - started), 1) if done and rc == 0 else None,
        "cpu_ms_per_message": round((user_s + system_s) * 1000 / messages, 4),
        "user_cpu_ms_per_message": round(user_s * 1000 / messages, 4),
        "system_cpu_ms_per_message": round(system_s * 1000 / messages, 4),
        "peak_rss_kib": memory.peak_rss, "peak_pss_kib": memory.peak_pss,
        "peak_processes": memory.peak_processes,
        "delivered": delivered, "smtp_source_status": rc,
        "loadavg_before": load_before, "loadavg_after": loadavg(),
        "other_work_cores": round(others_cores, 2),
    }
    if rc != 0:
        record["smtp_source_output"] = output
    if not done:
        record["problem"] = f"the sink counted {delivered} of {messages} messages (stalled)"
    elif delivered > messages:
        record["duplicates"] = delivered - messages
    return record


def fsync_rates(directory, seconds):
    """The disk's own rates, for scale: create+write 4 KiB+fsync(file)+fsync(folder) with 1 and 20
    writers, and overwrite 4 KiB in a preallocated file + fdatasync with 1 writer."""
    os.makedirs(directory, exist_ok=True)
    payload = b"x" * 4096

    def creator(index, stop, counts):
        folder = os.path.join(directory, f"w{index}")
        os.makedirs(folder, exist_ok=True)
        dir_fd = os.open(folder, os.O_RDONLY)
        n = 0
        while not stop.is_set():
            fd = os.open(os.path.join(folder, f"f{n}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, payload)
            os.fsync(fd)
            os.close(fd)
            os.fsync(dir_fd)
            n += 1
        os.close(dir_fd)
        counts[index] = n

    def run_creators(writers):
        stop, counts = threading.Event(), [0] * writers
        threads = [threading.Thread(target=creator, args=(i, stop, counts)) for i in range(writers)]
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        rate = sum(counts) / (time.monotonic() - started)
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)
        return round(rate, 1)

    def overwrite():
        # Written once first (not fallocate'd: the first write to an unwritten extent is a metadata change).
        path = os.path.join(directory, "segment")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        size = 16 << 20
        os.write(fd, b"\0" * size)
        os.fsync(fd)
        n, offset, started = 0, 0, time.monotonic()
        while time.monotonic() - started < seconds:
            os.pwrite(fd, payload, offset)
            os.fdatasync(fd)
            offset = (offset + 4096) % size
            n += 1
        rate = n / (time.monotonic() - started)
        os.close(fd)
        os.unlink(path)
        return round(rate, 1)

    return {"create_fsync_1_writer": run_creators(1), "create_fsync_20_writers": run_creators(20),
            "overwrite_fdatasync_1_writer": overwrite(), "loadavg": loadavg()}


def loadgen(args_list, timeout):
    argv = [sys.executable, os.path.join(HERE, "smtpload.py")] + args_list
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"failed": "all", "errors": [result.stderr.strip()[-300:]]}


def latency_run(mta, sessions, messages, size, starttls):
    sink = mta.sink
    settle(mta, sink)
    base = sink.count()
    load_before = loadavg()
    words = ["latency", "--port", str(mta.port), "--sessions", str(sessions), "--messages", str(messages),
             "--size", str(size)] + (["--starttls"] if starttls else [])
    result = loadgen(words, timeout=max(300, messages))
    accepted = result.get("accepted", 0) or 0
    wait_for_sink(sink, base + accepted, time.monotonic())
    result.update({"mta": mta.name, "loadavg_before": load_before, "loadavg_after": loadavg()})
    return result


def idle_run(mta, connections, starttls, warmup):
    """Fresh MTA, a few messages relayed (lazy set-up done), then memory with CONNECTIONS idle
    connections open minus memory before them, per connection."""
    sink = mta.sink
    mta.start()
    try:
        if warmup:
            base = sink.count()
            loadgen(["latency", "--port", str(mta.port), "--sessions", "2", "--messages", str(warmup)]
                    + (["--starttls"] if starttls else []), timeout=120)
            wait_for_sink(sink, base + warmup, time.monotonic(), stall_seconds=15)
            settle(mta, sink, timeout=15)
        time.sleep(1.0)
        before = mta.group.memory_kib()
        load_before = loadavg()
        argv = [sys.executable, os.path.join(HERE, "smtpload.py"), "idle", "--port", str(mta.port),
                "--connections", str(connections), "--timeout", "120"] + (["--starttls"] if starttls else [])
        holder = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, preexec_fn=os.setsid)
        line = holder.stdout.readline()
        try:
            opened = json.loads(line)
        except json.JSONDecodeError:
            opened = {"ready": 0, "failed": connections, "errors": [holder.stderr.read()[-300:]]}
        time.sleep(2.0)
        samples = [mta.group.memory_kib() for _ in range(3)]
        during = max(samples, key=lambda s: s[0])
        holder.stdin.write("done\n")
        holder.stdin.flush()
        try:
            holder.wait(60)
        except subprocess.TimeoutExpired:
            holder.kill()
        ready = opened.get("ready", 0)
        record = {
            "mta": mta.name, "connections": connections, "starttls": starttls, "ready": ready,
            "failed": opened.get("failed"), "open_s": opened.get("open_s"),
            "rss_before_kib": before[0], "pss_before_kib": before[1], "processes_before": before[2],
            "rss_during_kib": during[0], "pss_during_kib": during[1], "processes_during": during[2],
            "rss_per_connection_kib": round((during[0] - before[0]) / ready, 2) if ready else None,
            "pss_per_connection_kib": round((during[1] - before[1]) / ready, 2) if ready else None,
            "loadavg_before": load_before, "loadavg_after": loadavg(),
        }
        if opened.get("errors"):
            record["errors"] = opened["errors"]
        return record
    finally:
        mta.stop()


def demangle(names):
    """Swift symbol names, demangled (simplified) in one swift-demangle call; unchanged without it."""
    if not names or not shutil.which("swift"):
        return names
    result = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(names) + "\n",
                            capture_output=True, text=True)
    out = result.stdout.splitlines()
    return out if result.returncode == 0 and len(out) == len(names) else names


def annotate(path, inclusive, top):
    """The TOP functions of a callgrind dump by exclusive or inclusive instruction count."""
    argv = ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100", path]
    text = subprocess.run(argv, capture_output=True, text=True).stdout
    total, rows = None, []
    line_re = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*([\d.]+)%\)\s+)?(.*?)\s*$")
    for line in text.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        count, where = int(m.group(1).replace(",", "")), m.group(3)
        if where.startswith("PROGRAM TOTALS"):
            total = count
        elif ":" in where and total:
            obj = re.search(r"\[(.*?)\]\s*$", where)
            function = re.sub(r"\s*\[.*?\]\s*$", "", where).split(":", 1)[1]
            rows.append({"ir": count, "share": round(count / total, 4), "function": function,
                         "object": os.path.basename(obj.group(1)) if obj else None})
    rows = rows[:top]
    for row, name in zip(rows, demangle([r["function"] for r in rows])):
        row["function"] = name[:160]
    return total, rows


MODULE_NAME = re.compile(r"(?<![\w.])(MailServer|SMTPProtocol|SMTPClient|MailTLS|MailAuth|MailMaps\w*|MailRouting|"
                         r"MailSystem|_?NIO\w*|Logging|Metrics|TOMLKit|ArgumentParser|Crypto|_CryptoExtras|Swift|"
                         r"Foundation\w*|_Concurrency|Dispatch)\.")


def module_of(row):
    """Where an instruction count belongs: the library, or within swiftmta the Swift module its
    demangled name names first."""
    obj = row.get("object") or ""
    if obj and not obj.startswith("swiftmta"):
        return obj.split(".so")[0]
    match = MODULE_NAME.search(row["function"])
    return match.group(1) if match else "swiftmta (other)"


CATEGORIES = (   # (label, pattern over the demangled function or its object); the first match counts
    ("ARC: retain/release", r"^(swift_(retain|release|bridgeObject(Retain|Release)|unknownObject(Retain|Release)|nonatomic_)|"
                            r"bool swift::RefCounts|swift::RefCounts|swift_isUniquelyReferenced)"),
    ("generic metadata and conformances at run time",
     r"(GenericMetadata|MetadataCache|GenericCacheEntry|getCache\(|awaitSatisfyingState|ConcurrentReadableHashMap|"
     r"LockingConcurrentMap|swift_getTypeByMangledName|swift_conformsToProtocol|swift_getWitnessTable|swift_checkMetadataState|"
     r"type metadata accessor|metadata completion|swift_getAssociated|swift_getTupleTypeMetadata|swift_getFunctionTypeMetadata|"
     r"swift_instantiateConcreteTypeFromMangledName|swift_getCanonical)"),
    ("exclusivity checks", r"(swift_beginAccess|swift_endAccess|swift::runtime::AccessSet)"),
    ("malloc/free", r"^(malloc|free|cfree|_int_malloc|_int_free|malloc_consolidate|realloc|_int_realloc|calloc|"
                    r"swift_(allocObject|deallocObject|slowAlloc|slowDealloc|allocBox|deallocBox|deallocClassInstance)|"
                    r"tcache|unlink_chunk|__libc_malloc|__libc_free|posix_memalign|_mid_memalign|aligned_alloc)"),
    ("memcpy/memmove/memset", r"^__(mem(cpy|move|set|cmp)|memchr|strlen)"),
    ("async runtime: tasks, continuations, executors",
     r"(swift_task_|swift_job|swift_continuation|swift::AsyncTask|swift::runJob|swift_asyncLet|TaskAllocator|StackAllocator|"
     r"_dispatch|dispatch_|swift_Concurrency|withTaskCancellationHandler|swift::TaskGroup|swift_taskGroup)"),
    ("String, Substring, Character", r"^(specialized |merged |outlined )*(static )?(String|Substring|_StringGuts|_SmallString|"
                                     r"_StringObject|Character|Unicode|_StringProcessing|SubstringSearcher|_typeName|"
                                     r"DefaultStringInterpolation)"),
    ("CRC32C (spool records)", r"CRC32C"),
    ("SMTP DATA read and dot-stuffing", r"(SMTPDataReader|SMTPDataEncoder|DotStuff)"),
    ("logging", r"(Logging\.|Logger|StreamLogHandler|LogHandler)"),
)


def categorize(rows, total):
    sums = {label: 0 for label, _ in CATEGORIES}
    sums["everything else"] = 0
    compiled = [(label, re.compile(pattern)) for label, pattern in CATEGORIES]
    for row in rows:
        for label, pattern in compiled:
            if pattern.search(row["function"]) or pattern.search(row.get("object") or ""):
                sums[label] += row["ir"]
                break
        else:
            sums["everything else"] += row["ir"]
    return [{"category": k, "ir": v, "share": round(v / total, 4)} for k, v in sums.items()]


def profile(args, run_dir, cgroup_parent, sink, certificate):
    """SwiftMTA under callgrind: the accept path alone (delivery_mode = queue, nothing relayed) and
    accept + relay (the default), instructions per message and the hot spots of each."""
    out = {"messages": args.profile_messages, "sessions": args.profile_sessions, "phases": {}}
    if args.no_callgrind:
        out["perf"] = perf_profile(args, run_dir, cgroup_parent, sink, certificate)
        return out
    if not shutil.which("valgrind"):
        raise RuntimeError("the profile needs valgrind (scripts/bootstrap installs it)")
    # valgrind 3.19 cannot read the DWARF 5 the Swift toolchain writes: a copy without debug
    # information (function names stay, in the symbol table); and a sigsuspend() shim (see its file).
    tools = os.path.join(run_dir, "profile-tools")
    os.makedirs(tools, exist_ok=True)
    binary = os.path.join(tools, "swiftmta")
    subprocess.run(["objcopy", "--strip-debug", SwiftMTA.binary, binary], check=True)
    shim = os.path.join(tools, "valgrind-sigsuspend.so")
    compiler = shutil.which("cc") or shutil.which("clang")
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", shim, os.path.join(HERE, "valgrind-sigsuspend.c")], check=True)
    for phase, mode in (("accept", "queue"), ("accept+relay", None)):
        mta = SwiftMTA(run_dir, cgroup_parent, sink, certificate, folder=f"profile-{mode or 'background'}")
        mta.delivery_mode = mode
        mta.binary = binary
        mta.extra_env = {"LD_PRELOAD": shim}
        dump = os.path.join(mta.dir, "callgrind.out")
        mta.wrapper = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}", "--instr-atstart=no",
                       "--separate-threads=no", "--dump-line=no"]
        mta.start_timeout = 300
        mta.configure()
        log(f"profile {phase}: starting SwiftMTA under callgrind")
        mta.start()
        try:
            pid = mta.process.pid
            base = sink.count()
            smtp_source("127.0.0.1", mta.port, 2, 20, args.size, 600)     # warm-up, not counted
            if mode is None:
                wait_for_sink(sink, base + 20, time.monotonic(), stall_seconds=60)
            subprocess.run(["callgrind_control", "--instr=on", str(pid)], capture_output=True, timeout=120)
            cpu0 = mta.group.cpu_seconds()
            base = sink.count()
            started, accepted, rc, output = smtp_source("127.0.0.1", mta.port, args.profile_sessions,
                                                        args.profile_messages, args.size, 1800)
            if mode is None:
                wait_for_sink(sink, base + args.profile_messages, started, stall_seconds=120)
            cpu1 = mta.group.cpu_seconds()
            subprocess.run(["callgrind_control", "--dump=measured", str(pid)], capture_output=True, timeout=300)
            subprocess.run(["callgrind_control", "--instr=off", str(pid)], capture_output=True, timeout=120)
        finally:
            mta.stop()
        dumps = sorted(f for f in os.listdir(mta.dir) if f.startswith("callgrind.out"))
        measured = [os.path.join(mta.dir, f) for f in dumps if f != "callgrind.out"] or [dump]
        path = max(measured, key=os.path.getsize)
        total, exclusive = annotate(path, inclusive=False, top=args.profile_top)
        _, inclusive = annotate(path, inclusive=True, top=args.profile_top)
        _, everything = annotate(path, inclusive=False, top=100000)
        modules = {}
        for row in everything:
            modules[module_of(row)] = modules.get(module_of(row), 0) + row["ir"]
        record = {"instructions": total, "instructions_per_message": round(total / args.profile_messages) if total else None,
                  "smtp_source_status": rc, "valgrind_cpu_s": round(cpu1 - cpu0, 1),
                  "by_module": sorted(({"module": k, "ir": v, "share": round(v / total, 4)} for k, v in modules.items()),
                                      key=lambda m: -m["ir"])[:20] if total else [],
                  "categories": categorize(everything, total) if total else [],
                  "exclusive": exclusive, "inclusive": inclusive}
        out["phases"][phase] = record
        log(f"profile {phase}: {fmt(record['instructions_per_message'])} instructions per message")
    accept = out["phases"]["accept"].get("instructions_per_message")
    both = out["phases"]["accept+relay"].get("instructions_per_message")
    if accept and both:
        out["relay_instructions_per_message"] = both - accept
    out["idle_heap"] = idle_heap_profile(args, run_dir, cgroup_parent, sink, certificate, binary, shim)
    if shutil.which("perf") and not args.no_perf:
        out["perf"] = perf_profile(args, run_dir, cgroup_parent, sink, certificate)
    return out


def idle_heap_profile(args, run_dir, cgroup_parent, sink, certificate, binary, shim):
    """Where an idle connection's memory goes: SwiftMTA under valgrind's massif with N idle
    plaintext connections open (greeted, EHLO'd), one detailed snapshot, its heap by allocation
    site (the first level of massif's tree), per connection."""
    connections = args.profile_idle
    mta = SwiftMTA(run_dir, cgroup_parent, sink, certificate, folder="profile-idle-heap")
    mta.binary, mta.extra_env, mta.start_timeout = binary, {"LD_PRELOAD": shim}, 300
    mta.wrapper = ["valgrind", "--tool=massif", f"--massif-out-file={os.path.join(mta.dir, 'massif.out')}",
                   "--threshold=0.5", "--detailed-freq=1000000", "--max-snapshots=100"]
    mta.configure()
    log(f"profile idle heap: SwiftMTA under massif, {connections} idle connections")
    mta.start()
    snapshot = os.path.join(mta.dir, "idle.massif")
    try:
        holder = subprocess.Popen([sys.executable, os.path.join(HERE, "smtpload.py"), "idle", "--port", str(mta.port),
                                   "--connections", str(connections), "--timeout", "300"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        opened = json.loads(holder.stdout.readline() or "{}")
        time.sleep(2.0)
        subprocess.run(["vgdb", f"--pid={mta.process.pid}", "detailed_snapshot", snapshot],
                       capture_output=True, timeout=120)
        holder.stdin.write("done\n")
        holder.stdin.flush()
        holder.wait(60)
    finally:
        mta.stop()
    text = subprocess.run(["ms_print", snapshot], capture_output=True, text=True).stdout
    heap = re.search(r"mem_heap_B=(\d+)", open(snapshot).read()) if os.path.exists(snapshot) else None
    sites = []
    for line in text.splitlines():
        m = re.match(r"^(->|\| ->)[\d.]+% \(([\d,]+)B\) 0x[0-9A-F]+: (.*?) \(in (.*?)\)\s*$", line)
        if m:
            sites.append({"level": 0 if m.group(1) == "->" else 1, "bytes": int(m.group(2).replace(",", "")),
                          "function": m.group(3), "object": os.path.basename(m.group(4))})
    for row, name in zip(sites, demangle([r["function"] for r in sites])):
        row["function"] = name[:160]
    ready = opened.get("ready") or 0
    for row in sites:
        row["bytes_per_connection"] = round(row["bytes"] / ready) if ready else None
    return {"connections": connections, "ready": ready,
            "heap_bytes": int(heap.group(1)) if heap else None,
            "heap_bytes_per_connection": round(int(heap.group(1)) / ready) if heap and ready else None,
            "sites": sites[:40]}


PERF_LINE = re.compile(r"^\s*([\d.]+)%\s+(\S+)\s+\[([.k])\]\s+(.*?)\s*$")


def perf_report(data, sort):
    """perf report's flat (self) profile sorted by SORT, as (share, dso, kernel?, symbol) rows."""
    argv = ["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio", "-g", "none",
            "--percent-limit", "0.2"]
    text = subprocess.run(argv, capture_output=True, text=True).stdout
    rows = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if sort == "dso":
            m = re.match(r"^\s*([\d.]+)%\s+(.*?)\s*$", line)
            if m:
                rows.append({"share": round(float(m.group(1)) / 100, 4), "dso": m.group(2)})
            continue
        m = PERF_LINE.match(line)
        if m:
            rows.append({"share": round(float(m.group(1)) / 100, 4), "dso": m.group(2),
                         "kernel": m.group(3) == "k", "function": m.group(4)})
    return rows


def perf_syscalls(data):
    """Shares of the samples by the system call they were taken in (the kernel stack's
    __x64_sys_* frame; "user space" when the sample is not in the kernel) and by thread name."""
    text = subprocess.run(["perf", "script", "-i", data, "-F", "comm,ip,sym"], capture_output=True, text=True).stdout
    calls, threads, total = {}, {}, 0

    def count(comm, frames):
        call = next((f[len("__x64_sys_"):] for f in frames if f.startswith("__x64_sys_")), None)
        if call is None:
            call = "kernel, call not identified (socket I/O whose frame perf lost, interrupts)" if any(
                f.startswith(("entry_SYSCALL", "asm_")) for f in frames) else "user space"
        calls[call] = calls.get(call, 0) + 1
        threads[comm] = threads.get(comm, 0) + 1

    comm, frames = None, []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0] not in " \t":
            if comm is not None:
                count(comm, frames)
                total += 1
            comm, frames = line.split()[0], []
        else:
            frames.append(line.split()[-1] if line.split() else "")
    if comm is not None:
        count(comm, frames)
        total += 1
    share = lambda d: [{"name": k, "share": round(v / total, 4)} for k, v in sorted(d.items(), key=lambda kv: -kv[1])][:12] if total else []
    return share(calls), share(threads)


def perf_profile(args, run_dir, cgroup_parent, sink, certificate):
    """SwiftMTA's release build at full speed under perf's cpu-clock sampling (kernel included, which
    callgrind cannot see): M messages over S sessions, accept + relay, every thread of the process."""
    messages, sessions = args.perf_messages, args.sessions[0]
    mta = SwiftMTA(run_dir, cgroup_parent, sink, certificate, folder="profile-perf")
    mta.configure()
    log(f"profile perf: {messages} messages over {sessions} sessions")
    mta.start()
    data = os.path.join(mta.dir, "perf.data")
    try:
        base = sink.count()
        smtp_source("127.0.0.1", mta.port, 5, 200, args.size, 120)      # warm-up, not sampled
        wait_for_sink(sink, base + 200, time.monotonic(), stall_seconds=30)
        recorder = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "2000", "-g", "-o", data,
                                     "-p", str(mta.process.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)
        user0, system0 = mta.group.cpu_split()
        load_before = loadavg()
        base = sink.count()
        started, accepted, rc, _ = smtp_source("127.0.0.1", mta.port, sessions, messages, args.size, 600)
        wait_for_sink(sink, base + messages, started, stall_seconds=30)
        user1, system1 = mta.group.cpu_split()
        recorder.send_signal(signal.SIGINT)
        recorder.wait(120)
    finally:
        mta.stop()
    syscalls, threads = perf_syscalls(data)
    functions = perf_report(data, "dso,sym")
    for row, name in zip(functions, demangle([r["function"] for r in functions])):
        row["function"] = name[:160]
    kernel = sum(r["share"] for r in functions if r["kernel"])
    return {"messages": messages, "sessions": sessions, "smtp_source_status": rc,
            "accept_rate": round(messages / (accepted - started), 1),
            "user_cpu_ms_per_message": round((user1 - user0) * 1000 / messages, 4),
            "system_cpu_ms_per_message": round((system1 - system0) * 1000 / messages, 4),
            "kernel_share_listed": round(kernel, 4),
            "by_dso": perf_report(data, "dso")[:15], "functions": functions[:args.profile_top * 2],
            "by_system_call": syscalls, "by_thread": threads,
            "loadavg_before": load_before, "loadavg_after": loadavg()}


def profile_markdown(p):
    lines = [f"Callgrind, {p['messages']:,} messages over {p['sessions']} sessions after a warm-up; "
             "instructions counted in every thread of SwiftMTA's process."]
    lines.append("")
    lines.append("| path | instructions per message |")
    lines.append("|---|---:|")
    for phase, r in p["phases"].items():
        lines.append(f"| {phase} | {fmt(r['instructions_per_message'])} |")
    if p.get("relay_instructions_per_message"):
        lines.append(f"| relay alone (difference) | {fmt(p['relay_instructions_per_message'])} |")
    phases = list(p["phases"].items())
    if phases and all(r.get("categories") for _, r in phases):
        lines.append("")
        lines.append("| where the instructions go (exclusive) | " + " | ".join(f"{phase}: instructions/msg (share)" for phase, _ in phases) + " |")
        lines.append("|---|" + "---:|" * len(phases))
        for i, c in enumerate(phases[0][1]["categories"]):
            cells = []
            for _, r in phases:
                entry = r["categories"][i]
                cells.append(f"{fmt(entry['ir'] / p['messages'])} ({entry['share'] * 100:.1f}%)")
            lines.append(f"| {c['category']} | " + " | ".join(cells) + " |")
    for phase, r in p["phases"].items():
        lines.append("")
        lines.append(f"{phase}: instructions by module or library — " + ", ".join(
            f"{m['module']} {m['share'] * 100:.1f}%" for m in r["by_module"][:12]) + ".")
        lines.append("")
        lines.append(f"| {phase}: function (exclusive) | share | object |")
        lines.append("|---|---:|---|")
        for row in r["exclusive"]:
            lines.append(f"| `{row['function'].replace('|', '¦')}` | {row['share'] * 100:.1f}% | {row['object'] or ''} |")
    h = p.get("idle_heap")
    if h and h.get("sites"):
        lines.append("")
        lines.append(f"Idle connections under massif: {h['ready']:,} plaintext connections open (greeted, EHLO'd); the "
                     f"heap with them open {fmt(h['heap_bytes'])} B, {fmt(h['heap_bytes_per_connection'])} B per connection "
                     "(including what the server holds anyway: the spool's buffers). By allocation site:")
        lines.append("")
        lines.append("| allocation site (massif's first two levels) | bytes per connection |")
        lines.append("|---|---:|")
        for row in h["sites"]:
            if row["bytes_per_connection"] and row["bytes_per_connection"] >= 256:
                indent = "" if row["level"] == 0 else "↳ "
                lines.append(f"| {indent}`{row['function'].replace('|', '¦')}` ({row['object']}) | {fmt(row['bytes_per_connection'])} |")
    q = p.get("perf")
    if q:
        cpu = q["user_cpu_ms_per_message"] + q["system_cpu_ms_per_message"]
        lines.append("")
        lines.append(f"perf (cpu-clock sampling at 2 kHz, kernel included), the release build at full speed: "
                     f"{q['messages']:,} messages over {q['sessions']} sessions, accept + relay, "
                     f"{fmt(q['accept_rate'])} msg/s accepted; CPU per message {cpu:.3f} ms = user "
                     f"{q['user_cpu_ms_per_message']:.3f} + system {q['system_cpu_ms_per_message']:.3f} (cgroup); "
                     f"load average {q['loadavg_before'][0]:.2f} before, {q['loadavg_after'][0]:.2f} after. "
                     "Samples by object: " + ", ".join(f"{d['dso']} {d['share'] * 100:.1f}%" for d in q["by_dso"][:10]) + ".")
        lines.append("")
        lines.append("perf samples by system call: " + ", ".join(f"{c['name']} {c['share'] * 100:.1f}%" for c in q.get("by_system_call", []))
                     + ". By thread: " + ", ".join(f"{c['name']} {c['share'] * 100:.1f}%" for c in q.get("by_thread", [])) + ".")
        lines.append("")
        lines.append("| perf: function (self) | share | object |")
        lines.append("|---|---:|---|")
        for row in q["functions"][:30]:
            lines.append(f"| `{row['function'].replace('|', '¦')}` | {row['share'] * 100:.1f}% | {row['dso']} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Report


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"min": min(values), "median": round(statistics.median(values), 4), "max": max(values), "n": len(values)}


def summarize(trials):
    summary = {}
    for t in trials:
        summary.setdefault(str(t["sessions"]), {}).setdefault(t["mta"], []).append(t)
    out = {}
    for sessions, by_mta in summary.items():
        out[sessions] = {}
        for mta, ts in by_mta.items():
            out[sessions][mta] = {key: spread([t.get(key) for t in ts]) for key in
                                  ("accept_rate", "end_to_end_rate", "cpu_ms_per_message", "user_cpu_ms_per_message",
                                   "system_cpu_ms_per_message", "peak_rss_kib", "peak_pss_kib")}
            out[sessions][mta]["failed_trials"] = sum(1 for t in ts if t.get("problem") or t["smtp_source_status"])
    return out


def median_of(summary, sessions, mta, key):
    entry = summary.get(str(sessions), {}).get(mta, {}).get(key)
    return entry["median"] if entry else None


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def ratios(summary):
    out = {}
    for sessions in summary:
        row = {}
        for peer in ("postfix", "sendmail"):
            for key in ("accept_rate", "end_to_end_rate"):
                row[f"swiftmta_over_{peer}_{key}"] = ratio(median_of(summary, sessions, "swiftmta", key),
                                                           median_of(summary, sessions, peer, key))
            # CPU: how many times less CPU per message SwiftMTA needs.
            row[f"{peer}_over_swiftmta_cpu_per_message"] = ratio(median_of(summary, sessions, peer, "cpu_ms_per_message"),
                                                                  median_of(summary, sessions, "swiftmta", "cpu_ms_per_message"))
        ceiling = median_of(summary, sessions, "ceiling", "accept_rate")
        for mta in MTA_NAMES:
            for key in ("accept_rate", "end_to_end_rate"):
                row[f"{mta}_share_of_ceiling_{key}"] = ratio(median_of(summary, sessions, mta, key), ceiling)
        out[sessions] = row
    return out


def fmt(value, digits=0):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def fmt_spread(entry, digits=0):
    if not entry:
        return "—"
    return f"{fmt(entry['median'], digits)} ({fmt(entry['min'], digits)}–{fmt(entry['max'], digits)})"


def split_cell(entry):
    """Median user and system CPU per message, from the same trials as the total."""
    user, system = entry.get("user_cpu_ms_per_message"), entry.get("system_cpu_ms_per_message")
    if not user or not system:
        return "—"
    return f"{fmt(user['median'], 3)} / {fmt(system['median'], 3)}"


def markdown(result):
    lines = []
    p = result["parameters"]
    lines.append(f"Run of {result['started']} on {result['machine']['cpu']} ({result['machine']['cores']} cores), "
                 f"{p['messages']:,} messages of {p['size']:,} octets per trial, one per connection, "
                 f"{p['repeats']} trial(s) per MTA and session count, interleaved. "
                 f"Load average during the trials: {result['load_during_trials']['min']:.2f}–"
                 f"{result['load_during_trials']['max']:.2f} (1-minute)"
                 + (f"; other work on the machine (its busy CPU less the trial's own) "
                    f"{fmt_spread(result['other_work_during_trials'], 2)} cores of {result['machine']['cores']}"
                    if result.get("other_work_during_trials") else "") + ".")
    lines.append("")
    lines.append("| sessions | MTA | accept msg/s | end-to-end msg/s | MTA CPU ms/msg | of which user / system | peak RSS MiB | peak PSS MiB | share of ceiling (accept / e2e) |")
    lines.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    labels = {"ceiling": "ceiling (smtp-source → smtp-sink)", "swiftmta": "SwiftMTA", "postfix": "Postfix", "sendmail": "Sendmail"}
    for sessions, by_mta in result["summary"].items():
        r = result["ratios"][sessions]
        for mta in ("ceiling",) + MTA_NAMES:
            s = by_mta.get(mta)
            if not s:
                continue
            mib = lambda e: {k: (v / 1024 if isinstance(v, (int, float)) and k != "n" else v) for k, v in e.items()} if e else None
            share = "—" if mta == "ceiling" else (
                f"{fmt(r.get(f'{mta}_share_of_ceiling_accept_rate'), 2)} / {fmt(r.get(f'{mta}_share_of_ceiling_end_to_end_rate'), 2)}")
            failed = f" ({s['failed_trials']} failed)" if s.get("failed_trials") else ""
            lines.append(f"| {sessions} | {labels[mta]}{failed} | {fmt_spread(s['accept_rate'])} | {fmt_spread(s['end_to_end_rate'])} | "
                         f"{fmt_spread(s['cpu_ms_per_message'], 3)} | {split_cell(s)} | {fmt_spread(mib(s['peak_rss_kib']), 1)} | "
                         f"{fmt_spread(mib(s['peak_pss_kib']), 1)} | {share} |")
    lines.append("")
    lines.append("Medians, with (min–max). CPU is the MTA's whole process tree from the first connection until "
                 "the sink had every message; for the ceiling it is smtp-sink's.")
    lines.append("")
    lines.append("| sessions | SwiftMTA / Postfix accept | e2e | CPU/msg (Postfix ÷ SwiftMTA) | SwiftMTA / Sendmail accept | e2e | CPU/msg (Sendmail ÷ SwiftMTA) |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|")
    for sessions, r in result["ratios"].items():
        lines.append(f"| {sessions} | {fmt(r['swiftmta_over_postfix_accept_rate'], 2)}× | {fmt(r['swiftmta_over_postfix_end_to_end_rate'], 2)}× | "
                     f"{fmt(r['postfix_over_swiftmta_cpu_per_message'], 2)}× | {fmt(r['swiftmta_over_sendmail_accept_rate'], 2)}× | "
                     f"{fmt(r['swiftmta_over_sendmail_end_to_end_rate'], 2)}× | {fmt(r['sendmail_over_swiftmta_cpu_per_message'], 2)}× |")
    d = result.get("disk")
    if d:
        lines.append("")
        lines.append(f"Disk, same run: create+write 4 KiB+fsync(file)+fsync(folder) {fmt(d['create_fsync_1_writer'])}/s with one writer, "
                     f"{fmt(d['create_fsync_20_writers'])}/s with 20; overwrite 4 KiB in a preallocated file + fdatasync "
                     f"{fmt(d['overwrite_fdatasync_1_writer'])}/s.")
    if result.get("latency"):
        lines.append("")
        lines.append("| MTA | TLS | sessions | messages | accept latency p50 / p99 ms | transaction p50 / p99 ms | msg/s | failed |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for l in result["latency"]:
            a, t = l.get("accept_ms") or {}, l.get("transaction_ms") or {}
            lines.append(f"| {labels[l['mta']]} | {'STARTTLS' if l.get('starttls') else 'plain'} | {l.get('sessions')} | {l.get('messages')} | "
                         f"{fmt(a.get('p50'), 2)} / {fmt(a.get('p99'), 2)} | {fmt(t.get('p50'), 2)} / {fmt(t.get('p99'), 2)} | "
                         f"{fmt(l.get('rate'))} | {l.get('failed')} |")
        lines.append("")
        lines.append("Accept latency: from the end of data (CRLF.CRLF) to its 250, i.e. the durable commit; transaction: "
                     "from connect to that 250 (EHLO, STARTTLS and its handshake, MAIL, RCPT, DATA).")
    if result.get("idle"):
        lines.append("")
        lines.append("| MTA | idle connections | TLS | opened | RSS per connection KiB | PSS per connection KiB | processes |")
        lines.append("|---|---:|---|---:|---:|---:|---:|")
        for i in result["idle"]:
            lines.append(f"| {labels[i['mta']]} | {i['connections']:,} | {'STARTTLS' if i['starttls'] else 'plain'} | {i['ready']:,} | "
                         f"{fmt(i['rss_per_connection_kib'], 1)} | {fmt(i['pss_per_connection_kib'], 1)} | "
                         f"{i['processes_before']} → {i['processes_during']} |")
        lines.append("")
        lines.append("Per connection: (memory with the connections open − memory before) ÷ connections, on a fresh "
                     "MTA that has relayed a few messages. PSS shares each shared page among the processes that map it; "
                     "for the one-process SwiftMTA RSS is the figure, for the forking MTAs PSS.")
    goals = result.get("goals")
    if goals:
        lines.append("")
        lines.append("Goals (not test assertions): " + "; ".join(f"{g['goal']}: {g['verdict']}" for g in goals) + ".")
    return "\n".join(lines) + "\n"


def goals(result):
    out = []
    summary, r = result["summary"], result["ratios"]
    for sessions in summary:
        for peer, target in (("postfix", 3), ("sendmail", 10)):
            for key, label in (("accept_rate", "accept"), ("end_to_end_rate", "end-to-end")):
                value = r[sessions].get(f"swiftmta_over_{peer}_{key}")
                if value is not None:
                    out.append({"goal": f"{label} ≥ {target}× {peer.capitalize()} at {sessions} sessions",
                                "value": value, "verdict": f"{value:.2f}× ({'met' if value >= target else 'not met'})"})
        cpu = median_of(summary, sessions, "swiftmta", "cpu_ms_per_message")
        if cpu is not None:
            out.append({"goal": f"≤ 0.5 ms CPU/msg at {sessions} sessions", "value": cpu,
                        "verdict": f"{cpu:.3f} ms ({'met' if cpu <= 0.5 else 'not met'})"})
    for i in result.get("idle", []):
        if i["mta"] == "swiftmta" and i["rss_per_connection_kib"] is not None:
            limit = 48 if i["starttls"] else 16
            out.append({"goal": f"idle {'TLS' if i['starttls'] else 'plaintext'} ≤ {limit} KiB at {i['connections']:,}",
                        "value": i["rss_per_connection_kib"],
                        "verdict": f"{i['rss_per_connection_kib']:.1f} KiB ({'met' if i['rss_per_connection_kib'] <= limit else 'not met'})"})
    return out


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 1048576, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "cgroup_v2": CGROUP2 is not None}


def publish(result, text, repository, name):
    """Writes the figures (or the profile) into BENCHMARKS.md between its markers, and the whole
    result into BENCHMARKS.json (under "benchmark" or "profile")."""
    path = os.path.join(repository, "BENCHMARKS.md")
    with open(path) as f:
        doc = f.read()
    block = "figures" if name == "latest" else "profile"
    begin, end = f"<!-- bench:{block}:begin -->", f"<!-- bench:{block}:end -->"
    if begin not in doc or end not in doc:
        raise RuntimeError(f"{path} has no {begin} … {end} block to replace")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + begin + "\n" + text + end + tail)
    json_path = os.path.join(repository, "BENCHMARKS.json")
    try:
        with open(json_path) as f:
            published = json.load(f)
    except (OSError, json.JSONDecodeError):
        published = {}
    published["benchmark" if name == "latest" else "profile"] = result
    with open(json_path, "w") as f:
        json.dump(published, f, indent=1)
        f.write("\n")


# ---------------------------------------------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000, help="M: messages per trial (5000)")
    parser.add_argument("--size", type=int, default=4096, help="L: octets of body per message (4096)")
    parser.add_argument("--sessions", default="20,50", help="S: session counts, comma-separated (20,50)")
    parser.add_argument("--repeats", type=int, default=3, help="trials per MTA and session count (3)")
    parser.add_argument("--mtas", default=",".join(MTA_NAMES), help="which MTAs (swiftmta,postfix,sendmail)")
    parser.add_argument("--idle", default="1000,10000", help="idle connection counts for SwiftMTA (1000,10000)")
    parser.add_argument("--idle-peers", default="1000", help="idle connection counts for Postfix and Sendmail (1000)")
    parser.add_argument("--latency-messages", type=int, default=500, help="messages per latency run (500)")
    parser.add_argument("--latency-sessions", default="1,20", help="session counts of the latency runs (1,20)")
    parser.add_argument("--fsync-seconds", type=float, default=2.0)
    parser.add_argument("--swiftmta", default=SwiftMTA.binary, help="the swiftmta binary (the release build)")
    parser.add_argument("--smoke", action="store_true",
                        help="fast check that the harness works: 200 messages, 1 trial, SwiftMTA and the ceiling, "
                             "20 sessions, 100 idle connections, a short latency run")
    parser.add_argument("--output", default=os.path.join(ROOT, ".build", "bench"),
                        help="where the run's folder and latest.json/latest.md go (.build/bench)")
    parser.add_argument("--profile", action="store_true",
                        help="instead of the benchmark: SwiftMTA's accept and relay paths under valgrind's callgrind")
    parser.add_argument("--profile-messages", type=int, default=500)
    parser.add_argument("--profile-sessions", type=int, default=10)
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--perf-messages", type=int, default=5000,
                        help="messages for the profile's perf run (release build at full speed, kernel included)")
    parser.add_argument("--no-perf", action="store_true", help="the profile without its perf run")
    parser.add_argument("--no-callgrind", action="store_true", help="the profile's perf run alone")
    parser.add_argument("--profile-idle", type=int, default=1000, help="idle connections for the profile's massif run (1000)")
    parser.add_argument("--publish", action="store_true", help="write the figures into BENCHMARKS.md and BENCHMARKS.json")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (configs, logs, queues)")
    args = parser.parse_args()
    if args.smoke:
        args.messages, args.repeats, args.sessions, args.mtas = 200, 1, "20", "swiftmta"
        args.idle, args.idle_peers, args.latency_messages, args.latency_sessions = "100", "", 50, "5"
        args.fsync_seconds = 0.5
    args.sessions = [int(x) for x in args.sessions.split(",") if x]
    args.mtas = [x for x in args.mtas.split(",") if x]
    args.idle = [int(x) for x in args.idle.split(",") if x]
    args.idle_peers = [int(x) for x in args.idle_peers.split(",") if x]
    args.latency_sessions = [int(x) for x in args.latency_sessions.split(",") if x]
    unknown = set(args.mtas) - set(MTA_NAMES)
    if unknown:
        parser.error(f"unknown MTA {', '.join(sorted(unknown))} (known: {', '.join(MTA_NAMES)})")
    return args


def preflight(args):
    problems = []
    if os.geteuid() != 0:
        problems.append("needs root: cgroups, Postfix's user switching, Sendmail's namespaces")
    for path, what in ((SMTP_SOURCE, "Postfix's smtp-source (scripts/bootstrap unpacks it)"),
                       (SMTP_SINK, "Postfix's smtp-sink (scripts/bootstrap unpacks it)")):
        if not os.access(path, os.X_OK):
            problems.append(f"missing {what}: {path}")
    if "swiftmta" in args.mtas and not os.access(args.swiftmta, os.X_OK):
        problems.append(f"missing the swiftmta binary {args.swiftmta} (swift build -c release --product swiftmta)")
    if "postfix" in args.mtas:
        import pwd, grp
        try:
            pwd.getpwnam("postfix")
            grp.getgrnam("postdrop")
        except KeyError:
            problems.append("Postfix needs the postfix user and the postdrop group (scripts/bootstrap makes them)")
    if "sendmail" in args.mtas and not (os.access(SENDMAIL, os.X_OK) and os.path.exists(SENDMAIL_CF)):
        problems.append("Sendmail needs sendmail-bin and sendmail-cf (scripts/bootstrap installs them)")
    if problems:
        for p in problems:
            print(f"mtabench: {p}", file=sys.stderr)
        sys.exit(2)


def benchmark(args, result, run_dir, cgroup_parent, sink, sink_group, certificate):
    classes = {"swiftmta": SwiftMTA, "postfix": Postfix, "sendmail": Sendmail}
    mtas, sinks = [], []
    try:
        for name in args.mtas:
            # Each MTA relays to a sink of its own: nothing one delivers late is counted for another.
            own = Sink(run_dir, ProcessGroup(cgroup_parent, f"sink-{name}"), f"sink-{name}")
            sinks.append(own)
            mta = classes[name](run_dir, cgroup_parent, own, certificate)
            mta.configure()
            mtas.append(mta)
        result["versions"] = {m.name: m.version() for m in mtas}
        log(f"versions: {result['versions']}")

        log("disk fsync rates")
        result["disk"] = fsync_rates(os.path.join(run_dir, "fsync-probe"), args.fsync_seconds)
        log(f"  {result['disk']}")

        for mta in mtas:
            mta.start()
            # warm-up: lazy set-up and first connections out of the way
            base = mta.sink.count()
            smtp_source("127.0.0.1", mta.port, 5, 50, args.size, 120)
            wait_for_sink(mta.sink, base + 50, time.monotonic(), stall_seconds=20)

        order = [None] + mtas
        for sessions in args.sessions:
            for repeat in range(args.repeats):
                shift = repeat % len(order)
                for mta in order[shift:] + order[:shift]:
                    record = throughput_trial(mta, sink, sink_group, sessions, args.messages, args.size)
                    record["repeat"] = repeat + 1
                    result["trials"].append(record)
                    log(f"S={sessions} #{repeat + 1} {record['mta']:9} accept {fmt(record['accept_rate'])}/s "
                        f"e2e {fmt(record['end_to_end_rate'])}/s cpu {record['cpu_ms_per_message']:.3f} ms/msg "
                        f"rss {record['peak_rss_kib'] / 1024:.0f} MiB load {record['loadavg_before'][0]:.2f} "
                        f"others {record['other_work_cores']:.2f} cores"
                        + (f"  PROBLEM: {record['problem']}" if record.get('problem') else "")
                        + (f"  smtp-source: {record.get('smtp_source_output')}" if record['smtp_source_status'] else ""))

        for sessions in args.latency_sessions:
            for starttls in (False, True):
                for mta in mtas:
                    record = latency_run(mta, sessions, args.latency_messages, args.size, starttls)
                    result["latency"].append(record)
                    a = record.get("accept_ms") or {}
                    log(f"latency {mta.name:9} {'tls' if starttls else 'plain'} S={sessions}: accept p50 {a.get('p50')} "
                        f"p99 {a.get('p99')} ms, failed {record.get('failed')} {record.get('errors') or ''}")

        for mta in mtas:
            mta.stop()
        for mta in mtas:
            counts = args.idle if mta.name == "swiftmta" else args.idle_peers
            for connections in counts:
                for starttls in (False, True):
                    record = idle_run(mta, connections, starttls, warmup=10)
                    result["idle"].append(record)
                    log(f"idle {mta.name:9} {connections} {'tls' if starttls else 'plain'}: opened {record['ready']}, "
                        f"RSS {fmt(record['rss_per_connection_kib'], 1)} KiB/conn, PSS {fmt(record['pss_per_connection_kib'], 1)} KiB/conn"
                        + (f" errors {record['errors']}" if record.get('errors') else ""))
    finally:
        for mta in mtas:
            try:
                mta.stop()
            except Exception as error:      # keep stopping the others
                log(f"stopping {mta.label}: {error}")
        for own in sinks:
            own.stop()
            own.group.remove()

    loads = [t["loadavg_before"][0] for t in result["trials"]] + [t["loadavg_after"][0] for t in result["trials"]]
    result["load_during_trials"] = {"min": min(loads, default=0), "max": max(loads, default=0)}
    others = [t["other_work_cores"] for t in result["trials"] if t.get("other_work_cores") is not None]
    result["other_work_during_trials"] = spread(others)
    result["summary"] = summarize(result["trials"])
    result["ratios"] = ratios(result["summary"])
    result["goals"] = goals(result)
    return markdown(result)


def main():
    args = parse_args()
    preflight(args)
    SwiftMTA.binary = os.path.abspath(args.swiftmta)
    os.makedirs(args.output, exist_ok=True)
    run_dir = tempfile.mkdtemp(prefix="run-", dir=args.output)
    os.chmod(run_dir, 0o755)
    cgroup_parent = None
    if CGROUP2:
        cgroup_parent = os.path.join(CGROUP2, f"swiftmta-bench-{os.getpid()}")
        try:
            os.makedirs(cgroup_parent)
        except OSError as error:
            log(f"no cgroup ({error}); CPU from /proc")
            cgroup_parent = None
    result = {"started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
              "machine": machine(), "run_dir": run_dir,
              "parameters": {"messages": args.messages, "size": args.size, "sessions": args.sessions,
                             "repeats": args.repeats, "mtas": args.mtas, "smoke": args.smoke},
              "loadavg_start": loadavg(), "trials": [], "latency": [], "idle": []}
    log(f"run folder {run_dir}; load average {result['loadavg_start']}")
    sink_group = ProcessGroup(cgroup_parent, "sink")
    sink = Sink(run_dir, sink_group)
    certificate = make_certificate(os.path.join(run_dir, "tls"))
    try:
        if args.profile:
            result = {"started": result["started"], "machine": result["machine"], "loadavg_start": result["loadavg_start"],
                      "swiftmta": SwiftMTA(run_dir, None, sink, certificate, folder="version").version()}
            result["profile"] = profile(args, run_dir, cgroup_parent, sink, certificate)
            text = profile_markdown(result["profile"])
            name = "profile"
        else:
            text = benchmark(args, result, run_dir, cgroup_parent, sink, sink_group, certificate)
            name = "latest"
    finally:
        sink.stop()
        sink_group.remove()
        if cgroup_parent:
            try:
                os.rmdir(cgroup_parent)
            except OSError:
                pass

    result["finished"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    result["loadavg_end"] = loadavg()
    with open(os.path.join(args.output, f"{name}.json"), "w") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(args.output, f"{name}.md"), "w") as f:
        f.write(text)
    print(text)
    log(f"written {os.path.join(args.output, name + '.json')} and {name}.md")
    if not args.profile and result["load_during_trials"]["max"] > 1.5:
        log(f"WARNING: the load average reached {result['load_during_trials']['max']:.2f} during the trials: "
            "other work shared the machine; these figures are noise")
    if args.publish:
        publish(result, text, ROOT, name)
        log("figures written to BENCHMARKS.md and BENCHMARKS.json")
    if not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    failed = [t for t in result.get("trials", []) if t.get("problem") or t["smtp_source_status"]]
    failed += [l for l in result.get("latency", []) if l.get("failed") != 0 or l.get("errors")]
    failed += [i for i in result.get("idle", []) if i["ready"] != i["connections"]]
    if failed:
        log(f"{len(failed)} trial(s), latency or idle run(s) did not complete; see {name}.json")
        sys.exit(1)


if __name__ == "__main__":
    main()
