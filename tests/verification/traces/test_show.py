"""``dynmem show`` (verification/traces/show.py, commands/show.py): goldens and the command line.

The goldens are checked by tests/helpers/golden.py (``DYNMEM_UPDATE_GOLDEN=1`` rewrites them).
"""

from __future__ import annotations

import doctest
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import report_cases as rc
import trace_cases as tc
from golden import check_golden, golden_dir

from dynmem.verification.cli.main import main
from dynmem.verification.traces import show
from dynmem.verification.traces.itf import write_itf
from dynmem.verification.traces.recheck import rechecked
from dynmem.verification.traces.show import render_show
from dynmem.verification.traces.shrink import shrink_trace
from dynmem.verification.traces.trace import Trace

GOLDEN = golden_dir(__file__)

CASES: dict[str, Callable[[], str]] = {
    "show_planted_overcommit.txt": lambda: render_show(tc.planted_overcommit()),
    "show_off_with_transaction.txt": lambda: render_show(rc.off_with_transaction()),
    "show_balloon_taken_ascii.txt": lambda: render_show(rc.balloon_taken_early(), ascii=True),
    "show_leak_steps_vm.txt": lambda: render_show(rc.partial_hot_add_leak(),
                                                  steps=range(13, 17), vms=["web"]),
    "show_shrunk_overcommit.txt": lambda: render_show(
        shrink_trace(rc.padded_overcommit(), rc.UNCHECKED_START).trace),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    """The text of ``dynmem show`` is byte-for-byte the pinned text (any change fails)."""
    check_golden(GOLDEN / name, CASES[name]())


def test_the_failing_step_carries_its_blame() -> None:
    """Under the broken clause: the failing parts with values; at the end: the answer."""
    text = render_show(rc.off_with_transaction())
    lines = text.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("    ✗ INV-OFF")))
    assert lines[at + 1].startswith("        ↳ part 3 of 5, when power is off: txn is balloon")
    assert "why it failed: INV-OFF (off_vms_own_nothing)" in text
    assert "    for      VM web (clause 'off => owns nothing')" in text


def test_ascii_is_ascii() -> None:
    """``--ascii`` output has no character outside ASCII."""
    render_show(rc.balloon_taken_early(), ascii=True).encode("ascii")


def test_an_ok_trace_has_no_why() -> None:
    text = render_show(tc.weight_contention())
    assert "why it failed" not in text and text.splitlines()[-1].startswith("verdict: ok")


class TestParseSteps:
    @pytest.mark.parametrize(("text", "want"), [("3:5", range(3, 6)), ("7:", range(7, 10)),
                                                (":2", range(0, 3)), ("4", range(4, 5))])
    def test_ranges(self, text: str, want: range) -> None:
        assert show.parse_steps(text, 9) == want

    @pytest.mark.parametrize("text", ["5:3", "3:99", "a:b", "-1", ""])
    def test_bad(self, text: str) -> None:
        with pytest.raises(show.InputError, match="--steps"):
            show.parse_steps(text, 9)


def test_doctests() -> None:
    assert doctest.testmod(show).failed == 0


# --- the command line ---------------------------------------------------------------------------


def _write(tmp_path: Path, trace: Trace, name: str = "t.itf.json") -> Path:
    path = tmp_path / name
    write_itf(trace, path)
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _shown(trace: Trace, **options: Any) -> str:
    """What ``dynmem show`` prints for ``trace`` read back from a file: the re-checked trace
    (a planted bug's steps, which the reference does not take, are TRACE-STEP findings), then
    a line per difference from the file's own findings."""
    checked, check = rechecked(trace)
    return render_show(checked, **options) + "".join(f"re-check: {s}\n"
                                                     for s in check.sentences())


class TestCommand:
    def test_violation_exits_1(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = _write(tmp_path, tc.planted_overcommit())
        code, out, _ = _run(capsys, "show", str(path))
        assert code == 1 and out == _shown(tc.planted_overcommit())

    def test_ok_exits_0(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = _run(capsys, "show", str(_write(tmp_path, tc.static_host_full())))
        assert code == 0 and "verdict: ok" in out

    def test_options(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--full, --steps, --vm and --ascii reach the renderer."""
        trace = rc.partial_hot_add_leak()
        path = _write(tmp_path, trace)
        code, out, _ = _run(capsys, "show", str(path), "--steps", "13:16", "--vm", "web",
                            "--full", "--ascii")
        assert code == 1
        assert out == _shown(trace, full=True, steps=range(13, 17), vms=["web"], ascii=True)

    def test_plot_and_html(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = _write(tmp_path, tc.planted_overcommit())
        plot, page = tmp_path / "t.svg", tmp_path / "t.html"
        code, _, _ = _run(capsys, "show", str(path), "--plot", str(plot), "--html", str(page))
        assert code == 1
        assert b"INV-PHYSICAL" in plot.read_bytes() and "vm4" in page.read_text("utf-8")

    def test_plot_and_html_honour_steps_and_vm(self, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
        """--steps and --vm narrow the page's table and the timeline (its title says so)."""
        trace = rc.partial_hot_add_leak()
        path = _write(tmp_path, trace)
        plot, page = tmp_path / "t.svg", tmp_path / "t.html"
        code, _, _ = _run(capsys, "show", str(path), "--steps", "13:16", "--vm", "web",
                          "--plot", str(plot), "--html", str(page))
        assert code == 1
        html = page.read_text("utf-8")
        assert "<th>web</th>" in html and "<th>db</th>" not in html
        assert "Showing steps 13..16 of 0..21 and VMs web of 2." in html
        rows = [int(n) for n in re.findall(r'<td class="num">(\d+)</td><td class="event">', html)]
        assert rows == [13, 14, 15, 16]
        svg = plot.read_text("utf-8")
        assert "showing 13..16" in svg and ">web (INV-CONSERVATION)<" in svg and ">db<" not in svg

    @pytest.mark.parametrize(("mutate", "message"), [
        (lambda d: d["states"][2].__setitem__("free_mib", 5),
         "t.itf.json: states[2].free_mib = 5: integers are written"),
        (lambda d: d["states"][1].__setitem__("mbt::actionTaken", "strat"),
         "t.itf.json: states[1].mbt::actionTaken = 'strat': unknown event kind (did you mean "
         "'start'?)"),
        (lambda d: d.pop("states"), "t.itf.json: states = None: must be a JSON array"),
    ])
    def test_bad_trace_names_file_and_path(self, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           mutate: Callable[[dict[str, object]], object],
                                           message: str) -> None:
        """Bad input: exit 2 and one line naming the file and the JSON path, no traceback."""
        path = _write(tmp_path, tc.planted_overcommit())
        data = json.loads(path.read_text("utf-8"))
        mutate(data)
        path.write_text(json.dumps(data), "utf-8")
        code, out, err = _run(capsys, "show", str(path))
        assert code == 2 and out == ""
        assert message in err and "Traceback" not in err

    @pytest.mark.parametrize(("argv", "message"), [
        (["missing.itf.json"], "missing.itf.json: cannot read"),
        (["{t}", "--steps", "2:99"], "--steps: '2:99': must lie within the trace's steps 0..5"),
        (["{t}", "--vm", "nope"], "--vm: 'nope': no such VM in the trace; known: vm1"),
        (["{t}", "--plot", "x.jpg"], "x.jpg: the plot must be a .png or .svg file"),
    ])
    def test_bad_arguments(self, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           argv: list[str], message: str) -> None:
        path = _write(tmp_path, tc.planted_overcommit())
        monkey = [str(path) if a == "{t}" else str(tmp_path / a) if a.endswith("json") else a
                  for a in argv]
        code, _, err = _run(capsys, "show", *monkey)
        assert code == 2 and message in err

    def test_not_json(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        path = tmp_path / "t.itf.json"
        path.write_text("{\n  nope", "utf-8")
        code, _, err = _run(capsys, "show", str(path))
        assert code == 2 and "t.itf.json: malformed JSON at line 2, column 3" in err
