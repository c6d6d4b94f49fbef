#!/usr/bin/env python3
"""An https origin for tests: `tls_origin.py CERT KEY DELAY` serves HTTPS with the given PEM
certificate and key, and answers every POST with 200 "ok" after DELAY seconds. Logs
"request <path>" to standard error when a request (with its body) has arrived, before the
delay, so an attempt cut short still counts, and "answered <path>" once the whole answer was
written, or "cut <path>" when the client had gone. Prints the listening port on the first line
of standard output."""
import http.server
import os
import ssl
import sys
import time

import parent_watch  # noqa: E402  (Tests/Fixtures, beside this script)

parent_watch.exit_with_parent()

cert, key, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])


def log(line):
    os.write(2, (line + "\n").encode())


class Origin(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        log(f"request {self.path}")
        time.sleep(delay)
        body = b"ok"
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            log(f"answered {self.path}")
        except OSError:
            log(f"cut {self.path}")
            self.close_connection = True

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
