"""Drive another implementation and judge it against the model and the reference.

``check_iut`` runs the whole oracle on a Python object or a command and returns an
``OracleRun`` (its ``report`` is what ``dynmem oracle`` prints). The IUT protocols
(``SystemIut``, ``PolicyIut``) and JSON Lines wire (``open_iut``, ``serve_jsonl``), the judge
(``CaseRunner``, ``run_case``), the generators and the search that shrinks a failure
(``search``), the report (``write_report``), ``check-trace`` for recorded logs
(``check_log``; ``format_log`` writes one) and the conformance vectors (``write_vectors``).
The page-level wire (``"wire": 2``, specs/formats/oracle.md §9): ``check_page_iut`` /
``check_pages``, ``ReferencePageHost``, and page logs (``check_page_log``,
``format_page_log``).
"""

from dynmem.verification.oracle.check import OracleRun, check_iut, check_page_iut
from dynmem.verification.oracle.checktrace import check_log
from dynmem.verification.oracle.iut import PolicyIut, SystemIut
from dynmem.verification.oracle.judge import CaseRunner, run_case
from dynmem.verification.oracle.logwriter import format_log
from dynmem.verification.oracle.pagelog import check_page_log, format_page_log
from dynmem.verification.oracle.pagesession import PageRun, check_pages
from dynmem.verification.oracle.reference_iut import ReferencePolicy, ReferenceSystem
from dynmem.verification.oracle.reference_page_host import ReferencePageHost
from dynmem.verification.oracle.report import write_report
from dynmem.verification.oracle.search import SearchResult, search
from dynmem.verification.oracle.vectors import write_vectors
from dynmem.verification.oracle.wire import open_iut, serve_jsonl

__all__ = [
    "CaseRunner", "OracleRun", "PageRun", "PolicyIut", "ReferencePageHost", "ReferencePolicy",
    "ReferenceSystem", "SearchResult", "SystemIut", "check_iut", "check_log", "check_page_iut",
    "check_page_log", "check_pages", "format_log", "format_page_log", "open_iut", "run_case",
    "search", "serve_jsonl", "write_report", "write_vectors",
]
