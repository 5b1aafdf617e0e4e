"""Credentials and tokens: secret hashing, the RS256 signing keys, JWT issue and verify."""
