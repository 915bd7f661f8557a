"""The engine: one spec in, one typed result out. torch, no database, no queue, no UI.

`run` is the entry point; `result` holds the typed records it returns (pydantic only, so
that the store and the dashboard read them without torch).
"""
