"""Cursor pagination: stable under inserts, cheap on large tables (no OFFSET scans)."""

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Newest first by UUIDv7 id, which is time-ordered."""

    ordering: str | tuple[str, ...] = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
