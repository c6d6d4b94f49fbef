#!/usr/bin/env python3
"""A SOCKS5 proxy for tests (RFC 1928): listens on 127.0.0.1 only, no authentication, CONNECT
only. The destination may be an IPv4 address (what socks5:// sends: the client resolved the
name), a domain name (socks5h://: the proxy resolves it) or an IPv6 address; only loopback
destinations are served. Logs each CONNECT to standard error, one line each ("connect
<host>:<port>", the host as the client sent it), then relays bytes both ways. Prints the
listening port on the first line of standard output."""
import ipaddress
import os
import socket
import socketserver
import struct
import threading

import parent_watch  # noqa: E402  (Tests/Fixtures, beside this script)

parent_watch.exit_with_parent()


def log(line):
    """One line to standard error in a single write: handler threads run concurrently, and
    print() writes the text and its newline separately, so lines could interleave."""
    os.write(2, (line + "\n").encode())


def read(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("client closed mid-request")
        data += chunk
    return data


def reply(sock, code):
    """Answers the request: 0 succeeded, else the RFC 1928 error code (bound address 0.0.0.0:0)."""
    sock.sendall(bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))


def connect_loopback(host, port):
    addresses = [info for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                 if ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback]
    if not addresses:
        raise PermissionError(f"{host} is not a loopback address")
    error = None
    for family, kind, protocol, _, address in addresses:
        upstream = socket.socket(family, kind, protocol)
        try:
            upstream.connect(address)
            return upstream
        except OSError as failure:
            upstream.close()
            error = failure
    raise error


def pipe(source, destination):
    try:
        while data := source.recv(65536):
            destination.sendall(data)
    except OSError:
        pass
    finally:
        try:
            destination.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Socks5(socketserver.BaseRequestHandler):
    def handle(self):
        client = self.request
        version, count = read(client, 2)
        if version != 5 or 0 not in read(client, count):
            client.sendall(b"\x05\xff")  # no acceptable method: only "no authentication"
            return
        client.sendall(b"\x05\x00")
        _, command, _, kind = read(client, 4)
        if kind == 1:
            host = socket.inet_ntop(socket.AF_INET, read(client, 4))
            shown = host
        elif kind == 3:
            host = read(client, read(client, 1)[0]).decode("ascii")
            shown = host
        elif kind == 4:
            host = socket.inet_ntop(socket.AF_INET6, read(client, 16))
            shown = f"[{host}]"
        else:
            return reply(client, 8)  # address type not supported
        port = struct.unpack("!H", read(client, 2))[0]
        if command != 1:
            return reply(client, 7)  # command not supported: CONNECT only
        log(f"connect {shown}:{port}")
        try:
            upstream = connect_loopback(host, port)
        except PermissionError:
            return reply(client, 2)  # not allowed by ruleset
        except socket.gaierror:
            return reply(client, 4)  # host unreachable
        except OSError:
            return reply(client, 5)  # connection refused
        with upstream:
            reply(client, 0)
            upload = threading.Thread(target=pipe, args=(client, upstream), daemon=True)
            upload.start()
            pipe(upstream, client)
            upload.join()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


server = Server(("127.0.0.1", 0), Socks5)
print(server.server_address[1], flush=True)
server.serve_forever()
