"""The store: the results database. SQLAlchemy, never torch.

`db` opens engines and sessions, `tables` declares the schema, `migrate` and `migrations/`
evolve it, `jobs` holds the job state transitions and the worker registry, `write` writes
jobs and results, `read` and `details` read them back, and the rest are what people add to
jobs (`annotations`) and what the queue refused (`rejections`).
"""
