"""What a process starts from: its settings (read once) and what it opens with them
(database, store, blob store, keys)."""
