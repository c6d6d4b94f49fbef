"""Makes a fixture stoppable, and ends it once the test process that started it is gone.

Why: a fixture inherits the signal mask of the test-process thread that spawned it, with
SIGTERM blocked, so `FixtureProcess.stop()` (SIGTERM) did not stop it; and XCTest keeps every
test case object alive until its process exits, so a fixture a test case holds is never stopped
by its deinit either. Each run of the suite left its proxies and DNS servers running (67 after
three runs). The fixtures are started through `/usr/bin/env`, which execs Python: the parent is
the test process itself."""
import os
import signal
import threading
import time


def exit_with_parent(interval=0.5):
    # Called on the main thread before any other starts: the threads made later inherit it.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
