"""The memory timeline (verification/traces/plot.py): the data it draws and the image it makes.

The images were looked at while the plot was designed (2, 4, 5 and 16 VMs); these tests pin
what can be checked mechanically: the values, the size, that the image is not blank, and
that a violation (and only a violation) puts its red mark on it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import report_cases as rc
import trace_cases as tc
from matplotlib import image

from dynmem.verification.errors import InputError
from dynmem.verification.scenarios.scenario import load_scenario
from dynmem.verification.scenarios.simulate import simulate
from dynmem.verification.traces import plot
from dynmem.verification.traces.plot import (
    DPI,
    LOST_COLOUR,
    OVER_COLOUR,
    WIDTH_IN,
    check_plot_path,
    get_series,
    render_plot,
    write_plot,
)


def _pixels(png: bytes) -> np.ndarray:
    return image.imread(io.BytesIO(png), format="png")[:, :, :3]


def _has_colour(pixels: np.ndarray, hex_colour: str, tolerance: float = 0.02) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int(np.sum(np.all(np.abs(pixels - rgb) < tolerance, axis=2)))


SCENARIOS = Path(__file__).resolve().parents[3] / "verification" / "scenarios"


class TestSeries:
    def test_values(self) -> None:
        """Per state: free, each VM's assigned and in-flight; the violation and its VM."""
        s = get_series(tc.planted_overcommit())
        assert s.names == ("vm1", "vm2", "vm3", "vm4")
        assert s.free == (6144, 4096, 2048, 0, -2048, 0)
        assert s.assigned["vm4"] == (0, 0, 0, 0, 2048, 2048)
        assert s.violation == (4, "INV-PHYSICAL", "vm4")  # host-wide: the event's VM

    def test_markers_and_in_flight(self) -> None:
        """Requests sent by ticks and guest answers are markers; in-flight memory is kept."""
        s = get_series(tc.weight_contention())
        kinds = {(m.kind, m.request) for m in s.markers}
        assert {("hot-add", True), ("hot-add", False), ("balloon", True),
                ("balloon", False)} <= kinds
        assert any(any(v) for v in s.in_flight.values())

    def test_restart_and_reset_are_marked(self) -> None:
        """A guest restart and a channel reset are visible on the VM's band."""
        sim = simulate(load_scenario(SCENARIOS / "restart-under-contention.json"))
        reset = simulate(load_scenario(SCENARIOS / "channel-reset-mid-balloon.json"))
        kinds = {(m.vm, m.kind) for m in get_series(sim.trace).markers}
        assert ("hi", "restart") in kinds
        assert ("g", "reset") in {(m.vm, m.kind) for m in get_series(reset.trace).markers}
        assert render_plot(sim.trace).startswith(b"\x89PNG")

    def test_refused_events(self) -> None:
        s = get_series(tc.static_host_full())
        assert s.refused == (6,)


class TestImage:
    @pytest.mark.parametrize(("n", "rows"), [(2, 1), (16, 4)])
    def test_size_and_not_blank(self, n: int, rows: int) -> None:
        """2 and 16 VMs: the expected size, real content, one colour per VM."""
        trace = rc.many_vms(n)
        pixels = _pixels(render_plot(trace))
        height = round(DPI * (plot.HOST_IN + plot.PANEL_IN * rows + plot.LEGEND_IN))
        assert pixels.shape[:2] == (height, round(WIDTH_IN * DPI))
        assert float(pixels.std()) > 0.1  # not a blank or single-colour image
        rgb = np.round(pixels * 255).astype(np.uint32)
        packed = (rgb[:, :, 0] << 16) | (rgb[:, :, 1] << 8) | rgb[:, :, 2]
        assert len(np.unique(packed)) > 50

    def test_violation_is_marked_only_when_there_is_one(self) -> None:
        """The red violation mark (label, line) appears for a violating trace, not for an ok
        one; INV-OFF moves no memory, so the red comes from the mark alone."""
        bad = _has_colour(_pixels(render_plot(rc.off_with_transaction())), OVER_COLOUR)
        good = _has_colour(_pixels(render_plot(tc.weight_contention())), OVER_COLOUR)
        assert bad > 200 and good == 0

    def test_overcommit_is_hatched(self) -> None:
        """Memory above the physical line is drawn red (more red than the mark alone)."""
        over = _has_colour(_pixels(render_plot(tc.planted_overcommit())), OVER_COLOUR)
        mark = _has_colour(_pixels(render_plot(rc.off_with_transaction())), OVER_COLOUR)
        assert over > mark + 1000

    def test_lost_memory_is_drawn(self) -> None:
        """A ledger that lost memory (INV-CONSERVATION) shows it, dotted, below the physical
        line; a correct trace has none."""
        lost = _has_colour(_pixels(render_plot(tc.planted_leak())), LOST_COLOUR, 0.05)
        none = _has_colour(_pixels(render_plot(tc.weight_contention())), LOST_COLOUR, 0.05)
        assert lost > 50 and none == 0

    def test_svg_keeps_names(self) -> None:
        """The SVG holds the VM names and the broken invariant as text."""
        svg = render_plot(rc.off_with_transaction(), "svg").decode("utf-8")
        assert svg.startswith("<?xml") and "web" in svg and "INV-OFF broken at step 14" in svg

    def test_deterministic(self) -> None:
        """The same trace gives the same bytes (no dates in the files)."""
        trace = tc.planted_leak()
        assert render_plot(trace) == render_plot(trace)
        assert render_plot(trace, "svg") == render_plot(trace, "svg")

    def test_no_vms(self) -> None:
        from dynmem.reference.settings import HostSettings
        from dynmem.reference.state import initial_state
        from dynmem.verification.traces.trace import Trace

        pixels = _pixels(render_plot(Trace(initial_state(HostSettings(4096, 1024)))))
        assert pixels.shape[1] == round(WIDTH_IN * DPI)


def test_write_plot(tmp_path: Path) -> None:
    path = tmp_path / "t.png"
    write_plot(tc.planted_overcommit(), path)
    assert path.read_bytes().startswith(b"\x89PNG") and not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("name", ["t.jpg", "t", "t.pdf"])
def test_only_png_or_svg(name: str) -> None:
    with pytest.raises(InputError, match="must be a .png or .svg file"):
        check_plot_path(name)
