"""The rulebench worker harness (runs inside the Python worker process)."""
