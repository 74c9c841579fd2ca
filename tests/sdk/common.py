"""Shared helpers for the SDK scripts: the gateway URL, the expectations the Rust harness passes
(as JSON in EXPECT), and an `check` that prints what it compared."""

import json
import os
import sys

GATEWAY = os.environ["GATEWAY_URL"]
EXPECT = json.loads(os.environ.get("EXPECT", "{}"))


def check(cond, what, got=None):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        if got is not None:
            print(f"  got: {got!r}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def calls_expected():
    """(id, name, arguments as dict) of the calls the backend made, in order."""
    return [(c["id"], c["name"], c["arguments"]) for c in EXPECT.get("calls", [])]
