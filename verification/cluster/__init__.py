"""Spreading independent work over a Dask cluster: the same verdicts as the serial run.

``open_client`` starts a local cluster of N worker processes (``--workers N``) or connects
to a running scheduler (``--scheduler ADDRESS``), and closes what it opened on the way out,
Ctrl-C included. ``ordered_map(client)`` is a map for the engines' ``mapper`` parameters
(``check_inductive``, ``run_swarm``): it runs each item on some worker and hands back the
results in the items' order, never in completion order, so the merged report is the serial
one. Dask is imported only when a cluster is asked for (start-up time of the CLI).
"""

from dynmem.verification.cluster.client import open_client
from dynmem.verification.cluster.tasks import ordered_map

__all__ = ["open_client", "ordered_map"]
