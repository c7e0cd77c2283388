"""dynmem.model: the abstract Dynamic Memory system, written once for Python and for Z3.

The vocabulary and quantities (``vocabulary.py``, ``quantities.py``), the shapes definitions
read (``shapes.py``: ``VmLike``, a symbolic or a concrete VM), the operator layer that reads
both as Python values and as Z3 terms (``ops.py``), the state (``state.py``), the
invariant registry (``invariants.py``: ``INVARIANTS``, ``check_state``, ``check_step``), the
actions as guard + update + frame (``fields.py``, ``actions.py``; ``instances.py`` evaluates
one at a step), read two ways: symbolically (``symbolic_ops.py``, ``symbolic_steps.py``) and
concretely (``concrete_steps.py``: ``is_allowed``), what a definition depends on
(``dependence.py``: does an action read or write free memory), and the any-N decomposition
(``decomposition.py``). This face loads nothing: import the module you need. Only the
symbolic ones (``symbolic_ops``, ``state``, ``symbolic_steps``, ``decomposition``) load Z3.
"""

__all__: list[str] = []
