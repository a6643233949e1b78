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
