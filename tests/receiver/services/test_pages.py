"""`receiver.services.pages.page_of`: a page from ``limit + 1`` rows (pure)."""

from __future__ import annotations

from receiver.services.pages import Page, page_of


def same(x: int) -> int:
    return x


def test_one_row_more_than_the_limit_gives_the_next_cursor() -> None:
    assert page_of([9, 8, 7], 2, same) == Page([9, 8], 8)


def test_a_page_without_its_extra_row_is_the_last() -> None:
    assert page_of([9, 8], 2, same) == Page([9, 8], None)
    assert page_of([9], 2, same) == Page([9], None)
    assert page_of([], 2, same) == Page([], None)
