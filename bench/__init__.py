"""Benchmarks of the Kanava services (run by hand, never by the test suite)."""
