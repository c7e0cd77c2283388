"""The HTML report (verification/traces/html.py): content, self-containment, a real browser.

The browser test renders the page in headless Chromium (Debian's ``chromium``, installed by
``.ci/run``) and checks the screenshot: not blank, the red verdict banner and the yellow
changed-value highlight both on screen. It skips, saying why, where Chromium is absent.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import report_cases as rc
import trace_cases as tc
from matplotlib import image

from dynmem.verification.traces.html import (
    BANNER_BAD,
    BANNER_OK,
    CHANGED_COLOUR,
    FieldView,
    render_report,
    vm_cell,
    write_report,
)

CHROMIUM = "/usr/bin/chromium"


class TestContent:
    def test_violation_page(self) -> None:
        """The broken invariant, the VMs, the blame, the settings and the inline plot."""
        page = render_report(rc.off_with_transaction(), "off.itf.json")
        assert "<h1>off.itf.json</h1>" in page
        assert ("VIOLATED AUX-TXN, INV-ADVERTISED, INV-OFF, INV-ONE-TXN: first INV-OFF at step 14: "
                "stop web") in page
        assert "part 3 of 5, when power is off: txn is balloon, must be none" in page
        assert "dynamic, startup 1024 MiB, maximum 8192 MiB" in page
        assert page.count('<tr class="fail">') == 1
        assert re.search(r'src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', page)
        assert "<th>web</th>" in page

    def test_many_vms(self) -> None:
        page = render_report(rc.many_vms(16))
        assert all(f"<th>vm{i:02d}</th>" in page for i in range(16))
        assert "INV-PHYSICAL" in page

    def test_self_contained(self) -> None:
        """No network: nothing is loaded from elsewhere (scripts, styles, images, fonts)."""
        page = render_report(tc.planted_overcommit())
        assert not re.search(r'(src|href)="(?!data:)', page)
        assert "http://" not in page and "https://" not in page and "@import" not in page

    def test_ok_page(self) -> None:
        page = render_report(tc.weight_contention())
        assert "ok: no invariant violated in 29 steps" in page
        assert "Why it failed" not in page and '<tr class="fail' not in page

    def test_escaped(self) -> None:
        """Names are HTML-escaped (a VM called <b> cannot inject markup)."""
        from dynmem.reference.events import Start
        from dynmem.reference.settings import HostSettings, VmSettings
        from dynmem.reference.state import initial_state
        from dynmem.verification.traces.trace import run_events

        s = initial_state(HostSettings(4096, 1024), (("<b>x</b>", VmSettings()),))
        page = render_report(run_events(s, [Start("<b>x</b>")]))
        assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page

    def test_changed_cells(self) -> None:
        """Only values that changed are highlighted."""
        trace = tc.planted_overcommit()
        cell = vm_cell(trace.state_at(3).get_vm("vm4"), trace.state_at(4).get_vm("vm4"))
        assert cell.changed and FieldView("power", "running", "off") in cell.fields
        cell = vm_cell(trace.state_at(3).get_vm("vm1"), trace.state_at(4).get_vm("vm1"))
        assert not cell.changed and all(f.before is None for f in cell.fields)
        page = render_report(trace)
        assert '<span class="chg">running</span>' in page


def test_write_report(tmp_path: Path) -> None:
    path = tmp_path / "r.html"
    write_report(tc.planted_leak(), path, "leak")
    assert path.read_text("utf-8").startswith("<!DOCTYPE html>")


def _count(pixels: np.ndarray, hex_colour: str) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int(np.sum(np.all(np.abs(pixels - rgb) < 0.02, axis=2)))


def _screenshot(page: Path, shot: Path) -> np.ndarray:
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--screenshot={shot}", "--window-size=1280,2600", page.as_uri()],
        capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    return image.imread(io.BytesIO(shot.read_bytes()), format="png")[:, :, :3]


@pytest.mark.skipif(not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (.ci/run installs it); the "
                           "browser rendering of the HTML report is not checked here")
def test_renders_in_a_real_browser(tmp_path: Path) -> None:
    """Headless Chromium shows the page: not blank, the red verdict and the highlighted
    changes on screen; an ok trace shows the green verdict and no red."""
    bad, good = tmp_path / "bad.html", tmp_path / "good.html"
    write_report(tc.planted_overcommit(), bad, "planted overcommit")
    write_report(tc.static_host_full(), good, "static host")
    pixels = _screenshot(bad, tmp_path / "bad.png")
    assert pixels.shape[:2] == (2600, 1280)
    assert float(pixels.std()) > 0.05  # not blank
    assert _count(pixels, BANNER_BAD) > 5000  # the verdict banner (and the why box border)
    assert _count(pixels, CHANGED_COLOUR) > 300  # changed values in the step table
    ok = _screenshot(good, tmp_path / "good.png")
    assert _count(ok, BANNER_OK) > 5000 and _count(ok, BANNER_BAD) == 0
