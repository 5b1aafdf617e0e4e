"""Moving work to where it runs: local slots, Celery workers, or inline for tests.

Every dispatcher fills in one method, `dispatch(job_id)`: "this job is waiting".
Dispatch only moves work; losing a message loses nothing, since the claim is a
compare-and-set on the job row and a sweep re-dispatches jobs left `SUBMITTED`.
"""
