"""The page-level wire (specs/formats/oracle.md §9): page states, events and observations as
JSON, for an IUT whose hello says ``"wire": 2``.

A range is ``{"start": PAGE, "count": PAGES}`` (``dm_mem_page_range``: start < 2^40, count
< 2^24); a set of pages (a ledger, RAM) is a list of ranges. Every decoder names the field and
the value it refuses (``InputError``), so a bad range from an IUT is a one-line protocol
error, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from dynmem.model.vocabulary import DEFAULT_HOT_ADD_ALIGN_MIB, HOT_ADD_ALIGNMENTS_MIB, TxnKind
from dynmem.reference.events import BalloonRequest, UnballoonResponse
from dynmem.reference.pages import (
    PAGES_PER_MIB,
    PageBalloonResponse,
    PageEvent,
    PageHotAddRequest,
    PageHotAddResponse,
    PageRange,
    PageSet,
    PageState,
    PageUnballoonRequest,
    PageVm,
)
from dynmem.reference.pages.ranges import MAX_RANGE_PAGES, MAX_START_PAGE
from dynmem.verification.codec import (
    check_keys,
    expect_object,
    host_from_json,
    host_to_json,
    join_path,
    read_value,
    settings_from_json,
    settings_to_json,
)
from dynmem.verification.errors import InputError

WIRE_AMOUNTS = 1  # today's wire: amounts in MiB (the default: a hello without "wire")
WIRE_PAGES = 2  # page ranges (this module)
WIRES = (WIRE_AMOUNTS, WIRE_PAGES)
_TXN_WORDS = {kind.name.lower(): kind for kind in TxnKind}


@attrs.frozen
class PageTick:
    """The balancer's tick at page level: ``targets`` the MiB it wants each VM to have (as
    QEMU's ``balloon`` command sets a target); the host answers the page requests it sends."""

    KIND = "balancer_tick"
    targets: tuple[tuple[str, int], ...] = ()


WireEvent = PageEvent | PageTick


@attrs.frozen
class PageObserved:
    """A page-level IUT's answer to one event: its page state as it reports it, the page
    requests it sent (ticks only) and whether it refused the event."""

    state: PageState
    sent: tuple[PageEvent, ...] = ()
    rejected: str | None = None


# --- ranges ----------------------------------------------------------------------------------


def _pages_int(obj: Mapping[str, Any], key: str, source: str, path: str,
               default: Any = attrs.NOTHING) -> Any:
    """``obj[key]`` as an integer count or number of pages (a bool is not one)."""
    value = obj.get(key, default)
    if value is attrs.NOTHING:
        raise InputError(source, join_path(path, key), None, "is required")
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(source, join_path(path, key), value, "must be an integer (pages)")
    return value


def range_to_json(pages: PageRange) -> dict[str, int]:
    return {"start": pages.start, "count": pages.count}


def range_from_json(data: Any, source: str, path: str) -> PageRange:
    """One range; its start and count must fit the wire's 40 and 24 bits."""
    obj = expect_object(data, source, path)
    check_keys(obj, ["start", "count"], source, path)
    start = _pages_int(obj, "start", source, path)
    count = _pages_int(obj, "count", source, path)
    if not 0 <= start <= MAX_START_PAGE:
        raise InputError(source, join_path(path, "start"), start,
                         f"a page number must be 0..{MAX_START_PAGE} (start_page:40)")
    if not 0 <= count <= MAX_RANGE_PAGES:
        raise InputError(source, join_path(path, "count"), count,
                         f"a page count must be 0..{MAX_RANGE_PAGES} (page_cnt:24)")
    return PageRange(start, count)


def ranges_from_json(data: Any, source: str, path: str) -> tuple[PageRange, ...]:
    if not isinstance(data, list):
        raise InputError(source, path, data, 'must be a JSON array of {"start", "count"}')
    return tuple(range_from_json(item, source, join_path(path, i))
                 for i, item in enumerate(data))


def pages_to_json(pages: PageSet) -> list[dict[str, int]]:
    return [{"start": start, "count": end - start} for start, end in pages.intervals]


def pages_from_json(data: Any, source: str, path: str) -> PageSet:
    """A set of pages: the union of the listed ranges (any order; overlaps merge)."""
    return PageSet.from_ranges(ranges_from_json(data, source, path))


# --- events ----------------------------------------------------------------------------------


def event_to_json(event: WireEvent) -> dict[str, Any]:
    """A page-level event; kinds are the amount level's, fields in pages."""
    match event:
        case PageTick(targets=targets):
            return {"kind": "balancer_tick", "targets": dict(targets)}
        case BalloonRequest(vm=vm, mib=mib):
            return {"kind": "balloon_request", "vm": vm, "pages": mib * PAGES_PER_MIB}
        case PageBalloonResponse(vm=vm, ranges=ranges, more_pages=more):
            return {"kind": "balloon_response", "vm": vm,
                    "ranges": [range_to_json(r) for r in ranges], "more_pages": more}
        case PageUnballoonRequest(vm=vm, ranges=ranges):
            return {"kind": "unballoon_request", "vm": vm,
                    "ranges": [range_to_json(r) for r in ranges]}
        case UnballoonResponse(vm=vm):
            return {"kind": "unballoon_response", "vm": vm}
        case PageHotAddRequest(vm=vm, region=region):
            return {"kind": "hot_add_request", "vm": vm, "region": range_to_json(region)}
        case PageHotAddResponse(vm=vm, pages=pages, success=success):
            return {"kind": "hot_add_response", "vm": vm, "pages": pages, "success": success}
    raise TypeError(f"not a page-level event: {event!r}")


_EVENT_FIELDS = {
    "balancer_tick": ["kind", "targets"],
    "balloon_request": ["kind", "vm", "pages"],
    "balloon_response": ["kind", "vm", "ranges", "more_pages"],
    "unballoon_request": ["kind", "vm", "ranges"],
    "unballoon_response": ["kind", "vm"],
    "hot_add_request": ["kind", "vm", "region"],
    "hot_add_response": ["kind", "vm", "pages", "success"],
}
REQUEST_KINDS = ("balloon_request", "unballoon_request", "hot_add_request")


def event_from_json(data: Any, source: str, path: str) -> WireEvent:
    """A page-level event (schema page-event.schema.json)."""
    obj = expect_object(data, source, path)
    kind = read_value(obj, "kind", str, source, path)
    if kind not in _EVENT_FIELDS:
        raise InputError(source, join_path(path, "kind"), kind,
                         "unknown page-level kind; known: " + ", ".join(_EVENT_FIELDS))
    check_keys(obj, _EVENT_FIELDS[kind], source, path)
    if kind == "balancer_tick":
        return PageTick(_targets_from_json(obj.get("targets", {}), source,
                                           join_path(path, "targets")))
    vm = read_value(obj, "vm", str, source, path)
    if kind == "balloon_request":
        pages = _pages_int(obj, "pages", source, path)
        if pages < 0 or pages % PAGES_PER_MIB:
            raise InputError(source, join_path(path, "pages"), pages,
                             f"a balloon request asks whole MiB: a multiple of {PAGES_PER_MIB} "
                             f"pages >= 0")
        return BalloonRequest(vm, pages // PAGES_PER_MIB)
    if kind == "balloon_response":
        return PageBalloonResponse(vm, ranges_from_json(obj.get("ranges"), source,
                                                        join_path(path, "ranges")),
                                   read_value(obj, "more_pages", bool, source, path, False))
    if kind == "unballoon_request":
        return PageUnballoonRequest(vm, ranges_from_json(obj.get("ranges"), source,
                                                         join_path(path, "ranges")))
    if kind == "unballoon_response":
        return UnballoonResponse(vm)
    if kind == "hot_add_request":
        return PageHotAddRequest(vm, range_from_json(obj.get("region"), source,
                                                     join_path(path, "region")))
    pages = _pages_int(obj, "pages", source, path)
    if not 0 <= pages < 2**32:
        raise InputError(source, join_path(path, "pages"), pages, "must be 0..2^32-1 (u32)")
    return PageHotAddResponse(vm, pages, read_value(obj, "success", bool, source, path, True))


def _targets_from_json(data: Any, source: str, path: str) -> tuple[tuple[str, int], ...]:
    obj = expect_object(data, source, path)
    out = []
    for name, mib in obj.items():
        if not isinstance(mib, int) or isinstance(mib, bool) or mib < 0:
            raise InputError(source, join_path(path, name), mib, "must be an integer >= 0 (MiB)")
        out.append((name, mib))
    return tuple(out)


def requests_from_json(data: Any, source: str, path: str) -> tuple[PageEvent, ...]:
    """The page requests a host sent: balloon, unballoon and hot-add requests only."""
    if not isinstance(data, list):
        raise InputError(source, path, data, "must be a JSON array of page requests")
    out: list[PageEvent] = []
    for i, item in enumerate(data):
        where = join_path(path, i)
        kind = expect_object(item, source, where).get("kind")
        if kind not in REQUEST_KINDS:
            raise InputError(source, join_path(where, "kind"), kind,
                             "must be one of " + ", ".join(REQUEST_KINDS))
        event = event_from_json(item, source, where)
        assert not isinstance(event, PageTick)
        out.append(event)
    return tuple(out)


# --- state and observation -------------------------------------------------------------------

# What a page-level IUT reports of each VM (the rest, the amount level's bookkeeping of
# sub-unit pages, the harness takes from the reference).
OBSERVED_VM_FIELDS = ("name", "regions", "ram", "stranded_pages", "ballooned",
                      "ballooned_count", "hot_add_enabled", "txn", "txn_pages",
                      "txn_done_pages", "txn_ranges")
_SET_FIELDS = ("regions", "ram", "ballooned", "txn_ranges")
_ALIGN = "hot_add_align_mib"  # MiB, written only when not 2 (specs/formats/oracle.md §9)
_COUNT_FIELDS = ("stranded_pages", "ballooned_count", "residue_pages", "txn_pages",
                 "txn_done_pages")


def vm_to_json(vm: PageVm, observed: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {} if observed else {"settings": settings_to_json(vm.settings)}
    out["name"] = vm.name
    for f in attrs.fields(PageVm):
        if f.name in ("name", "settings") or (observed and f.name not in OBSERVED_VM_FIELDS):
            continue
        value = getattr(vm, f.name)
        if f.name == _ALIGN and value == DEFAULT_HOT_ADD_ALIGN_MIB:
            continue  # the default: reset states of before keep their bytes (Rule P1c)
        out[f.name] = (pages_to_json(value) if isinstance(value, PageSet) else
                       value.name.lower() if isinstance(value, TxnKind) else value)
    return out


def state_to_json(state: PageState) -> dict[str, Any]:
    """A full page state, as a ``reset`` carries it (schema page-state.schema.json)."""
    return {"host": host_to_json(state.host), "free_pages": state.free_pages,
            "vms": [vm_to_json(vm) for vm in state.vms]}


def observation_to_json(state: PageState) -> dict[str, Any]:
    """What a page-level IUT reports after an event (schema page-observation.schema.json)."""
    return {"free_pages": state.free_pages,
            "vms": [vm_to_json(vm, observed=True) for vm in state.vms]}


def _vm_fields(obj: Mapping[str, Any], fields: list[str], source: str,
               path: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in fields:
        if name not in obj:
            continue
        if name in _SET_FIELDS:
            values[name] = pages_from_json(obj[name], source, join_path(path, name))
        elif name == "txn":
            word = read_value(obj, "txn", str, source, path)
            if word not in _TXN_WORDS:
                raise InputError(source, join_path(path, "txn"), word,
                                 "must be one of " + ", ".join(_TXN_WORDS))
            values[name] = _TXN_WORDS[word]
        elif name == _ALIGN:
            values[name] = read_value(obj, name, int, source, path)
            if values[name] not in HOT_ADD_ALIGNMENTS_MIB:
                raise InputError(source, join_path(path, name), values[name],
                                 "must be 2^k MiB from 2 to 32768 (R-HOT-ADD-ALIGN)")
        elif name in _COUNT_FIELDS:
            values[name] = _pages_int(obj, name, source, path)
            if values[name] < 0:
                raise InputError(source, join_path(path, name), values[name],
                                 "must be an integer >= 0 (pages)")
        elif name not in ("name", "settings"):
            values[name] = read_value(obj, name, bool, source, path)
    return values


_ALL_VM_FIELDS = ["name", "settings", *(f.name for f in attrs.fields(PageVm)
                                        if f.name not in ("name", "settings"))]


def state_from_json(data: Any, source: str, path: str = "", *,
                    check_ranges: bool = True) -> PageState:
    """A full page state; ``check_ranges=False`` checks the settings' types only (a trace
    of the page explorer's small scope holds VMs below the wire's minimum startup)."""
    obj = expect_object(data, source, path)
    check_keys(obj, ["host", "free_pages", "vms"], source, path)
    host = host_from_json(obj.get("host"), source, join_path(path, "host"),
                          check_ranges=check_ranges)
    free = _pages_int(obj, "free_pages", source, path)
    vms: list[PageVm] = []
    for i, item in enumerate(read_value(obj, "vms", list, source, path, [])):
        where = join_path(path, f"vms[{i}]") if path else f"vms[{i}]"
        vm = expect_object(item, source, where)
        check_keys(vm, _ALL_VM_FIELDS, source, where)
        name = read_value(vm, "name", str, source, where)
        if any(other.name == name for other in vms):
            raise InputError(source, join_path(where, "name"), name, "names a VM twice")
        settings = settings_from_json(vm.get("settings", {}), source,
                                      join_path(where, "settings"), check_ranges=check_ranges)
        vms.append(PageVm(name=name, settings=settings,
                          **_vm_fields(vm, _ALL_VM_FIELDS, source, where)))
    return PageState(host, free, tuple(vms))


def lift_observation(data: Any, template: PageState, source: str,
                     path: str = "observed") -> PageState:
    """An observation (§9.3) made a full state: settings and the amount level's sub-unit
    bookkeeping (``residue_pages``, ``short_by_part_of_unit``) come from ``template`` (the
    reference's state after the same event), every observed field from the IUT. Each VM
    of ``template`` must be reported once."""
    obj = expect_object(data, source, path)
    check_keys(obj, ["free_pages", "vms"], source, path)
    free = _pages_int(obj, "free_pages", source, path)
    reported: dict[str, PageVm] = {}
    for i, item in enumerate(read_value(obj, "vms", list, source, path)):
        where = join_path(path, f"vms[{i}]")
        vm = expect_object(item, source, where)
        check_keys(vm, list(OBSERVED_VM_FIELDS), source, where)
        name = read_value(vm, "name", str, source, where)
        known = template.get_vm(name)
        if known is None or name in reported:
            raise InputError(source, join_path(where, "name"), name,
                             "must name each VM of the state once (Rule O1)")
        for field in OBSERVED_VM_FIELDS:
            if field not in vm:
                raise InputError(source, join_path(where, field), None, "is required")
        reported[name] = attrs.evolve(known, **_vm_fields(vm, list(OBSERVED_VM_FIELDS),
                                                          source, where))
    missing = [vm.name for vm in template.vms if vm.name not in reported]
    if missing:
        raise InputError(source, join_path(path, "vms"), missing,
                         "every VM must be reported (Rule O1)")
    return PageState(template.host, free, tuple(reported[vm.name] for vm in template.vms))


def observed_from_json(answer: Mapping[str, Any], template: PageState,
                       source: str) -> PageObserved:
    """An ``observed`` answer of a page-level IUT, lifted with ``template``."""
    check_keys(answer, ["type", "observed", "sent", "rejected"], source, "")
    state = lift_observation(answer.get("observed"), template, source)
    if "sent" not in answer:
        raise InputError(source, "sent", None, "is required (an empty list if none)")
    sent = requests_from_json(answer["sent"], source, "sent")
    rejected = answer.get("rejected")
    if rejected is not None and not isinstance(rejected, str):
        raise InputError(source, "rejected", rejected, "must be null or a string")
    return PageObserved(state, sent, rejected)
