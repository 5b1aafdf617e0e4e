"""Moving work to where it runs: local slots, Celery workers, or inline for tests.

Every dispatcher fills in one method, `dispatch(job_id)`: "this job is waiting".
Dispatch only moves work; losing a message loses nothing, since the claim is a
compare-and-set on the job row, workers go on claiming while a job can start, and a
sweep re-sends what is provably lost (store/sends.py).
"""
