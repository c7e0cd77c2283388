#!/usr/bin/env python3
"""The dynmem reference as a JSON Lines system IUT (passes every mode and every vector).

    dynmem oracle --iut "python3 examples/reference_system_iut.py" --mode lockstep
"""
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.wire import serve_jsonl

if __name__ == "__main__":
    raise SystemExit(serve_jsonl(ReferenceSystem()))
