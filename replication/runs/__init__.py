"""How runs are configured (protocols), stored and resumed (results, ledger), scheduled (engine), set up (runtime)
and staged (stages shared by experiments); spread: how far results move with threads and determinism."""
