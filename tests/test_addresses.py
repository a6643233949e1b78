"""Addresses built once and filled per row are the very addresses url_for writes."""

import pytest
from flask import url_for

from portal.addresses import AddressPattern, absolute_url


@pytest.mark.parametrize("token", ["plain-Token_09", "with space/slash?and#é", "987654301"])
def test_a_pattern_fills_in_what_url_for_writes(app, token):
    with app.test_request_context("/"):
        metrics = AddressPattern("staff.account_metrics", "creator_id", "account_id")
        link = AddressPattern("linking.link_page", "token", absolute=True)
        for creator_id, account_id in ((1, 2), (45, 987654302), (10_000, 7)):
            expected = url_for("staff.account_metrics", creator_id=creator_id, account_id=account_id)
            assert metrics(creator_id, account_id) == expected
        assert link(token) == absolute_url("linking.link_page", token=token)
        assert link(token).startswith(("http://", "https://"))


@pytest.mark.parametrize(
    ("endpoint", "fixed"),
    [
        ("staff.overview", {"campaign": 12, "status": "not_linked"}),
        ("staff.overview", {"campaign": None, "status": None}),  # url_for leaves these out
        ("staff.campaign_detail", {"campaign_id": 3}),
    ],
)
def test_a_pattern_with_query_holes_writes_a_roster_heading_or_pager_as_url_for_does(app, endpoint, fixed):
    with app.test_request_context("/"):
        heading = AddressPattern(endpoint, "sort", "order", **fixed)
        pager = AddressPattern(endpoint, "sort", "order", "page", **fixed)
        for key in ("creator", "followers_change", "views"):
            for order in ("asc", "desc"):
                assert heading(key, order) == url_for(endpoint, sort=key, order=order, **fixed)
                assert pager(key, order, 7) == url_for(endpoint, sort=key, order=order, page=7, **fixed)


def test_a_pattern_keeps_percent_signs_of_its_fixed_part_and_wants_every_hole(app):
    with app.test_request_context("/"):
        # A fixed value quoted by url_for carries "%" signs of its own, which filling must leave be.
        fixed = {"q": "50% off/é"}
        pattern = AddressPattern("staff.creator_list", "page", **fixed)
        assert "%25" in pattern(2)
        assert pattern(2) == url_for("staff.creator_list", page=2, **fixed)
        assert pattern.fill("last") == url_for("staff.creator_list", page="last", **fixed)
        with pytest.raises(TypeError):
            pattern(1, 2)
        with pytest.raises(TypeError):
            pattern()
