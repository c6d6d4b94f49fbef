"""Child processes, temp dirs, deadlines and /proc readings shared by every bench phase.

Every process a phase starts is registered here, so `Cleanup.close()` (run from a finally block,
also on Ctrl-C) stops whatever is still running, even when a phase failed half-way."""

import ctypes
import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

LOOPBACK = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class PhaseTimeout(Exception):
    """A phase ran past its hard deadline; the bench reports it and goes on."""


class Deadline:
    """A point in monotonic time after which a phase gives up."""

    def __init__(self, seconds, what):
        self.end = time.monotonic() + seconds
        self.seconds = seconds
        self.what = what

    def left(self):
        return self.end - time.monotonic()

    def check(self):
        if time.monotonic() > self.end:
            raise PhaseTimeout(f"{self.what}: no result within {self.seconds:.0f} s")


def free_port():
    """A TCP port free on 127.0.0.1 now (a tiny race with other programs is accepted)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_for_port(port, deadline):
    """Waits until something accepts TCP connections on 127.0.0.1:port."""
    while True:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            deadline.check()
            time.sleep(0.02)


def _die_with_parent():
    # Linux prctl(PR_SET_PDEATHSIG, SIGKILL): a child never outlives a bench killed with -9.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Cleanup:
    """Owns the temp dirs and child processes of one bench run."""

    def __init__(self):
        self.processes = []
        self.dirs = []

    def temp_dir(self, label):
        path = tempfile.mkdtemp(prefix=f"bench-{label}-")
        self.dirs.append(path)
        return path

    def start(self, argv, *, cwd=None, env=None, log_path=None):
        """Starts argv in its own session (Ctrl-C reaches only the bench, which then stops it)."""
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True, preexec_fn=_die_with_parent)
        finally:
            if log_path:
                log.close()
        self.processes.append(process)
        return process

    def stop(self, process, sig=signal.SIGTERM, grace=10.0):
        """Signals process and waits for it (SIGKILL after `grace` seconds); returns its exit code."""
        if process.poll() is None:
            try:
                process.send_signal(sig)
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if process in self.processes:
            self.processes.remove(process)
        return process.returncode

    def close(self):
        for process in list(self.processes):
            self.stop(process, grace=5.0)
        for path in self.dirs:
            shutil.rmtree(path, ignore_errors=True)
        self.dirs.clear()


def cpu_seconds(pid):
    """utime + stime of pid from /proc/<pid>/stat, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces: split after its closing parenthesis.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _status_mb(pid, *fields):
    """The named kB fields of /proc/<pid>/status (VmHWM, VmRSS, ...) in MiB; None when absent."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name = line.split(":", 1)[0]
            if name in fields:
                values[name] = int(line.split()[1]) / 1024
    return tuple(values.get(field) for field in fields)


def peak_rss_mb(pid):
    """VmHWM (peak resident set size) of pid in MiB."""
    return _status_mb(pid, "VmHWM")[0]


def rss_mb(pid):
    """VmRSS (resident set size now) of pid in MiB."""
    return _status_mb(pid, "VmRSS")[0]


def rss_split_mb(pid):
    """(RssAnon, RssFile) of pid in MiB: private memory, and pages of mapped files (code and
    data of the binary and its shared libraries, shared with every process mapping them)."""
    return _status_mb(pid, "RssAnon", "RssFile")


def children_cpu_seconds():
    """User + system CPU of every terminated, waited-for child of the bench (getrusage)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_redis(cleanup, label):
    """A fresh redis-server on a free loopback port, no persistence; returns (url, process)."""
    directory = cleanup.temp_dir(f"redis-{label}")
    port = free_port()
    process = cleanup.start(
        ["redis-server", "--bind", LOOPBACK, "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", directory, "--logfile", os.path.join(directory, "redis.log")],
        cwd=directory)
    wait_for_port(port, Deadline(10, f"redis-server on port {port}"))
    return f"redis://{LOOPBACK}:{port}/0", process
