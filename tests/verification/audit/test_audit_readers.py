"""The three readers: round trips of the samples, and one clear line for each bad input."""

from __future__ import annotations

import io
import json
from fractions import Fraction
from pathlib import Path

import pytest
from audit_cases import HOSTS, MIB, run_cli, write_pdh

from dynmem.verification.audit.observations import VmObs
from dynmem.verification.audit.pdh import PdhLayout, iter_pdh
from dynmem.verification.audit.qmp import QmpStats, iter_qmp
from dynmem.verification.audit.snapshot import read_snapshot, read_snapshot_text
from dynmem.verification.errors import InputError


def _pdh(text: str, name: str = "x.csv") -> list[object]:
    return list(iter_pdh(io.StringIO(text, newline=""), name))


def _qmp(text: str) -> list[object]:
    return list(iter_qmp(io.StringIO(text), "vm.jsonl", "vm", QmpStats()))


class TestSnapshot:
    def test_figure_2_round_trip(self) -> None:
        """The figure-2 sample reads back its MiB values, state and status."""
        snap = read_snapshot(str(HOSTS / "fig2-get-vm.json"))
        configs = {c.name: c for c in snap.configs}
        assert configs["Hyper-V.nu"].startup_mib == 2048
        assert configs["Hyper-V.nu"].maximum_mib == 65536
        assert not configs["Exchange"].dynamic
        assert snap.sample is not None
        obs = dict(snap.sample.vms)["Hyper-V.nu"]
        assert obs == VmObs(assigned_mib=2048, demand_mib=1085, status="OK", running=True)
        assert snap.unknown_fields == ()

    def test_single_object_and_array_read_the_same(self) -> None:
        """ConvertTo-Json writes one object or an array: both read alike."""
        array = json.loads((HOSTS / "fig2-get-vmmemory.json").read_text())
        one = read_snapshot_text(json.dumps(array[0]), "one.json")
        many = read_snapshot_text(json.dumps(array[:1]), "many.json")
        assert [c.startup_mib for c in one.configs] == [c.startup_mib for c in many.configs]
        assert one.configs[0].buffer_pct == 20 and one.configs[0].weight == 5000

    def test_host_capacity(self) -> None:
        """Get-VMHost MemoryCapacity gives the physical MiB."""
        assert read_snapshot(str(HOSTS / "host-get-vmhost.json")).physical_mib == 32768

    def test_unknown_property_is_reported_with_a_suggestion(self) -> None:
        """A property the audit does not know is listed, with a did-you-mean."""
        obj = {"VMName": "a", "DynamicMemoryEnabled": True, "Startup": 512 * MIB,
               "Maximum": 1024 * MIB, "Buffer": 20, "Prority": 50}
        snap = read_snapshot_text(json.dumps(obj), "s.json")
        assert snap.unknown_fields == ("s.json: $.Prority: unknown property "
                                       "(did you mean 'Priority'?)",)

    @pytest.mark.parametrize(("change", "expected"), [
        ({"MemoryStartup": 2048 * MIB + 1}, "$.MemoryStartup = 2147483649: is not a whole MiB"),
        ({"MemoryStartup": None}, "$.MemoryStartup = None: is required"),
        ({"MemoryAssigned": "2 GB"}, "$.MemoryAssigned = '2 GB': must be an integer"),
        ({"State": 77}, "$.State = 77: must be a VMState"),
        ({"MemoryStatus": "Bad"}, "$.MemoryStatus = 'Bad': must be one of"),
        ({"DynamicMemoryEnabled": 1}, "$.DynamicMemoryEnabled = 1: must be true or false"),
        ({"MemoryStatus": "x" * 200}, "xxxx…: must be one of"),
    ])
    def test_bad_get_vm_values(self, change: dict[str, object], expected: str) -> None:
        """Each bad Get-VM value is one line naming the field and the value."""
        obj = json.loads((HOSTS / "fig2-get-vm.json").read_text())[0]
        obj.update(change)
        with pytest.raises(InputError) as err:
            read_snapshot_text(json.dumps(obj), "s.json")
        assert expected in str(err.value) and "\n" not in str(err.value)
        assert len(repr(err.value.value)) <= 80

    @pytest.mark.parametrize(("text", "expected"), [
        ("{\"a\": 1,", "s.json: malformed JSON at line 1, column 9: Expecting"),
        ("{\"Startup\": 1, \"Startup\": 2}", "duplicate key 'Startup'"),
        ("[1]", "s.json: [0] = 1: must be a JSON object"),
        ("{\"Foo\": 1}", "is not a Get-VM, Get-VMMemory or Get-VMHost object"),
        ("{\"VMName\": \"a\", \"DynamicMemoryEnabled\": true, \"Startup\": 1048576, "
         "\"Maximum\": 1048576, \"Buffer\": 4}", "$.Buffer = 4: must be 5..2000"),
    ])
    def test_bad_documents(self, text: str, expected: str) -> None:
        """Malformed, duplicated, foreign and out-of-range documents are bad input."""
        with pytest.raises(InputError, match=None) as err:
            read_snapshot_text(text, "s.json")
        assert expected in str(err.value)

    def test_settings_that_disagree_are_bad_input(self, tmp_path: Path) -> None:
        """Get-VM and Get-VMMemory must agree on a VM's startup."""
        vm = json.loads((HOSTS / "fig2-get-vm.json").read_text())
        mem = json.loads((HOSTS / "fig2-get-vmmemory.json").read_text())
        mem[0]["Startup"] = 1024 * MIB
        (tmp_path / "a.json").write_text(json.dumps(vm))
        (tmp_path / "b.json").write_text(json.dumps(mem))
        code, out, err = run_cli([str(tmp_path / "a.json"), str(tmp_path / "b.json")])
        assert code == 2 and out == ""
        assert "startup_mib = 1024: disagrees with 2048" in err and err.count("\n") == 1


class TestPdh:
    def test_round_trip(self, tmp_path: Path) -> None:
        """Values written as PDH writes them read back exactly; a space is not observed."""
        path = write_pdh(tmp_path / "a.csv", ["web"], [
            {"web": ["2048", "2048.000000", "0", "0", "52"]},
            {"web": ["2050", " ", "2", "0", "51,5"]},
        ])
        items = _pdh(path.read_text(), "a.csv")
        assert isinstance(items[0], PdhLayout) and items[0].vms == ("web",)
        first, second = (dict(s.vms)["web"] for s in items[1:])  # type: ignore[attr-defined]
        assert first == VmObs(assigned_mib=2048, visible_mib=2048, added_mib=0, removed_mib=0,
                              pressure=52)
        assert second.visible_mib is None and second.pressure == Fraction(103, 2)
        assert items[2].time_us - items[1].time_us == 1_000_000  # type: ignore[attr-defined]

    def test_example_series_reads_every_row(self) -> None:
        """The documented sample has 300 rows of 3 VMs and a balancer."""
        items = _pdh((HOSTS / "day-ok.csv").read_text())
        assert len(items) == 301 and items[0].vms == ("vm00", "vm01", "vm02")  # type: ignore

    def test_bias_converts_local_time_to_utc(self) -> None:
        """The header's bias (minutes) is added to the local time."""
        text = ('"(PDH-CSV 4.0) (Pacific Standard Time)(480)","\\\\H\\' +
                'Hyper-V Dynamic Memory VM(a)\\Physical Memory"\n"01/01/1970 00:00:00.000","2"\n')
        assert _pdh(text)[1].time_us == 480 * 60 * 1_000_000  # type: ignore[attr-defined]

    def test_unused_object_is_reported(self) -> None:
        """A counter of another object is reported, not silently dropped."""
        text = ('"(PDH-CSV 4.0) (UTC)(0)","\\\\H\\Memory\\Available MBytes"\n'
                '"01/01/2026 00:00:00.000","100"\n')
        layout = _pdh(text)[0]
        assert isinstance(layout, PdhLayout)
        assert layout.unknown_fields == ("x.csv: line 1, column 2: \\\\H\\Memory\\Available "
                                         "MBytes: counter not used by the audit",)

    @pytest.mark.parametrize(("text", "expected"), [
        ("", "x.csv: is empty"),
        ('"Time","\\\\H\\Hyper-V Dynamic Memory VM(a)\\Physical Memory"\n',
         "line 1, column 1 = 'Time': must be '(PDH-CSV 4.0)"),
        ('"(PDH-CSV 4.0) (UTC)(0)","Physical Memory"\n', "must be a counter path"),
        ('"(PDH-CSV 4.0) (UTC)(0)","\\\\H\\Hyper-V Dynamic Memory VM(a)\\Physical Memory",'
         '"\\\\H\\Hyper-V Dynamic Memory VM(a)\\Physical Memory"\n', "appears twice"),
        ('"(PDH-CSV 4.0) (UTC)(0)","\\\\H\\Hyper-V Dynamic Memory VM(a)\\Physical Memory"\n'
         '"2026-01-01 00:00:00","2"\n', "must be a PDH time"),
        ('"(PDH-CSV 4.0) (UTC)(0)","\\\\H\\Hyper-V Dynamic Memory VM(a)\\Physical Memory"\n'
         '"01/01/2026 00:00:00.000","2","3"\n', "has 3 cells; the header has 2"),
        ('"(PDH-CSV 4.0) (UTC)(0)","\\\\H\\Hyper-V Dynamic Memory VM(a)\\Physical Memory"\n'
         '"01/01/2026 00:00:00.000","2048.5"\n', "= '2048.5': must be a whole number of MB"),
        ('"(PDH-CSV 4.0) (UTC)(0)","\\\\H\\Hyper-V Dynamic Memory VM(a)\\Physical Memory"\n'
         '"01/01/2026 00:00:00.000","-2"\n', "= '-2': must be a whole number of MB"),
        ('"(PDH-CSV 4.0) (UTC)(0)","\\\\H\\Hyper-V Dynamic Memory VM(a)\\Current Pressure"\n'
         '"01/01/2026 00:00:00.000","1e2"\n', "must be a percentage"),
        ('"(PDH-CSV 4.0) (UTC)(0)","\\\\H\\Hyper-V Dynamic Memory VM(a)\\Physical Memory"\n'
         '"01/01/2026 00:00:01.000","2"\n"01/01/2026 00:00:00.000","2"\n',
         "line 3, column 1 = '01/01/2026 00:00:00.000': goes back in time"),
    ])
    def test_bad_logs(self, text: str, expected: str) -> None:
        """Each bad log is one line naming the line, the column or counter, and the value."""
        with pytest.raises(InputError) as err:
            _pdh(text)
        assert expected in str(err.value) and "\n" not in str(err.value)


class TestQmp:
    def test_example_round_trip(self) -> None:
        """The documented transcript gives assigned (actual, down) and demand (committed,
        up) with event times; answers take the last event's time."""
        stats = QmpStats()
        with open(HOSTS / "qemu-vm1.qmp.jsonl", encoding="utf-8") as handle:
            samples = list(iter_qmp(handle, "q", "vm1", stats))
        obs = [dict(s.vms)["vm1"] for s in samples]
        assert obs[0].assigned_mib == 2048 and samples[0].time_us == 0
        assert obs[1].demand_mib == 779  # 816640000 bytes = 778.8 MiB, rounded up
        assert [o.assigned_mib for o in obs[2:4]] == [1792, 1536]
        assert samples[2].time_us == 1600295493_012000
        assert stats.targets_mib == [(1600295492_661044, 1536)]
        assert stats.inexact_values == 3 and stats.unknown_fields == []

    @pytest.mark.parametrize(("text", "expected"), [
        ("{oops}\n", "vm.jsonl: line 1, column 2 = '{oops}': malformed JSON"),
        ("[1]\n", "line 1 = [1]: must be a QMP message"),
        ('{"hello": 1}\n', "is not a QMP message"),
        ('{"event": "BALLOON_CHANGE", "data": {"actual": -1}, '
         '"timestamp": {"seconds": 1, "microseconds": 0}}\n',
         "line 1.data.actual = -1: must be a size in bytes"),
        ('{"event": "HV_BALLOON_STATUS_REPORT", "data": {"commited": 1, "available": 1}, '
         '"timestamp": {"seconds": 1, "microseconds": 0}}\n',
         "line 1.data.commited = 1: unknown field; known: committed, available"),
        ('{"event": "BALLOON_CHANGE", "data": {"actual": 1}, '
         '"timestamp": {"seconds": 1, "microseconds": 2000000}}\n', "must be 0..999999"),
        ('{"event": "STOP", "timestamp": {"seconds": 5, "microseconds": 0}}\n'
         '{"event": "STOP", "timestamp": {"seconds": 4, "microseconds": 0}}\n',
         "goes back in time"),
        ('{"execute": "balloon", "arguments": {"value": "1G"}}\n',
         "line 1.arguments.value = '1G': must be a size in bytes"),
    ])
    def test_bad_transcripts(self, text: str, expected: str) -> None:
        """Each bad QMP line is one error naming the line, the field and the value."""
        with pytest.raises(InputError) as err:
            _qmp(text)
        assert expected in str(err.value) and "\n" not in str(err.value)

    def test_unknown_event_is_reported(self) -> None:
        """An event the audit does not use is listed."""
        stats = QmpStats()
        list(iter_qmp(io.StringIO('{"event": "DEVICE_DELETED", "data": {}, "timestamp": '
                                  '{"seconds": 1, "microseconds": 0}}\n'), "q", "v", stats))
        assert stats.unknown_fields == ["q: line 1.event: 'DEVICE_DELETED': event not used"]


@pytest.mark.parametrize("content", ["hello\n", "\xff"])
def test_unreadable_file_is_one_line_exit_2(tmp_path: Path, content: str) -> None:
    """A file that is no known format (or not text) exits 2 with one stderr line."""
    path = tmp_path / "f.txt"
    path.write_bytes(content.encode("latin-1"))
    code, out, err = run_cli([str(path)])
    assert code == 2 and out == "" and err.startswith("dynmem: ") and err.count("\n") == 1


def test_missing_file_is_exit_2(tmp_path: Path) -> None:
    """A missing file is bad input, not a traceback."""
    code, _, err = run_cli([str(tmp_path / "nope.csv")])
    assert code == 2 and "cannot read the file" in err
