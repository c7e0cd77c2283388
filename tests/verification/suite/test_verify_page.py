"""The ``verify --html`` page in headless Chromium: it renders, names the invariant, and its
links work (each counterexample page exists and names its invariant; each in-page link has
its target). Also, without a browser: escaping, provenance and one section per check.

The browser part skips, saying why, where Debian's ``chromium`` is absent (tests/check.sh
installs it in CI).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import report_cases as rc
import trace_cases as tc
from matplotlib import image

from dynmem.verification import __version__
from dynmem.verification.suite.checks import CheckResult, Interruption
from dynmem.verification.suite.html import render_verify_report, write_verify_report
from dynmem.verification.traces.html import BANNER_BAD
from dynmem.verification.traces.pages import Provenance

CHROMIUM = "/usr/bin/chromium"
NEEDS_CHROMIUM = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (tests/check.sh installs it in CI); the "
           "browser rendering of the verify page is not checked here")

RESULTS = [
    CheckResult("ceiling-at-maximum", "scenarios", True, "12 steps, invariants hold", 0.25),
    CheckResult("<b>planted</b>", "bmc", False, "INV-PHYSICAL broken at depth 4", 1.5,
                ("why", "values"), (tc.planted_overcommit(),)),
    CheckResult("off with txn", "bmc", False, "INV-OFF broken", 0.1, ("details",),
                (rc.off_with_transaction(),)),
]
FIXED = Provenance("9.9.9", "2026-01-01T00:00:00Z", "testhost, Linux, Python 3.11, 2 CPUs")


class Links(HTMLParser):
    """The hrefs and ids of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "href" and value:
                self.hrefs.append(value)
            if name == "id" and value:
                self.ids.add(value)


def parse(text: str) -> Links:
    links = Links()
    links.feed(text)
    return links


class TestContent:
    def test_one_section_per_check_with_provenance(self) -> None:
        page = render_verify_report(RESULTS, provenance=FIXED)
        assert page.count('<section class="check') == len(RESULTS)
        assert "dynmem 9.9.9" in page and "2026-01-01T00:00:00Z" in page
        assert "testhost, Linux, Python 3.11, 2 CPUs" in page
        assert "verify: FAILED, 2 of 3 checks failed" in page

    def test_names_are_escaped(self) -> None:
        page = render_verify_report(RESULTS)
        assert "<b>planted</b>" not in page and "&lt;b&gt;planted&lt;/b&gt;" in page

    def test_every_in_page_link_has_its_target(self) -> None:
        links = parse(render_verify_report(RESULTS))
        anchors = [h[1:] for h in links.hrefs if h.startswith("#")]
        assert anchors and all(a in links.ids for a in anchors)

    def test_interrupted_run_says_what_did_not_run(self) -> None:
        page = render_verify_report(RESULTS[:1], interruption=Interruption(
            (("bmc", "x"),), "terminated"))
        assert "verify: INTERRUPTED, terminated after 1 of 2 checks" in page
        assert "not run: bmc/x" in page

    def test_the_version_is_dynmems(self) -> None:
        assert f"dynmem {__version__}" in render_verify_report(RESULTS[:1])


def _browser(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", *args], capture_output=True, text=True,
                          timeout=90, check=False)


@NEEDS_CHROMIUM
def test_page_renders_names_the_invariant_and_its_links_work(tmp_path: Path) -> None:
    """Chromium's DOM of the verify page names the invariants and links two counterexample
    pages that exist and, rendered in turn, name their invariant; the screenshot is not
    blank and shows the red verdict."""
    page = tmp_path / "verify.html"
    write_verify_report(RESULTS, page)
    dom = _browser("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "INV-PHYSICAL" in dom.stdout and "INV-OFF" in dom.stdout
    linked = set(re.findall(r'<a href="([^"#]+)">counterexample \d+: ([A-Z-]+) at step',
                            dom.stdout))
    assert {inv for _, inv in linked} == {"INV-PHYSICAL", "INV-OFF"}, linked
    for href, invariant in linked:
        target = page.parent / href
        assert target.is_file(), href
        shown = _browser("--dump-dom", target.as_uri())
        assert shown.returncode == 0, shown.stderr[-2000:]
        assert f"<dt>invariant</dt><dd><b>{invariant}</b>" in shown.stdout, href
    shot = tmp_path / "verify.png"
    done = _browser(f"--screenshot={shot}", "--window-size=1280,1600", page.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    pixels = image.imread(io.BytesIO(shot.read_bytes()), format="png")[:, :, :3]
    assert float(pixels.std()) > 0.05  # not blank
    rgb = np.array([int(BANNER_BAD[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    assert int(np.sum(np.all(np.abs(pixels - rgb) < 0.02, axis=2))) > 5000  # the verdict
