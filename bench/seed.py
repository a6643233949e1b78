"""Seed a bench database fast: creators with link tokens, handles, and accounts linked to the bench agency."""

import datetime
import secrets

from portal.db import database, utcnow
from portal.models import AccountStatus, Creator, SocialAccount, hash_link_token
from portal.models.insights import AccountMetric
from portal.sandbox import people, tokens

SCOPES = ["pages_show_list", "pages_read_engagement", "instagram_basic", "instagram_manage_insights"]
ROWS_PER_INSERT = 500


def _insert(model, rows):
    for start in range(0, len(rows), ROWS_PER_INSERT):
        model.insert_many(rows[start : start + ROWS_PER_INSERT]).execute()


def page_tokens(app, count):
    """Return long-lived Page tokens of the bench agency's first `count` Pages, as linking stores them."""
    user = people.bench_agency()
    payload = tokens.user_token_payload(
        user, [], [], SCOPES, SCOPES, "long", app.config["FACEBOOK_CLIENT_ID"]
    )
    pages = list(user.roles)[:count]
    return [(people.page(page_id), tokens.page_token_for(payload, page_id)) for page_id in pages]


def seed(app, creators, handles_per_creator=1, linked=0, metric_days=0):
    """Insert `creators` creators with handles; link the first handle of the first `linked` creators.

    Linked accounts read the bench agency's Instagram accounts through their Page tokens, exactly
    as after a helper linked them; metric_days adds that many days of figures to each of them.
    Returns the ids of the linked accounts.
    """
    now = utcnow()
    with database.atomic():
        _insert(
            Creator,
            [
                {
                    "name": f"Bench Creator {index:05d}",
                    "email": f"creator{index}@bench.test",
                    "link_token_hash": hash_link_token(token),
                    "link_token": token,
                    "link_created_at": now,
                }
                for index in range(1, creators + 1)
                for token in [secrets.token_urlsafe(32)]
            ],
        )
        creator_ids = [c.id for c in Creator.select(Creator.id).order_by(Creator.id)]
        linked_pages = page_tokens(app, linked) if linked else []
        rows = []
        for position, creator_id in enumerate(creator_ids):
            for handle in range(handles_per_creator):
                row = {"creator": creator_id, "username": f"bench.handle.{position:05d}.{handle}"}
                if handle == 0 and position < len(linked_pages):
                    page, token = linked_pages[position]
                    account = people.instagram_account(page.instagram)
                    row.update(
                        username=account.username,
                        status=AccountStatus.LINKED,
                        ig_user_id=account.id,
                        page_id=page.id,
                        page_name=page.name,
                        page_token=token,
                        granted_scopes=",".join(SCOPES),
                        linked_by_fb_user_id=people.bench_agency().id,
                        linked_by_name="Bench Agency",
                        linked_at=now,
                        display_name=account.name,
                        followers_count=account.followers_count,
                    )
                rows.append(row)
        _insert(SocialAccount, rows)
        linked_ids = [
            a.id
            for a in SocialAccount.select(SocialAccount.id)
            .where(SocialAccount.status == AccountStatus.LINKED)
            .order_by(SocialAccount.id)
        ]
        if metric_days:
            today = datetime.datetime.combine(now.date(), datetime.time(), tzinfo=datetime.UTC)
            _insert(
                AccountMetric,
                [
                    {
                        "account": account_id,
                        "metric": metric,
                        "end_time": today - datetime.timedelta(days=day),
                        "value": 100 + (account_id * 31 + day * 7) % 900,
                        "fetched_at": now,
                    }
                    for account_id in linked_ids
                    for day in range(metric_days)
                    for metric in ("views", "reach")
                ],
            )
    return linked_ids
