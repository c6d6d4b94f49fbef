#!/usr/bin/env python3
"""A plain HTTP forward proxy for tests: takes absolute-form requests (POST http://host:port/path),
forwards them to the origin and relays the answer; logs each proxied URL to standard error, one
line each ("proxied <url>"). Also tunnels CONNECT host:port (how a client reaches an https origin
through an HTTP proxy), logging "connect <host:port>" once per tunnel. Prints the listening port on
the first line of standard output.

With an argument USER:PASSWORD the proxy requires those credentials (Proxy-Authorization: Basic)
on every request and CONNECT: without them, or with others, it answers 407 and logs "refused
<target>"; with them it logs "authorized <target>"."""
import base64
import http.client
import http.server
import os
import select
import socket
import sys
import urllib.parse

import parent_watch  # noqa: E402  (Tests/Fixtures, beside this script)

parent_watch.exit_with_parent()

CREDENTIALS = sys.argv[1] if len(sys.argv) > 1 else None


def log(line):
    """One line to standard error in a single write: handler threads run concurrently, and
    print() writes the text and its newline separately, so lines could interleave."""
    os.write(2, (line + "\n").encode())


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def authorized(self):
        """True when no credentials are required or the request carries them; else answers 407."""
        if CREDENTIALS is None:
            return True
        expected = "Basic " + base64.b64encode(CREDENTIALS.encode()).decode()
        if self.headers.get("Proxy-Authorization") == expected:
            log(f"authorized {self.path}")
            return True
        log(f"refused {self.path}")
        self.send_response(407, "Proxy Authentication Required")
        self.send_header("Proxy-Authenticate", 'Basic realm="test"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_POST(self):
        if not self.authorized():
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            return
        url = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection", "host")}
        origin = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
        origin.request("POST", url.path + (("?" + url.query) if url.query else ""), body=body, headers=headers)
        answer = origin.getresponse()
        data = answer.read()
        log(f"proxied {self.path}")
        self.send_response(answer.status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_CONNECT(self):
        if not self.authorized():
            return
        host, _, port = self.path.rpartition(":")
        try:
            origin = socket.create_connection((host, int(port)), timeout=10)
        except OSError as error:
            self.send_error(502, str(error))
            return
        log(f"connect {self.path}")
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        # Relay bytes both ways until either side closes.
        client = self.connection
        sockets = [client, origin]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 60)
                if not readable:
                    break
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (origin if source is client else client).sendall(data)
        except OSError:
            pass
        finally:
            origin.close()
            self.close_connection = True

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print(server.server_address[1], flush=True)
server.serve_forever()
