#!/usr/bin/env python3
"""A DNS server for tests that rebinds: listens on 127.0.0.1 (UDP) only and answers every A query
with the answers given as arguments, one per query in turn, the last one ever after (so
`dns_rebind.py 203.0.113.7 127.0.0.1` answers a public address first and loopback next); an
answer of several addresses joined by `+` (`127.0.0.1+169.254.169.254`) gives them all. TTL 0.
Logs each query to standard error ("query <name> -> <address>"). Prints the listening port on
the first line of standard output."""
import os
import socket
import sys

from dnslib import QTYPE, RR, A, DNSRecord

import parent_watch  # noqa: E402  (Tests/Fixtures, beside this script)

parent_watch.exit_with_parent()


def main():
    answers = sys.argv[1:] or ["127.0.0.1"]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    served = 0
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            request = DNSRecord.parse(data)
        except Exception:  # not DNS: ignore it
            continue
        reply = request.reply()
        name = str(request.q.qname)
        if request.q.qtype == QTYPE.A:
            address = answers[min(served, len(answers) - 1)]
            served += 1
            for one in address.split("+"):
                reply.add_answer(RR(name, QTYPE.A, rdata=A(one), ttl=0))
            os.write(2, f"query {name} -> {address}\n".encode())
        sock.sendto(reply.pack(), peer)


if __name__ == "__main__":
    main()
