"""The memory timeline of a trace (``dynmem show --plot FILE.png|svg``), drawn with matplotlib.

Top: the host's memory at every step, stacked: the reserve, each VM's assigned memory (and,
hatched, what is in flight to it: a hot-add or unballoon taken from free), then free memory,
up to the physical size. Anything above the physical line is overcommitted and is drawn
red. DM requests (filled triangles: balloon down, hot-add up, unballoon diamond) and guest
answers (hollow) sit on the VM's band; refused events are grey crosses along the top edge.

Below: one panel per VM with its assigned memory, what is in flight to it (hatched above
assigned, labelled with its amount), its workload's demand, the guest paging between them
(demand above assigned, shaded), and, for a dynamic VM, its startup (dashed) and maximum
(dotted) sizes; a static VM's panel says "static" and draws no bounds. The bound that the
first violation breaks (INV-FLOOR: startup, INV-CEILING: maximum) is drawn red and kept on
the chart in the panel of the VM concerned. The first violation is a red line through every
panel, labelled in the top one. ``steps`` narrows the x axis to a range of steps and ``vms``
the panels to some VMs (``dynmem show --steps/--vm``); the host panel always stacks every VM.
No display is needed: figures are built without pyplot and rendered by the Agg (PNG) or SVG
canvas.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from dynmem.model.vocabulary import TxnKind
from dynmem.reference.events import (
    BalancerTick,
    BalloonRequest,
    BalloonResponse,
    ChannelReset,
    Event,
    GuestRestart,
    HotAddRequest,
    HotAddResponse,
    StuckTimeout,
    UnballoonRequest,
    UnballoonResponse,
)
from dynmem.reference.state import DmState, Vm
from dynmem.verification.atomic import write_atomic
from dynmem.verification.errors import InputError
from dynmem.verification.traces.trace import Trace

# matplotlib is imported by the functions that draw, not here: it is most of the start-up of
# ``dynmem show`` and ``dynmem verify``, which draw only when asked (``--plot``, ``--html``).
if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

FORMATS = ("png", "svg")
WIDTH_IN = 12.0
DPI = 100
COLUMNS = 4  # VM panels per row
HOST_IN, PANEL_IN, LEGEND_IN = 4.6, 2.6, 0.6  # heights: the host panel, a row of VM panels
RESERVE_COLOUR = "#9e9e9e"
FREE_COLOUR = "#e8f5e9"
OVER_COLOUR = "#d32f2f"
PAGING_COLOUR = "#e53935"
LOST_COLOUR = "#6a1b9a"  # memory neither free nor owned: the ledger lost it
# Text sizes in points (at DPI 100 a point is 1.4 pixels): readable at the page's width.
TITLE_PT, LABEL_PT, TEXT_PT = 12, 10, 9
# The VM setting a per-VM invariant (or one of its clauses) bounds: the panel of the VM
# concerned draws that line red and keeps it on the chart.
VM_BOUNDS = {"INV-FLOOR": "startup", "INV-CEILING": "maximum",
             "AUX-TXN/balloon keeps the floor": "startup", "AUX-TXN/grant fits": "maximum"}


@attrs.frozen
class Marker:
    """A DM message drawn on a VM's band: at ``step``, of ``kind`` (balloon, hot-add,
    unballoon), a host request or a guest answer."""

    step: int
    vm: str
    kind: str
    request: bool


@attrs.frozen
class Series:
    """What the plot draws, extracted from a trace: one value per state (0 = initial)."""

    names: tuple[str, ...]
    physical: int
    reserve: int
    free: tuple[int, ...]
    assigned: dict[str, tuple[int, ...]]
    in_flight: dict[str, tuple[int, ...]]
    demand: dict[str, tuple[int, ...]]  # of running VMs; 0 while off
    startup: dict[str, int]
    maximum: dict[str, int]
    dynamic: dict[str, bool]
    markers: tuple[Marker, ...]
    refused: tuple[int, ...]
    violation: tuple[int, str, str | None] | None  # step, invariant, VM concerned
    clause: str = ""  # the first violation's clause


_KINDS: dict[type, tuple[str, bool]] = {
    BalloonRequest: ("balloon", True), HotAddRequest: ("hot-add", True),
    UnballoonRequest: ("unballoon", True), BalloonResponse: ("balloon", False),
    HotAddResponse: ("hot-add", False), UnballoonResponse: ("unballoon", False),
    # the lifecycle (specs/lifecycle.md): a session ends or the host gives up waiting
    GuestRestart: ("restart", True), ChannelReset: ("reset", True),
    StuckTimeout: ("stuck", True),
}
_LIFECYCLE_KINDS = ("restart", "reset", "stuck")


def _markers(index: int, event: Event, sent: tuple[Event, ...]) -> list[Marker]:
    messages = list(sent) if isinstance(event, BalancerTick) else [event]
    out = []
    for message in messages:
        kind = _KINDS.get(type(message))
        if kind is not None:
            out.append(Marker(index, getattr(message, "vm", ""), kind[0], kind[1]))
    return out


def get_series(trace: Trace) -> Series:
    """The per-step values the plot draws (a VM absent from a state counts as 0)."""
    states: list[DmState] = [trace.initial, *(s.state for s in trace.steps)]
    names: list[str] = []
    for state in states:
        names += [vm.name for vm in state.vms if vm.name not in names]

    def per_vm(value: str) -> dict[str, tuple[int, ...]]:
        out = {}
        for name in names:
            row = []
            for state in states:
                vm = state.get_vm(name)
                row.append(0 if vm is None else _value(vm, value))
            out[name] = tuple(row)
        return out

    settings = {}
    for state in states:  # the last settings a VM had (Configure may change them)
        settings.update({vm.name: vm.settings for vm in state.vms})
    markers, refused = [], []
    for index, item in enumerate(trace.steps, start=1):
        if item.rejected is not None:
            refused.append(index)
        else:
            markers += _markers(index, item.event, item.sent)
    first = trace.first_finding
    violation = None
    if first is not None:
        # A host-wide violation concerns the VM of the event that caused it (e.g. a start).
        event = trace.steps[first.step - 1].event if first.step else None
        vm = first.violation.vm or getattr(event, "vm", None)
        violation = (first.step, first.invariant, vm if isinstance(vm, str) else None)
    return Series(
        names=tuple(names), physical=trace.initial.host.physical_mib,
        reserve=trace.initial.host.reserve_mib, free=tuple(s.free_mib for s in states),
        assigned=per_vm("assigned"), in_flight=per_vm("in_flight"), demand=per_vm("demand"),
        startup={n: s.startup_mib for n, s in settings.items()},
        maximum={n: s.maximum_mib for n, s in settings.items()},
        dynamic={n: s.dynamic for n, s in settings.items()},
        markers=tuple(markers), refused=tuple(refused), violation=violation,
        clause=first.violation.clause if first is not None else "")


def _value(vm: object, value: str) -> int:
    assert isinstance(vm, Vm)
    if value == "assigned":
        return vm.assigned_mib
    if value == "in_flight":
        return vm.in_flight_mib if vm.txn != TxnKind.NONE else 0
    return vm.demand_mib if vm.running else 0


def _colours(n: int) -> list[str]:
    """Distinct colours for ``n`` VMs: tab10 up to 9 VMs, tab20 beyond (cycled after 18),
    without their reds, which mean overcommitment and violations here."""
    from matplotlib import colormaps  # lazy: see the imports

    small, large = colormaps["tab10"], colormaps["tab20"]
    palette = ([_hex(small(i)) for i in range(10) if i != 3] if n <= 9
               else [_hex(large(i)) for i in range(20) if i not in (6, 7)])
    return [palette[i % len(palette)] for i in range(n)]


def _hex(rgba: tuple[float, float, float, float]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgba[:3])


def _steps_x(count: int) -> list[float]:
    """The left edge of each state's column (centred on its step number), plus the right
    edge of the last one."""
    return [i - 0.5 for i in range(count + 1)]


def _extend(values: Sequence[float]) -> list[float]:
    """Values for ``fill_between(step="post")``: the last one repeated to close its column."""
    return [*values, values[-1]]


_SHAPES = {"balloon": "v", "hot-add": "^", "unballoon": "D", "restart": "*", "reset": "s",
           "stuck": "X"}


def _draw_host(ax: Axes, s: Series, colours: dict[str, str]) -> list[float]:
    """The stacked host panel; returns the top of every VM's band per state (for markers)."""
    count = len(s.free)
    x = _steps_x(count)
    base = [float(s.reserve)] * count
    ax.fill_between(x, 0, _extend(base), step="post", color=RESERVE_COLOUR, lw=0)
    tops: dict[str, list[float]] = {}
    for name in s.names:
        low = list(base)
        mid = [b + a for b, a in zip(base, s.assigned[name], strict=True)]
        high = [m + f for m, f in zip(mid, s.in_flight[name], strict=True)]
        ax.fill_between(x, _extend(low), _extend(mid), step="post", color=colours[name],
                        lw=0)
        if any(s.in_flight[name]):
            ax.fill_between(x, _extend(mid), _extend(high), step="post", facecolor="white",
                            edgecolor=colours[name], hatch="////", lw=0)
        tops[name], base = high, high
    free_top = [b + max(0, f) for b, f in zip(base, s.free, strict=True)]
    ax.fill_between(x, _extend(base), _extend(free_top), step="post", color=FREE_COLOUR,
                    lw=0)
    over = [max(b, float(s.physical)) for b in base]
    if any(b > s.physical for b in base):
        ax.fill_between(x, s.physical, _extend(over), step="post", facecolor="none",
                        edgecolor=OVER_COLOUR, hatch="xx", lw=0)
    lost = [min(float(s.physical), b + max(0, f)) for b, f in zip(base, s.free, strict=True)]
    if any(top < s.physical for top in lost):  # the ledger lost memory (INV-CONSERVATION)
        ax.fill_between(x, _extend(lost), s.physical, step="post", facecolor="none",
                        edgecolor=LOST_COLOUR, hatch="..", lw=0)
    ax.axhline(s.physical, color="black", lw=1.4)
    ax.text(0.02, s.physical, f"physical {s.physical} MiB", va="bottom", ha="left",
            fontsize=TEXT_PT, transform=ax.get_yaxis_transform())
    for m in s.markers:
        if m.vm in tops:
            ax.plot(m.step, tops[m.vm][m.step], _SHAPES[m.kind], ms=6,
                    color=colours[m.vm], mec="black", mew=0.6,
                    mfc=colours[m.vm] if m.request else "white", zorder=5)
    for step in s.refused:  # along the top edge, clear of the axis and its tick labels
        ax.plot(step, 0.96, "x", color="#424242", ms=7, mew=1.6, zorder=5,
                transform=ax.get_xaxis_transform())
    top = max([float(s.physical), *base, *free_top])
    ax.set_ylim(0, top * 1.16)
    ax.set_xlim(-0.5, count - 0.5)
    ax.set_ylabel("host memory (MiB)", fontsize=LABEL_PT)
    ax.tick_params(labelsize=TEXT_PT)
    return [float(b) for b in base]


def _broken_bound(s: Series, name: str) -> str | None:
    """``startup`` or ``maximum`` if the first violation breaks that bound of VM ``name``."""
    if s.violation is None or s.violation[2] != name:
        return None
    invariant = s.violation[1]
    return VM_BOUNDS.get(f"{invariant}/{s.clause}", VM_BOUNDS.get(invariant))


def get_vm_top(s: Series, name: str) -> float:
    """The top of VM ``name``'s panel: its data (assigned + in flight, demand), its startup,
    its maximum when near the data, and always the bound its violation breaks."""
    owned = [a + f for a, f in zip(s.assigned[name], s.in_flight[name], strict=True)]
    data = max([1.0, *owned, *s.demand[name]])
    if s.dynamic[name]:
        data = max(data, s.startup[name])
        if s.maximum[name] <= 1.6 * data or _broken_bound(s, name) == "maximum":
            data = max(data, s.maximum[name])
    return 1.15 * data


def _draw_vm(ax: Axes, s: Series, name: str, colour: str, y_top: float) -> None:
    count = len(s.free)
    x = _steps_x(count)
    assigned, demand = _extend(s.assigned[name]), _extend(s.demand[name])
    flight = _extend(s.in_flight[name])
    owned = [a + f for a, f in zip(assigned, flight, strict=True)]
    paging = [max(a, d) for a, d in zip(assigned, demand, strict=True)]
    ax.fill_between(x, assigned, paging, step="post", facecolor=PAGING_COLOUR, alpha=0.25,
                    lw=0)
    if any(flight):  # what is on its way to the VM (hot-add, unballoon): owned, not assigned
        ax.fill_between(x, assigned, owned, step="post", facecolor="white",
                        edgecolor=colour, hatch="////", lw=0)
        _label_in_flight(ax, s.in_flight[name], s.assigned[name], colour)
    ax.step(x, demand, where="post", color="black", lw=1.0, ls=(0, (4, 2)))
    ax.step(x, assigned, where="post", color=colour, lw=2.2)
    broken = _broken_bound(s, name)
    if s.dynamic[name]:
        for bound, style in (("startup", "--"), ("maximum", ":")):
            value = s.startup[name] if bound == "startup" else s.maximum[name]
            if value > y_top:
                continue
            red = bound == broken
            ax.axhline(value, color=OVER_COLOUR if red else "#424242", lw=2.0 if red else 1.0,
                       ls=style, zorder=4)
            if red and s.violation is not None:
                ax.text(0.02, value, f"{bound} {value} MiB ({s.violation[1]})", ha="left",
                        va="bottom", fontsize=TEXT_PT, color=OVER_COLOUR, fontweight="bold",
                        transform=ax.get_yaxis_transform(), zorder=8)
    for m in s.markers:
        if m.vm == name:
            ax.plot(m.step, s.assigned[name][m.step], _SHAPES[m.kind], ms=6,
                    color=colour, mec="black", mew=0.6,
                    mfc=colour if m.request else "white", zorder=5)
    concerned = s.violation is not None and s.violation[2] == name
    ax.set_title(name + (f" ({s.violation[1]})" if concerned and s.violation else ""),
                 fontsize=LABEL_PT + 1, loc="left", fontweight="bold",
                 color=OVER_COLOUR if concerned else "black")
    if s.dynamic[name]:
        above = "" if s.maximum[name] <= y_top else " (above the chart)"
        about = f"startup {s.startup[name]}, max {s.maximum[name]}{above}"
    else:
        about = f"static, {s.startup[name]} MiB"
    ax.text(0.02, 0.97, about, transform=ax.transAxes, ha="left", va="top",
            fontsize=TEXT_PT, color="#424242",
            bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
            zorder=8)
    ax.set_xlim(-0.5, count - 0.5)
    ax.set_ylim(0, y_top)
    ax.tick_params(labelsize=TEXT_PT)


def _label_in_flight(ax: Axes, flight: Sequence[int], assigned: Sequence[int],
                     colour: str) -> None:
    """``+208 in flight`` in the middle of the hatched band, at the start of each run of
    steps with the same amount in flight (inside the band: clear of the panel's own text)."""
    for step, amount in enumerate(flight):
        if amount and (step == 0 or flight[step - 1] != amount):
            ax.annotate(f"+{amount} in flight", xy=(step, assigned[step] + amount / 2),
                        ha="center", va="center", fontsize=TEXT_PT,
                        color="#212121", zorder=8,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": colour,
                              "alpha": 0.9})


def _mark_violation(axes: list[Axes], s: Series) -> None:
    if s.violation is None:
        return
    step, invariant, vm = s.violation
    for ax in axes:
        ax.axvspan(step - 0.5, step + 0.5, color=OVER_COLOUR, alpha=0.13, lw=0, zorder=0.5)
        ax.axvline(step - 0.5, color=OVER_COLOUR, lw=1.0, zorder=6)
    where = f" ({vm})" if vm else ""
    axes[0].annotate(f"{invariant} broken at step {step}{where}", xy=(step, 1.0),
                     xycoords=("data", "axes fraction"), xytext=(4, -4),
                     textcoords="offset points", va="top", fontsize=LABEL_PT, color="white",
                     fontweight="bold", zorder=7,
                     ha="left" if step < 0.6 * len(s.free) else "right",
                     bbox={"boxstyle": "round,pad=0.3", "fc": OVER_COLOUR, "ec": "none"})


def _legend(ax: Axes, s: Series, colours: dict[str, str]) -> None:
    from matplotlib.lines import Line2D  # lazy: see the imports
    from matplotlib.patches import Patch

    handles: list[Patch | Line2D] = [Patch(color=RESERVE_COLOUR, label="reserve")]
    handles += [Patch(color=colours[n], label=f"{n} assigned") for n in s.names]
    if any(any(v) for v in s.in_flight.values()):
        handles.append(Patch(facecolor="white", edgecolor="#424242", hatch="////",
                             label="in flight (hot-add/unballoon)"))
    handles.append(Patch(facecolor=FREE_COLOUR, edgecolor="#bdbdbd", label="free"))
    if any(b > s.physical for b in [s.reserve + sum(v[i] for v in s.assigned.values())
                                    for i in range(len(s.free))]):
        handles.append(Patch(facecolor="none", edgecolor=OVER_COLOUR, hatch="xx",
                             label="overcommitted"))
    stacks = [s.reserve + sum(v[i] + f[i] for v, f in zip(s.assigned.values(),
                                                          s.in_flight.values(), strict=True))
              + max(0, s.free[i]) for i in range(len(s.free))]
    if any(top < s.physical for top in stacks):
        handles.append(Patch(facecolor="none", edgecolor=LOST_COLOUR, hatch="..",
                             label="unaccounted (neither free nor owned)"))
    kinds = sorted({m.kind for m in s.markers})
    handles += [Line2D([], [], ls="", marker=_SHAPES[k], color="#757575", mec="black",
                       label=k if k in _LIFECYCLE_KINDS else f"{k} request (hollow: answer)")
                for k in kinds]
    if s.refused:
        handles.append(Line2D([], [], ls="", marker="x", color="#616161",
                              label="refused event"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=TEXT_PT,
              ncol=2 if len(handles) > 14 else 1, frameon=False)


def _vm_legend(fig: Figure, s: Series, panels: Sequence[str]) -> None:
    """The VM panels' legend: only what some panel can show (no bounds for static VMs)."""
    from matplotlib.lines import Line2D  # lazy: see the imports
    from matplotlib.patches import Patch

    handles: list[Patch | Line2D] = [
        Line2D([], [], color="#424242", lw=2, label="assigned"),
        Line2D([], [], color="black", lw=0.9, ls=(0, (4, 2)), label="demand"),
        Patch(facecolor=PAGING_COLOUR, alpha=0.25, label="guest paging")]
    if any(s.dynamic[v] for v in panels):
        handles += [Line2D([], [], color="#424242", lw=0.9, ls="--", label="startup"),
                    Line2D([], [], color="#424242", lw=0.9, ls=":", label="maximum")]
    if any(any(s.in_flight[v]) for v in panels):
        handles.append(Patch(facecolor="white", edgecolor="#424242", hatch="////",
                             label="in flight"))
    fig.legend(handles=handles, loc="outside lower center", ncol=6, fontsize=TEXT_PT,
               frameon=False)


def build_figure(trace: Trace, steps: range | None = None,
                 vms: Sequence[str] | None = None) -> Figure:
    """The timeline figure of ``trace`` (see the module docstring), its x axis narrowed to
    ``steps`` and its VM panels to ``vms`` when given."""
    from matplotlib.figure import Figure  # lazy: see the imports
    from matplotlib.ticker import MaxNLocator

    s = get_series(trace)
    colours = dict(zip(s.names, _colours(len(s.names)), strict=True))
    panels = [v for v in s.names if vms is None or v in vms]
    n = len(panels)
    cols = min(n, COLUMNS) or 1
    rows = math.ceil(n / cols)
    height = HOST_IN + PANEL_IN * rows + (LEGEND_IN if n else 0)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    grid = fig.add_gridspec(1 + rows, cols, height_ratios=[HOST_IN] + [PANEL_IN] * rows)
    host = fig.add_subplot(grid[0, :])
    _draw_host(host, s, colours)
    verdict = "ok" if s.violation is None else f"VIOLATED {s.violation[1]}"
    length = f"{len(trace.steps)} step{'' if len(trace.steps) == 1 else 's'}"
    if steps is not None:
        length += f", showing {steps.start}..{steps.stop - 1}"
    host.set_title(f"dynmem trace from {trace.source}: {length}, {verdict}",
                   loc="left", fontsize=TITLE_PT, fontweight="bold")
    host.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    _legend(host, s, colours)
    axes = [host]
    # One scale for every panel (sizes compare across VMs), high enough for each one's data
    # and for the bound its violation breaks.
    y_top = max([1.0, *(get_vm_top(s, v) for v in panels)])
    for i, name in enumerate(panels):
        ax = fig.add_subplot(grid[1 + i // cols, i % cols], sharex=host)
        _draw_vm(ax, s, name, colours[name], y_top)
        axes.append(ax)
        if i // cols == rows - 1:
            ax.set_xlabel("step", fontsize=LABEL_PT)
    if n:
        _vm_legend(fig, s, panels)
    else:
        host.set_xlabel("step")
    _mark_violation(axes, s)
    if steps is not None:  # sharex: the VM panels follow the host's range
        host.set_xlim(steps.start - 0.5, steps.stop - 0.5)
    return fig


def check_plot_path(path: str | os.PathLike[str]) -> str:
    """The image format of ``path`` (``png`` or ``svg``, from its suffix), else InputError."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise InputError(str(path), "", None, "the plot must be a .png or .svg file")
    return suffix


def render_plot(trace: Trace, fmt: str = "png", steps: range | None = None,
                vms: Sequence[str] | None = None) -> bytes:
    """The timeline of ``trace`` as PNG or SVG bytes (``steps``, ``vms``: see
    ``build_figure``)."""
    from matplotlib import rc_context  # lazy: see the imports

    # SVG keeps its text as text (searchable, small); the viewer supplies the font.
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "dynmem"}):
        fig = build_figure(trace, steps, vms)
        out = io.BytesIO()
        fig.savefig(out, format=fmt, dpi=DPI, metadata=_metadata(fmt))
    return out.getvalue()


def _metadata(fmt: str) -> dict[str, str | None]:
    # No creation date or software version: the same trace gives the same bytes.
    if fmt == "svg":
        return {"Date": None, "Creator": None}
    return {"Software": None}


def write_plot(trace: Trace, path: str | os.PathLike[str], steps: range | None = None,
               vms: Sequence[str] | None = None) -> None:
    """Write the timeline of ``trace`` to ``path`` (.png or .svg) atomically."""
    write_atomic(path, render_plot(trace, check_plot_path(path), steps, vms))
