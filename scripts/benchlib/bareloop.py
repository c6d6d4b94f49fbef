"""The floor for a libcurl sender: bare_loop.c (a plain libcurl multi loop, no queue, no JSON, no
signing, no threads) POSTing the worker's exact request to the sink. Built here with cc."""

import json
import os
import subprocess

from .rawlimit import signed_request

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bare_loop.c")


def build(workdir):
    """Compiles bare_loop.c against the system libcurl; returns the binary's path."""
    binary = os.path.join(workdir, "bare_loop")
    done = subprocess.run(["cc", "-O2", "-o", binary, SOURCE, "-lcurl"], capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"cc bare_loop.c failed: {done.stderr.strip()[:300]}")
    return binary


def request_files(workdir):
    """Writes the worker's exact signed request as the loop reads it (one "Name: value" line per
    header, and the body); returns the header file's and the body file's paths."""
    body, headers = signed_request()
    header_file, body_file = os.path.join(workdir, "headers.txt"), os.path.join(workdir, "body.json")
    with open(header_file, "w") as f:
        f.write("".join(f"{name}: {value}\n" for name, value in headers.items()))
    with open(body_file, "wb") as f:
        f.write(body)
    return header_file, body_file


def measure(sink, workdir, requests, connections, modes=("poll", "epoll"), timeout=120):
    """Runs the loop once per mode; returns {mode: figures} with CPU µs per request and
    connections opened (CURLINFO_NUM_CONNECTS summed) per 100,000 requests. On a TLS sink the
    loop trusts the sink's CA file (CURLOPT_CAINFO)."""
    binary = build(workdir)
    header_file, body_file = request_files(workdir)
    result = {"requests": requests, "connections": connections}
    for mode in modes:
        before = sink.count()
        done = subprocess.run([binary, sink.url, str(requests), str(connections), header_file, body_file, mode,
                               sink.ca_file or ""],
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"bare_loop {mode} exited {done.returncode}: {done.stdout.strip()[:200]} "
                               f"{done.stderr.strip()[:200]}")
        figures = json.loads(done.stdout)
        cpu = figures["user_seconds"] + figures["system_seconds"]
        figures.update(rate=round(requests / figures["seconds"], 1),
                       cpu_us_per_request=round(1e6 * cpu / requests, 2),
                       sink_requests=sink.count() - before,
                       connections_per_100k=round(1e5 * figures["connections"] / requests, 1))
        result[mode] = figures
    # The figure the worker is compared with: the mode the worker's own loop uses (curl_multi_poll).
    result["cpu_us_per_request"] = result[modes[0]]["cpu_us_per_request"]
    result["rate"] = result[modes[0]]["rate"]
    result["connections_per_100k"] = result[modes[0]]["connections_per_100k"]
    return result
