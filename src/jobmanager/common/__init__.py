"""What every layer may use, importing nothing of the project: streams in chunks, the
home folder, log lines, background loops, this process's own metrics."""
