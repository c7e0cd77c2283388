"""How an audit is shown: readable text, one JSON document, an HTML page, a PNG plot.

One summary (:func:`summarize`) feeds every output, so the text, the JSON and the HTML say
the same thing. Files are written atomically; matplotlib is imported only for ``--plot``.
"""

from __future__ import annotations

import html
import io
from typing import Any

from dynmem.verification.atomic import write_atomic
from dynmem.verification.audit.run import AuditResult, StreamResult


def _stream_json(s: StreamResult) -> dict[str, Any]:
    return {"source": s.source, "kind": s.kind, "samples": s.samples,
            "first_us": s.first_us, "last_us": s.last_us,
            "findings_total": sum(s.counts.values()),
            "by_clause": [{"invariant": k[0], "clause": k[1], "count": n}
                          for k, n in sorted(s.counts.items())],
            "findings": [{"invariant": f.invariant, "clause": f.clause, "vm": f.vm,
                          "time_us": f.time_us, "where": f.where, "message": f.message}
                         for f in s.findings],
            "z3": [{"verdict": e.verdict, "first": e.first, "last": e.last,
                    "samples": e.samples, "core": list(e.core), "reason": e.reason}
                   for e in s.explanations],
            "disagreements": s.disagreements}


def summarize(result: AuditResult) -> dict[str, Any]:
    """The JSON document of ``result`` (specs/audit.md §5.2)."""
    return {"ok": result.ok,
            "host": {"physical_mib": result.host.physical_mib,
                     "reserve_mib": result.host.reserve_mib},
            "vms": {name: {"dynamic": c.dynamic, "startup_mib": c.startup_mib,
                           "minimum_mib": c.minimum_mib, "maximum_mib": c.maximum_mib,
                           "buffer_pct": c.buffer_pct, "weight": c.weight}
                    for name, c in sorted(result.configs.items())},
            "streams": [_stream_json(s) for s in result.streams],
            "advice": [{"code": a.code, "vm": a.vm, "text": a.text, "numbers": dict(a.numbers)}
                       for a in result.advice],
            "unknown_fields": result.unknown_fields, "notes": result.notes}


def render_text(result: AuditResult) -> str:
    """The readable report: per stream the verdict and findings, then the advice."""
    out = io.StringIO()
    host = result.host
    out.write(f"dynmem audit: {len(result.streams)} stream(s), {len(result.configs)} VM "
              f"setting(s); host physical {host.physical_mib} MiB, reserve "
              f"{host.reserve_mib} MiB\n")
    for s in result.streams:
        total = sum(s.counts.values())
        unknown = sum(e.verdict == "unknown" for e in s.explanations)
        verdict = "explained by the model" if not total and not s.disagreements and \
            not unknown else f"{total} finding(s)"
        out.write(f"\n{s.source} ({s.kind}, {s.samples} samples): {verdict}\n")
        for (inv, clause), n in sorted(s.counts.items()):
            out.write(f"  ✗ {inv} ({clause}): {n} sample(s)\n")
        for f in s.findings[:10]:
            out.write(f"    {f.where}: {f.message}\n")
        for e in s.explanations:
            if e.verdict == "explained":
                continue
            out.write(f"  Z3 {e.verdict} window {e.first}..{e.last} ({e.samples} samples)"
                      f"{': ' + e.reason if e.reason else ''}\n")
            for label in e.core[:6]:
                out.write(f"      core: {label}\n")
        checked = sum(e.verdict == "explained" for e in s.explanations)
        if checked:
            out.write(f"  Z3: {checked} window(s) explained by a run of the model\n")
        for d in s.disagreements:
            out.write(f"  DISAGREEMENT: {d}\n")
    out.write("\nadvice:\n" if result.advice else "\nadvice: none\n")
    for a in result.advice:
        out.write(f"  [{a.code}] {a.text}\n")
    for note in result.notes:
        out.write(f"note: {note}\n")
    if result.unknown_fields:
        out.write(f"note: {len(result.unknown_fields)} field(s) not used by the audit:\n")
        for line in result.unknown_fields[:10]:
            out.write(f"  {line}\n")
    verdict = "OK: every sample is explained by the model" if result.ok else "FINDING"
    out.write(f"\nverdict: {verdict}\n")
    return out.getvalue()


def _svg(result: AuditResult, width: int = 900, height: int = 300) -> str:
    lines = []
    series = [(s.source, vm, d.points) for s in result.streams for vm, d in s.series.items()
              if len(d.points) > 1]
    if not series:
        return "<p>(no series to draw)</p>"
    t0 = min(p[0][0] for _, _, p in series)
    t1 = max(p[-1][0] for _, _, p in series) or 1
    top = max(max(q[1] for q in p) for _, _, p in series) or 1
    for i, (_, vm, points) in enumerate(series):
        hue = (i * 47) % 360
        xy = " ".join(f"{(t - t0) * width / max(1, t1 - t0):.1f},"
                      f"{height - a * height / top:.1f}" for t, a, _ in points)
        lines.append(f'<polyline fill="none" stroke="hsl({hue},70%,40%)" points="{xy}">'
                     f"<title>{html.escape(vm)}</title></polyline>")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'style="border:1px solid #ccc">{"".join(lines)}</svg>'
            f"<p>physical memory per VM (0..{top} MiB)</p>")


def write_html(result: AuditResult, path: str) -> None:
    """An HTML page: the series drawn, the findings and the advice."""
    doc = summarize(result)
    rows = "".join(f"<tr><td>{html.escape(a['code'])}</td><td>{html.escape(a['vm'] or 'host')}"
                   f"</td><td>{html.escape(a['text'])}</td></tr>" for a in doc["advice"])
    finds = "".join(f"<tr><td>{html.escape(f['where'])}</td><td>{html.escape(f['invariant'])}"
                    f" ({html.escape(f['clause'])})</td><td>{html.escape(f['message'])}</td>"
                    "</tr>" for s in doc["streams"] for f in s["findings"])
    page = (f"<!doctype html><meta charset='utf-8'><title>dynmem audit</title>"
            f"<h1>dynmem audit: {'OK' if doc['ok'] else 'FINDING'}</h1>{_svg(result)}"
            f"<h2>Findings</h2><table border=1>{finds or '<tr><td>none</td></tr>'}</table>"
            f"<h2>Advice</h2><table border=1>{rows or '<tr><td>none</td></tr>'}</table>")
    write_atomic(path, page)


def write_plot(result: AuditResult, path: str) -> None:
    """A PNG of physical memory and demand per VM, advice codes in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    advice = {a.vm: a.code for a in result.advice if a.vm}
    for s in result.streams:
        for vm, series in s.series.items():
            ts = [(t - (s.first_us or 0)) / 3.6e9 for t, _, _ in series.points]
            label = f"{vm} [{advice[vm]}]" if vm in advice else vm
            ax.plot(ts, [a for _, a, _ in series.points], label=f"{label} assigned")
            demand = [(t, d) for t, (_, _, d) in zip(ts, series.points, strict=True)
                      if d is not None]
            if demand:
                ax.plot([t for t, _ in demand], [d for _, d in demand], linestyle=":",
                        label=f"{vm} demand")
    ax.set_xlabel("hours since the first sample")
    ax.set_ylabel("MiB")
    ax.legend(fontsize="x-small", ncol=2)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    write_atomic(path, buffer.getvalue())
