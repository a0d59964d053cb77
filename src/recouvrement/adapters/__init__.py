"""Thin edges: web, API, CLI, database, files and documents. No business rule lives here."""
