"""dynmem.model: the abstract Dynamic Memory system, written once for Python and for Z3."""
