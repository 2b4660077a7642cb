"""Child processes die with the lab process that started them, however it dies.

Some parts of the lab are separate programs, such as a ``redis-server``. When
the kernel exits normally, the registry stops them.
But a kernel can also be killed outright (out of memory, Binder's idle culler,
SIGKILL): then no Python code runs, and its children would keep running,
holding ports and memory, until the machine reboots.

The watchdog is a tiny second Python process. The lab keeps a pipe to its
standard input and writes one line per child to look after ("watch <pid>
<start time>") or to drop ("forget <pid>"). When the lab process ends, for
whatever reason, the operating system closes that pipe; the watchdog reads
end-of-file, terminates every child still on its list and exits. A pipe that
closes when its owner dies behaves the same on Linux, macOS and Windows, so
there is one mechanism to read and to test. (Linux alone also has
``PR_SET_PDEATHSIG``, which asks the kernel to signal a child when its parent
thread ends; we do not need it.) The start time guards against a recycled
process id: the watchdog only stops the very process it was told about.

The watchdog runs only while there is a child to look after: the first
``guard()`` starts it, and it exits when the last child is released.

A detail that matters in Jupyter: at shutdown, ipykernel terminates every
process in its own process group and waits until they are gone, and a child
the lab has not reaped yet never looks gone; meanwhile JupyterLab loses
patience and kills the kernel, so its atexit clean-up never runs. So the
watchdog and every redis-server start in a session (process group) of their
own, which ipykernel leaves alone; the lab stops them itself, at exit.
(Chapter 07's SQLite writer needs no watchdog: it reads its own standard
input, so it sees the same end-of-file and exits by itself.)
"""

import subprocess
import sys
import threading

import psutil

__all__ = ["WATCHDOG_PROGRAM", "Watchdog", "guard", "release", "stop"]

# The watchdog's whole program, run as ``python -c WATCHDOG_PROGRAM``.
WATCHDOG_PROGRAM = r"""
import signal, sys
import psutil

signal.signal(signal.SIGINT, signal.SIG_IGN)    # a Ctrl-C in the terminal is for the lab, not for us
watched = {}                                    # pid -> its start time
for line in sys.stdin:                          # ends when the lab closes the pipe, or dies
    verb, pid, *started = line.split()
    if verb == "watch":
        watched[int(pid)] = float(started[0])
    else:
        watched.pop(int(pid), None)
stopping = []
for pid, started in watched.items():
    try:
        child = psutil.Process(pid)
        if abs(child.create_time() - started) < 1.0:      # the same process, not a new one with its id
            child.terminate()
            stopping.append(child)
    except psutil.Error:
        continue                                # already gone
_, stubborn = psutil.wait_procs(stopping, timeout=3)
for child in stubborn:
    child.kill()
"""


class Watchdog:
    """The lab's end of the pipe: ``watch(popen)``, ``forget(popen)``, ``close()``.

    The watchdog process runs only while it has children to watch: it starts
    with the first ``watch`` and is closed when the last one is forgotten.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._process = None
        self._watched = {}              # pid -> start time, of the children looked after now

    @property
    def pid(self):
        """The watchdog's own process id (None when it is not running)."""
        return None if self._process is None else self._process.pid

    def watch(self, child):
        """Make ``child`` (a ``subprocess.Popen``) die when this process dies."""
        try:
            started = psutil.Process(child.pid).create_time()
        except psutil.NoSuchProcess:
            return                      # it already ended: nothing to look after
        with self._lock:
            self._watched[child.pid] = started
            if self._running():
                self._send(f"watch {child.pid} {started!r}")
            else:
                self._start()

    def forget(self, child):
        """``child`` was stopped by the lab itself; with nothing left to watch, the watchdog exits."""
        with self._lock:
            if self._watched.pop(child.pid, None) is None:
                return
            if not self._watched:
                self._end()
            elif self._running():
                self._send(f"forget {child.pid}")

    def _running(self):
        return self._process is not None and self._process.poll() is None

    def _start(self):
        """Start a watchdog and tell it every child on the list (with the lock held)."""
        # Its own session, so signals meant for the lab's process group (Ctrl-C, ipykernel's clean-up
        # of its children at shutdown) leave it alone: it ends when the pipe closes.
        self._process = subprocess.Popen([sys.executable, "-c", WATCHDOG_PROGRAM], stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                                         start_new_session=True)
        for pid, started in self._watched.items():
            self._send(f"watch {pid} {started!r}")

    def _send(self, line):
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
        except OSError:                 # the watchdog itself died (it should not): a new one gets the list
            self._process.wait()
            self._start()

    def close(self):
        """Close the pipe: the watchdog stops whatever it still watches, then exits."""
        with self._lock:
            self._end()

    def _end(self):
        """Close the pipe and reap the watchdog (with the lock held)."""
        process, self._process = self._process, None
        self._watched = {}
        if process is None:
            return
        process.stdin.close()           # every line was flushed: closing sends nothing, it only ends the input
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __repr__(self):
        return f"<Watchdog {'pid ' + str(self.pid) if self._process else 'not running'}>"


_watchdog = Watchdog()


def guard(child):
    """Let ``child`` (a ``subprocess.Popen``) die with this process; returns it."""
    _watchdog.watch(child)
    return child


def release(child):
    """The lab stopped ``child`` itself; the watchdog forgets it."""
    _watchdog.forget(child)


def stop(child, grace_s=5.0):
    """Stop a guarded ``child`` the polite way: SIGTERM (TerminateProcess on Windows), up to ``grace_s``
    seconds to exit, then SIGKILL; and release it. Safe to call on a child that has already exited."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    release(child)
