#!/usr/bin/env python3
"""A/B of SwiftMTA builds (for a change's effect on CPU per message), as root:

    python3 scripts/bench/ab.py [--rounds 3] [--messages 5000] [--sessions 20] BINARY_A BINARY_B ...

Each build runs as make bench runs SwiftMTA (mtabench.py's configuration: accept bench.test, relay
it all to its own smtp-sink); per round, in rotating order, smtp-source sends the messages and the
script reads, until the sink has them all, the server's CPU (user, system: /proc/PID/stat of
its one process) and its threads' context switches (voluntary + involuntary, /proc/PID/task/*),
per message. Prints one line per trial and the medians; the load average and the other work on
the machine (busy CPU less the trial's own) go with every trial.
"""

import argparse
import glob
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtabench as mb   # noqa: E402


def switches(pid):
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    run = tempfile.mkdtemp(prefix="ab-", dir=os.path.join(mb.ROOT, ".build"))
    certificate = mb.make_certificate(os.path.join(run, "tls"))
    servers = []
    try:
        for i, binary in enumerate(args.binaries):
            sink = mb.Sink(run, mb.ProcessGroup(None, f"sink{i}"), f"sink{i}")
            mta = mb.SwiftMTA(run, None, sink, certificate, folder=f"build{i}")
            mta.binary = os.path.abspath(binary)
            mta.configure()
            mta.start()
            base = sink.count()
            mb.smtp_source("127.0.0.1", mta.port, 5, 200, 4096, 120)        # warm-up
            mb.wait_for_sink(sink, base + 200, time.monotonic())
            servers.append((binary, mta, sink))
        results = {b: [] for b in args.binaries}
        for r in range(args.rounds):
            order = servers[r % len(servers):] + servers[:r % len(servers)]
            for binary, mta, sink in order:
                pid = mta.process.pid          # the wrapper execs swiftmta: this is its process
                mb.settle(mta, sink)
                load, busy0, own0 = mb.loadavg(), mb.machine_busy_seconds(), mb.own_seconds()
                (u0, s0), c0, base = cpu(pid), switches(pid), sink.count()
                started, accepted, rc, _ = mb.smtp_source("127.0.0.1", mta.port, args.sessions, args.messages, 4096, 300)
                mb.wait_for_sink(sink, base + args.messages, started)
                (u1, s1), c1 = cpu(pid), switches(pid)
                wall = time.monotonic() - started
                others = max(0.0, (mb.machine_busy_seconds() - busy0 - (u1 - u0 + s1 - s0) - (mb.own_seconds() - own0)) / wall)
                n = args.messages
                row = {"accept_rate": n / (accepted - started), "user_ms": (u1 - u0) * 1000 / n,
                       "system_ms": (s1 - s0) * 1000 / n, "switches": (c1 - c0) / n}
                row["cpu_ms"] = row["user_ms"] + row["system_ms"]
                results[binary].append(row)
                print(f"round {r + 1} {os.path.basename(binary):24} accept {row['accept_rate']:7.0f}/s  cpu {row['cpu_ms']:.3f} ms/msg "
                      f"(user {row['user_ms']:.3f} + system {row['system_ms']:.3f})  switches {row['switches']:5.1f}/msg  "
                      f"load {load[0]:.2f} others {others:.2f} cores  rc {rc}", flush=True)
        for binary, rows in results.items():
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            print(f"median {os.path.basename(binary):23} accept {med['accept_rate']:7.0f}/s  cpu {med['cpu_ms']:.3f} ms/msg "
                  f"(user {med['user_ms']:.3f} + system {med['system_ms']:.3f})  switches {med['switches']:5.1f}/msg")
    finally:
        for _, mta, sink in servers:
            mta.stop()
            sink.stop()
        import shutil
        shutil.rmtree(run, ignore_errors=True)


if __name__ == "__main__":
    main()
