"""The service's store: SQLAlchemy tables, repository functions and Alembic migrations.

SQLite (WAL) under ``$FEEDGUARD_HOME`` by default, PostgreSQL by URL. The review page
(issue 6) builds on the same tables and adds its own migrations under ``migrations/versions``.
"""

from serve.store.db import Store, normalize_url
from serve.store.tables import Base, Post, Report, ReviewItem, UserPreference

__all__ = ["Base", "Post", "Report", "ReviewItem", "Store", "UserPreference", "normalize_url"]
