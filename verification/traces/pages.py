"""HTML pages from Jinja2 templates (package data under ``templates/``), auto-escaped.

Every value a template shows is escaped unless the template says otherwise (it never does
for text: VM names, an IUT's messages and file names are user input). The templates of a
package that renders pages (``traces``, ``suite``) sit in its ``templates/`` folder; the
shared layout (``base.html.j2``: the CSS, the footer with version, date and machine) is
this package's. Jinja2 is imported when the first page is rendered (start-up time).
"""

from __future__ import annotations

import datetime
import functools
import os
import platform
from typing import Any

import attrs

from dynmem.verification import __version__


@attrs.frozen
class Provenance:
    """Who wrote a page, when and where: shown in its footer (and a report's header)."""

    version: str
    date: str  # ISO 8601, UTC, to the second
    machine: str  # host name, OS, Python, CPU count

    @classmethod
    def now(cls) -> Provenance:
        """This process: dynmem's version, the current UTC time, this machine."""
        when = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        machine = (f"{platform.node() or 'unknown host'}, {platform.system()} "
                   f"{platform.release()} {platform.machine()}, Python "
                   f"{platform.python_version()}, {os.cpu_count() or '?'} CPUs")
        return cls(__version__, when.isoformat().replace("+00:00", "Z"), machine)


@functools.lru_cache(maxsize=4)
def get_environment(package: str) -> Any:
    """The Jinja2 environment for ``package``'s templates (then this package's)."""
    import jinja2  # lazy: start-up time (see the module's docstring)

    loader = jinja2.ChoiceLoader([jinja2.PackageLoader(package, "templates"),
                                  jinja2.PackageLoader(__name__.rsplit(".", 1)[0],
                                                       "templates")])
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render_page(template: str, package: str = __name__.rsplit(".", 1)[0],
                provenance: Provenance | None = None, **context: Any) -> str:
    """The page ``template`` of ``package`` with ``context`` (and the provenance)."""
    made = provenance or Provenance.now()
    return str(get_environment(package).get_template(template).render(provenance=made,
                                                                      **context))


__all__ = ["Provenance", "get_environment", "render_page"]
