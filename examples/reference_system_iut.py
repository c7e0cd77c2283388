#!/usr/bin/env python3
"""The dynmem reference as a JSON Lines system IUT (passes every mode and every vector).

    dynmem oracle --iut "python3 examples/reference_system_iut.py" --mode lockstep

With a host profile as its argument (``2008r2sp1``, ``2012``) it is a host of that profile
and says so in its hello (specs/formats/oracle.md Rule P1a):

    dynmem oracle --iut "python3 examples/reference_system_iut.py 2008r2sp1"

With ``--hot-add-alignment`` its hello says it follows the guest's hot-add alignment (Rule
P1c), so the harness's guests also advertise 4 and 128 MiB (R-HOT-ADD-ALIGN):

    dynmem oracle --iut "python3 examples/reference_system_iut.py --hot-add-alignment"
"""
import sys

from dynmem.model.vocabulary import HostProfile
from dynmem.verification.codec import profile_from_word
from dynmem.verification.errors import InputError
from dynmem.verification.oracle.reference_iut import ReferenceSystem
from dynmem.verification.oracle.wire import serve_jsonl

if __name__ == "__main__":
    aligned = "--hot-add-alignment" in sys.argv[1:]
    words = [a for a in sys.argv[1:] if a != "--hot-add-alignment"]
    try:
        profile = (profile_from_word(words[0], "command line", "argv[1]")
                   if words else HostProfile.QEMU)
    except InputError as err:
        print(f"reference_system_iut: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    raise SystemExit(serve_jsonl(ReferenceSystem(host_profile=profile,
                                                 hot_add_alignment=aligned)))
