"""Parts of scripts/bench: the sink, the raw wrk limit, worker runs, the Python baseline and
the latency probe. scripts/bench.py composes them; every part talks only to 127.0.0.1."""
