"""faults-py: misbehaves on request, to test the gateway's sandbox limits with CPython.

The SQL text decides: `trap-me` raises an uncaught exception (the guest traps), `spin-me`
loops forever (the deadline stops it), `hog-me` allocates without bound, keeping every
block, until the memory cap stops it. Anything else is allowed.
"""

from articdbm_policy import Policy, allow, export

_hoard = []


class Faults(Policy):
    def on_query(self, conn, query):
        sql = query.sql
        if "trap-me" in sql:
            raise RuntimeError("faults-py: trap requested")
        if "spin-me" in sql:
            n = 0
            while True:
                n += 1
        if "hog-me" in sql:
            while True:
                _hoard.append(bytearray(1 << 20))
        return allow()


export(Faults)
