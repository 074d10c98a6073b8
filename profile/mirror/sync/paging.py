"""Where a paginated Trakt list ends: the walks of the history, the ratings and the library."""

from __future__ import annotations

from profile.client.trakt import PAGE_LIMIT, Pagination


def last_page(page: int, read: int, pagination: Pagination) -> bool:
    """Trakt's headers say which page is the last; without them, a short page is."""
    if read == 0:
        return True
    if pagination.page_count is not None:
        return page >= pagination.page_count
    limit = pagination.limit or PAGE_LIMIT
    return read < limit
