#!/usr/bin/env python3
"""Entity lookups from a client in another process (curl), against Tessera servers side by side.

Each server gets blocks of lookups in turn (A, B, then B, A, ...), one curl process
a block: one keep-alive connection, one request at a time. Keys follow Zipf(1.1) over
`dev-0` .. `dev-(N-1)` of one tenant, as `tessera-bench read --zipf` draws them. The
lookups answered from the cache (`X-Tessera-Source: cache`) and the others are
summarised apart. Needs curl 7.84 or later (`%header{}`).

    scripts/zipf-lookups-curl.py --key tsk_... --entities 400000 --warmup 40000 \
        --blocks 10 --block-size 2000 18190 18191
"""
import argparse
import bisect
import os
import random
import re
import subprocess
import tempfile


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--key", required=True, help="the tenant's API key")
    parser.add_argument("--entities", type=int, required=True, help="the tenant's entities (dev-0 .. dev-N-1)")
    parser.add_argument("--warmup", type=int, default=40000, help="unmeasured lookups first, on every server in turn")
    parser.add_argument("--blocks", type=int, default=10, help="measured blocks per server")
    parser.add_argument("--block-size", type=int, default=2000, help="lookups per block")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("ports", nargs="+", type=int, help="the servers' ports on 127.0.0.1")
    options = parser.parse_args()

    rng = random.Random(options.seed)
    cdf, total = [], 0.0
    for rank in range(1, options.entities + 1):
        total += rank ** -1.1
        cdf.append(total)

    def run(port, count):
        with tempfile.NamedTemporaryFile("w", suffix=".curl", delete=False) as config:
            for _ in range(count):
                entity = bisect.bisect_left(cdf, rng.random() * total)
                config.write(f'url = "http://127.0.0.1:{port}/v1/entities/dev-{entity}"\noutput = "/dev/null"\n')
        try:
            output = subprocess.run(
                ["curl", "-s", "-K", config.name, "-H", f"Authorization: Bearer {options.key}",
                 "-w", "##%{http_code} %{time_total} %header{x-tessera-source}\\n"],
                capture_output=True, text=True, check=False,
            ).stdout
        finally:
            os.unlink(config.name)
        return [(int(code), float(seconds) * 1000, source) for code, seconds, source in re.findall(r"##(\d+) (\d+\.\d+) (\S*)", output)]

    def percentiles(values):
        values = sorted(values)
        if not values:
            return "-"
        return "/".join(f"{values[min(len(values) - 1, int(len(values) * p))]:.2f}" for p in (0.5, 0.95, 0.99))

    for port in options.ports:
        run(port, options.warmup // len(options.ports))
    results = {port: [] for port in options.ports}
    for block in range(options.blocks):
        order = options.ports if block % 2 == 0 else list(reversed(options.ports))
        for port in order:
            results[port] += run(port, options.block_size)
    for port in options.ports:
        lookups = results[port]
        failed = sum(1 for code, _, _ in lookups if code not in (200, 404))
        hits = [ms for _, ms, source in lookups if source == "cache"]
        others = [ms for _, ms, source in lookups if source != "cache"]
        print(f"port {port}: {len(lookups)} lookups ({failed} failed), from the cache {100 * len(hits) / max(1, len(lookups)):.1f}%; "
              f"p50/p95/p99 ms: cache {percentiles(hits)}, database {percentiles(others)}, all {percentiles([ms for _, ms, _ in lookups])}")


if __name__ == "__main__":
    main()
