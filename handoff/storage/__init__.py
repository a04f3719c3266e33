"""Storage: the database object and one repository per aggregate (SQL lives only here; the
update journal is the transport's own, in ``bot/journal.py``)."""

from handoff.storage.database import Database
from handoff.storage.store import Store

__all__ = ["Database", "Store"]
