#!/usr/bin/env python3
"""Finds the smallest `limits.memory_mib` a built plugin runs with, using the gateway's
`policy test` (the real runtime and its memory cap).

    python3 plugin-sdk/python/measure_memory.py --wasm OUT.wasm --manifest DIR/manifest.json \
        --pack DIR/pack.toml --traffic DIR/traffic.jsonl [--repeat 200] [--gateway PATH]

The traffic is repeated `--repeat` times so one warm instance serves every line in turn; a
cap is enough when no verdict reports "exceeded its memory cap". Prints the smallest cap in
MiB. Lines that are expected to exhaust memory (faults' hog-me) must not be in the traffic.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile


def run(gateway: str, plugin_dir: str, pack: str, traffic: str, cache: str) -> list:
    out = subprocess.run(
        [gateway, "policy", "test", "--pack", pack, "--plugins", plugin_dir, "--cache-dir", cache, "--input", traffic],
        capture_output=True,
        text=True,
    )
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    if not lines:
        sys.exit(f"policy test printed no verdicts (exit {out.returncode}):\n{out.stderr}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wasm", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--pack", required=True)
    ap.add_argument("--traffic", required=True)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--gateway", default=os.environ.get("ARTICDBM_GATEWAY", "articdbm-gateway"))
    ap.add_argument("--max", type=int, default=1024, help="largest cap tried (MiB)")
    args = ap.parse_args()

    manifest = json.load(open(args.manifest))
    name = manifest["name"]
    with tempfile.TemporaryDirectory(prefix="articdbm-memmeasure.") as tmp:
        plugins = os.path.join(tmp, "plugins")
        os.mkdir(plugins)
        shutil.copy(args.wasm, os.path.join(plugins, f"{name}.wasm"))
        traffic = os.path.join(tmp, "traffic.jsonl")
        lines = [line for line in open(args.traffic) if line.strip()]
        with open(traffic, "w") as f:
            for _ in range(args.repeat):
                f.writelines(line if line.endswith("\n") else line + "\n" for line in lines)
        cache = os.path.join(tmp, "cache")

        def fits(mib: int) -> bool:
            manifest.setdefault("limits", {})["memory_mib"] = mib
            with open(os.path.join(plugins, f"{name}.json"), "w") as f:
                json.dump(manifest, f)
            verdicts = run(args.gateway, plugins, args.pack, traffic, cache)
            return not any("exceeded its memory cap" in (v.get("reason") or "") for v in verdicts)

        if not fits(args.max):
            sys.exit(f"{name} does not run within {args.max} MiB")
        lo, hi = 0, args.max  # lo fails (or is 0), hi fits
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if fits(mid):
                hi = mid
            else:
                lo = mid
        print(f"{name}: smallest memory_mib that serves {len(lines) * args.repeat} calls: {hi}")


if __name__ == "__main__":
    main()
