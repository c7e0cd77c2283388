"""The stable identity of an oracle case: a hash of its start state and events (specs §4).

Reports name a failure by it and conformance vectors carry it, so one case found twice (or by
two tools) is recognisably the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from dynmem.reference.events import Event
from dynmem.reference.state import DmState
from dynmem.verification.codec import event_to_json, state_to_json


def compute_fingerprint(pre: DmState, events: Sequence[Event]) -> str:
    """``sha256:`` + 16 hex digits of the canonical JSON of ``{"pre", "events"}`` (§4).

    Examples
    --------
    >>> from dynmem.reference.settings import HostSettings
    >>> compute_fingerprint(DmState(HostSettings(4096, 1024), 3072), [])[:7]
    'sha256:'
    """
    data = {"pre": state_to_json(pre), "events": [event_to_json(e) for e in events]}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
