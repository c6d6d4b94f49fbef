#!/usr/bin/env python3
"""A stand-in OpenTelemetry collector for tests: takes OTLP/HTTP JSON on POST /v1/traces.

Each body is decoded with the `opentelemetry-proto` package (the collector's own message types):
OTLP's JSON mapping writes trace and span ids as hex where protobuf's writes base64, so the ids
are converted first, then `json_format.Parse` checks every field name and type against
`ExportTraceServiceRequest` (an unknown or mistyped field fails the request with 400). Each span
is then written to the file given as the first argument, one JSON object per line, with its ids
in hex and its attributes flattened.

Usage: otlp_collector.py OUTPUT [ok|hang]. `hang` accepts requests and never answers.
Prints the listening port on the first line of standard output.
"""
import base64
import http.server
import json
import os
import sys
import threading
import time

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import parent_watch  # noqa: E402  (Tests/Fixtures, beside this script)

parent_watch.exit_with_parent()

OUTPUT = sys.argv[1]
MODE = sys.argv[2] if len(sys.argv) > 2 else "ok"
LOCK = threading.Lock()


def hex_to_base64(document):
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return document


def attribute_value(value):
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


class Collector(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if MODE == "hang":
            time.sleep(3600)
            return
        try:
            if self.path != "/v1/traces":
                raise ValueError(f"unexpected path {self.path}")
            if self.headers.get("Content-Type") != "application/json":
                raise ValueError(f"unexpected content type {self.headers.get('Content-Type')}")
            request = json_format.Parse(json.dumps(hex_to_base64(json.loads(body))), ExportTraceServiceRequest())
        except Exception as error:  # noqa: BLE001 - any decoding failure is the test's finding
            os.write(2, f"rejected: {error}\n".encode())
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        lines = []
        for resource_spans in request.resource_spans:
            resource = {a.key: attribute_value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    lines.append(json.dumps({
                        "resource": resource,
                        "scope": scope_spans.scope.name,
                        "traceId": span.trace_id.hex(),
                        "spanId": span.span_id.hex(),
                        "parentSpanId": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": span.kind,
                        "start": span.start_time_unix_nano,
                        "end": span.end_time_unix_nano,
                        "status": span.status.code,
                        "attributes": {a.key: attribute_value(a.value) for a in span.attributes},
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                    }))
        with LOCK, open(OUTPUT, "a") as out:
            for line in lines:
                out.write(line + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
