"""Persistence: tables, repositories (the only code that writes), and blobs."""
