"""Test support: real broker and database for the suite, a minimal counting service."""
