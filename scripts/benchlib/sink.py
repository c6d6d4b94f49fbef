"""The sink: Debian's nginx answering 200 to any POST, counting requests with stub_status.

Everything nginx writes (pid, error log, temp dirs) stays in the sink's own temp dir."""

import http.client
import os
import re
import time

from .procs import LOOPBACK, Deadline, free_port, wait_for_port

CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen {host}:{port};
        location = /nginx_status {{ stub_status; }}
        location / {{ return 200; }}
    }}
}}
"""

STATUS = re.compile(rb"\s(\d+)\s+(\d+)\s+(\d+)\s")


class Sink:
    """One nginx process; `count()` is the number of POSTs it answered since `start`."""

    def __init__(self, cleanup):
        self.cleanup = cleanup
        self.dir = cleanup.temp_dir("sink")
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}/hook"
        config = os.path.join(self.dir, "nginx.conf")
        with open(config, "w") as f:
            f.write(CONFIG.format(dir=self.dir, host=LOOPBACK, port=self.port))
        # -e: nginx opens its error log before reading the config; keep that one here too.
        self.process = cleanup.start(
            ["nginx", "-p", self.dir, "-c", config, "-e", os.path.join(self.dir, "startup.log")],
            log_path=os.path.join(self.dir, "stdout.log"))
        wait_for_port(self.port, Deadline(10, f"nginx on port {self.port}"))
        self._connection = None
        self._status_reads = 0
        self._baseline = self._requests()
        self._check_post()

    def _requests(self):
        """stub_status's request counter (it counts the status request itself too)."""
        for _ in range(3):
            try:
                if self._connection is None:
                    self._connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=5)
                self._connection.request("GET", "/nginx_status")
                body = self._connection.getresponse().read()
                self._status_reads += 1
                return int(STATUS.search(body).group(3))
            except (OSError, http.client.HTTPException):
                self._connection = None
        raise RuntimeError(f"nginx stub_status on port {self.port} does not answer")

    def count(self):
        """POSTs answered since the sink started, not counting the status reads."""
        return self._requests() - self._baseline - (self._status_reads - 1)

    def _check_post(self):
        # The worker's requests are POSTs with a body: `return 200` must answer those too.
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=5)
        try:
            connection.request("POST", "/hook", body=b'{"check":true}',
                               headers={"Content-Type": "application/json"})
            status = connection.getresponse().status
        finally:
            connection.close()
        if status != 200:
            raise RuntimeError(f"sink answered a POST with HTTP {status}, not 200")
        if self.count() != 1:
            raise RuntimeError(f"sink counted {self.count()} requests for 1 POST")
        self._baseline += 1

    def wait_for(self, target, deadline, poll=0.02):
        """Polls every `poll` s until `target` more requests were counted; returns the elapsed s."""
        start = time.monotonic()
        while self.count() < target:
            deadline.check()
            time.sleep(poll)
        return time.monotonic() - start

    def stop(self):
        if self._connection is not None:
            self._connection.close()
        self.cleanup.stop(self.process)
