"""Shared by the Python driver programs: connection parameters and workload size from the
environment, a thread-safe tally of checks, a deadline, and the one-line JSON summary the Rust
test (tests/tests/pg_drivers.rs) parses.

Environment: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (as libpq names them);
DRV_CLIENTS (concurrent clients), DRV_ITERS (iterations per client), DRV_DEADLINE_SECS (after
it, clients still running are reported as errors, listed in `unfinished`, and the program
exits).
"""

import json
import os
import sys
import threading
import time

HOST = os.environ["PGHOST"]
PORT = int(os.environ["PGPORT"])
USER = os.environ["PGUSER"]
PASSWORD = os.environ["PGPASSWORD"]
DBNAME = os.environ["PGDATABASE"]
CLIENTS = int(os.environ.get("DRV_CLIENTS", "8"))
ITERS = int(os.environ.get("DRV_ITERS", "60"))
DEADLINE_SECS = float(os.environ.get("DRV_DEADLINE_SECS", "20"))
# A client that keeps failing stops early, so a broken path fails fast instead of timing out.
MAX_ERRORS_PER_CLIENT = 10
EXAMPLES = 5


def conninfo():
    return (
        f"host={HOST} port={PORT} user={USER} password={PASSWORD} dbname={DBNAME} "
        "sslmode=disable connect_timeout=10"
    )


class Tally:
    """Counts checks that held (ok), answers that were not the client's own (mismatches) and
    errors, keeping the first few examples of each."""

    def __init__(self, driver):
        self.driver = driver
        self.lock = threading.Lock()
        self.ok = 0
        self.completed = 0
        self.mismatches = 0
        self.errors = 0
        self.mismatch_examples = []
        self.error_examples = []
        self.error_kinds = set()
        self.started = time.monotonic()

    def check(self, client, what, got, want):
        with self.lock:
            if got == want:
                self.ok += 1
                return True
            self.mismatches += 1
            if len(self.mismatch_examples) < EXAMPLES:
                self.mismatch_examples.append(
                    f"client {client} {what}: got {got!r}, want {want!r}"[:400]
                )
            return False

    def iteration_done(self):
        with self.lock:
            self.completed += 1

    def error(self, client, what, exc):
        with self.lock:
            self.errors += 1
            text = str(exc).strip().replace("\n", " | ")
            # One example per kind of error, so a rare one is not hidden by a frequent one.
            kind = (type(exc).__name__, text[:60])
            if len(self.error_examples) < EXAMPLES and kind not in self.error_kinds:
                self.error_kinds.add(kind)
                self.error_examples.append(
                    f"client {client} {what}: {type(exc).__name__}: {text}"[:400]
                )

    def summary(self, **extra):
        with self.lock:
            out = {
                "driver": self.driver,
                "clients": CLIENTS,
                "iterations": ITERS,
                "completed": self.completed,
                "ok": self.ok,
                "mismatches": self.mismatches,
                "errors": self.errors,
                "mismatch_examples": self.mismatch_examples,
                "error_examples": self.error_examples,
                "seconds": round(time.monotonic() - self.started, 2),
            }
        out.update(extra)
        return json.dumps(out)


def run_threads(tally, client_fn):
    """Runs client_fn(client_id) on CLIENTS threads; clients still running at the deadline
    count as errors. Prints the summary and exits (daemon threads may still hang on a socket)."""
    threads = [
        threading.Thread(target=guarded, args=(tally, client_fn, c), daemon=True)
        for c in range(1, CLIENTS + 1)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + DEADLINE_SECS
    unfinished = []
    for c, t in enumerate(threads, start=1):
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            unfinished.append(c)
            tally.error(c, "deadline", TimeoutError(f"still running after {DEADLINE_SECS}s"))
    finish(tally, unfinished=unfinished)


def guarded(tally, client_fn, c):
    try:
        client_fn(c)
    except Exception as e:  # noqa: BLE001 - any failure is a counted error
        tally.error(c, "client", e)


def finish(tally, **extra):
    extra.setdefault("unfinished", [])
    sys.stdout.write(tally.summary(**extra) + "\n")
    sys.stdout.flush()
    os._exit(0)
