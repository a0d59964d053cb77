"""Persistence with SQLAlchemy 2 (Core for the journal and batches) and Alembic migrations."""
