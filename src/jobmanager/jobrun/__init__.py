"""Running jobs: a worker claims a job, stages it, runs it in an environment from the
pool, records its events and provenance, saves its outputs."""
