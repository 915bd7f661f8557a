"""Alembic migrations: env.py, the revisions under versions/, and the DDL they share."""
