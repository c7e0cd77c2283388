"""dynmem.verification: proofs, model checking, testing engines, traces and the CLI."""
