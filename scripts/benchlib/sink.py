"""The sink: Debian's nginx answering 200 to any POST, counting requests and accepted
connections with stub_status. With `tls=True` it also serves HTTPS on a second port, from a
certificate signed by a CA made at run time with openssl (`ca_file` is that CA's PEM, for the
clients to trust: the worker's WEBHOOK_CA_FILE, the bare loop's CURLOPT_CAINFO, Python's ssl).

Everything nginx writes (pid, error log, temp dirs, keys) stays in the sink's own temp dir."""

import http.client
import os
import re
import ssl
import subprocess
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
        location / {{ return 200{answer}; }}
    }}
{tls}}}
"""

# TLS 1.3 with nginx's defaults otherwise; a session cache so that a client that does open a
# new connection can resume (the figure that matters is how few connections are opened at all).
TLS_SERVER = """    ssl_session_cache shared:bench:1m;
    server {{
        listen {host}:{port} ssl;
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        location / {{ return 200; }}
    }}
"""


def make_certificates(directory, host):
    """A CA (ca.pem) and a server certificate for `host` (an IP address SAN) signed by it, with
    openssl; returns the CA file's path."""
    def openssl(*argv):
        done = subprocess.run(["openssl", *argv], cwd=directory, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"openssl {argv[0]} failed: {done.stderr.strip()[:300]}")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=webhook bench CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={host}")
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write(f"subjectAltName=IP:{host}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    return os.path.join(directory, "ca.pem")

STATUS = re.compile(rb"\s(\d+)\s+(\d+)\s+(\d+)\s")


class Sink:
    """One nginx process; `count()` is the number of POSTs it answered since `start`,
    `connections()` the number of connections it accepted (the status reads' own excluded)."""

    def __init__(self, cleanup, tls=False, answer=""):
        """`answer`: a body nginx sends with each 200 (none by default), for what a receiver's
        answer costs the worker (the attempt log keeps an excerpt of it). Plain text only."""
        if not re.fullmatch(r"[A-Za-z0-9 ,.:_-]*", answer):
            raise ValueError(f"answer body {answer!r}: letters, digits, spaces and ,.:_- only")
        self.cleanup = cleanup
        self.dir = cleanup.temp_dir("sink-tls" if tls else "sink")
        self.port = free_port()
        self.tls = tls
        self.ca_file = None
        tls_block = ""
        if tls:
            self.ca_file = make_certificates(self.dir, LOOPBACK)
            self.tls_port = free_port()
            tls_block = TLS_SERVER.format(dir=self.dir, host=LOOPBACK, port=self.tls_port)
            self.url = f"https://{LOOPBACK}:{self.tls_port}/hook"
        else:
            self.url = f"http://{LOOPBACK}:{self.port}/hook"
        config = os.path.join(self.dir, "nginx.conf")
        with open(config, "w") as f:
            f.write(CONFIG.format(dir=self.dir, host=LOOPBACK, port=self.port, tls=tls_block,
                                  answer=f' "{answer}"' if answer else ""))
        # -e: nginx opens its error log before reading the config; keep that one here too.
        self.process = cleanup.start(
            ["nginx", "-p", self.dir, "-c", config, "-e", os.path.join(self.dir, "startup.log")],
            log_path=os.path.join(self.dir, "stdout.log"))
        wait_for_port(self.port, Deadline(10, f"nginx on port {self.port}"))
        if tls:
            wait_for_port(self.tls_port, Deadline(10, f"nginx (TLS) on port {self.tls_port}"))
        self._connection = None
        self._status_reads = 0
        self._status_connections = 0
        self._baseline = self._requests()
        self._check_post()
        self._accepts_baseline = self._status()[0] - self._status_connections

    def _status(self):
        """stub_status's (accepts, requests) counters (they count the status request itself too)."""
        for _ in range(3):
            try:
                if self._connection is None:
                    self._connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=5)
                    self._status_connections += 1
                self._connection.request("GET", "/nginx_status")
                body = self._connection.getresponse().read()
                self._status_reads += 1
                match = STATUS.search(body)
                return int(match.group(1)), int(match.group(3))
            except (OSError, http.client.HTTPException):
                self._connection = None
        raise RuntimeError(f"nginx stub_status on port {self.port} does not answer")

    def _requests(self):
        return self._status()[1]

    def connections(self):
        """Connections nginx accepted since the sink started, not counting the status reads'
        nor the start-up check's."""
        return self._status()[0] - self._accepts_baseline - self._status_connections

    def count(self):
        """POSTs answered since the sink started, not counting the status reads."""
        return self._requests() - self._baseline - (self._status_reads - 1)

    def _check_post(self):
        # The worker's requests are POSTs with a body: `return 200` must answer those too.
        if self.tls:
            context = ssl.create_default_context(cafile=self.ca_file)
            connection = http.client.HTTPSConnection(LOOPBACK, self.tls_port, timeout=5, context=context)
        else:
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
