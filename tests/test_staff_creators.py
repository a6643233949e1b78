import datetime
import re

import pytest

from portal.db import utcnow
from portal.models import AccountStatus, Creator, LedgerEntry, SocialAccount

HX = {"HX-Request": "true"}


def post(client, path, data=None, htmx=False):
    headers = {"X-CSRFToken": client.csrf_token, **(HX if htmx else {})}
    return client.post(path, data=data or {}, headers=headers)


def test_creator_list_searches_by_name_or_handle(admin_client, creator):
    Creator.create(name="Marco Rossi")
    page = admin_client.get("/creators?q=ava.CREATES").get_data(as_text=True)
    assert "Ava Chen" in page and "Marco Rossi" not in page
    assert "No creator matches" in admin_client.get("/creators?q=zzz").get_data(as_text=True)


def test_creator_list_serves_a_page_or_the_results_fragment(admin_client, creator):
    full = admin_client.get("/creators")
    fragment = admin_client.get("/creators?q=ava", headers=HX)
    assert "<html" in full.get_data(as_text=True)
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<section id="creator-results"')
    assert "Ava Chen" in body
    assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in full.headers["Vary"]


def test_creator_list_pages(admin_client):
    for index in range(45):
        Creator.create(name=f"Creator {index:02d}")
    second = admin_client.get("/creators?page=2").get_data(as_text=True)
    assert names_listed(second) == [f"Creator {index}" for index in range(20, 40)]
    assert "Page 2" in second and 'href="/creators?page=3" rel="next"' in second
    assert 'href="/creators?page=1" rel="prev"' in second
    last = admin_client.get("/creators?page=3").get_data(as_text=True)
    assert names_listed(last)[-1] == "Creator 44" and 'rel="next"' not in last and 'rel="prev"' in last
    # The pager counts nothing; the funnel still says how many there are.
    assert funnel_of(last)["All"] == 45
    assert "Creator 00" in admin_client.get("/creators?page=abc").get_data(as_text=True)


def test_creator_list_has_no_next_page_when_the_last_one_is_full(admin_client):
    for index in range(40):
        Creator.create(name=f"Creator {index:02d}")
    second = admin_client.get("/creators?page=2").get_data(as_text=True)
    assert names_listed(second)[-1] == "Creator 39" and 'rel="next"' not in second


def test_creator_list_past_the_last_page_says_so_and_links_the_first(admin_client):
    Creator.create(name="Ava Chen")
    past = admin_client.get("/creators?q=ava&page=7").get_data(as_text=True)
    assert names_listed(past) == [] and "No creators on page 7." in past
    assert 'href="/creators?q=ava">Go to the first page</a>' in past


def test_create_creator_issues_a_link_and_opens_the_accounts_tab(admin_client):
    response = post(admin_client, "/creators/new", {"name": " Jamie Rivera ", "email": "jamie@example.com"})
    creator = Creator.get(Creator.name == "Jamie Rivera")
    assert response.status_code == 302
    assert response.location.endswith(f"/creators/{creator.id}/accounts")
    assert creator.link_token_hash and creator.link_token


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "", "email": ""}, "Enter the creator&#39;s name."),
        ({"name": "Jo", "email": "nope"}, "Enter an email"),
    ],
)
def test_bad_creator_form_explains_and_keeps_what_was_typed(admin_client, data, message):
    response = post(admin_client, "/creators/new", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert f'value="{data["email"]}"' in page or not data["email"]
    assert Creator.select().count() == 0


def test_new_creator_form_asks_for_instagram_handles(admin_client):
    page = admin_client.get("/creators/new").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*name="handles"', page) and "Instagram handles" in page


def test_create_creator_with_handles_lists_each_once_and_records_them(admin_client):
    typed = (
        "https://www.instagram.com/Jamie.R/\n@jamie_r, jamie.travels ,\n\n@JAMIE.R\r\n"
        "instagram.com/jamie.travels"
    )
    response = post(admin_client, "/creators/new", {"name": "Jamie Rivera", "handles": typed})
    creator = Creator.get(Creator.name == "Jamie Rivera")
    assert response.status_code == 302 and response.location.endswith(f"/creators/{creator.id}/accounts")
    usernames = ["jamie.r", "jamie_r", "jamie.travels"]
    assert sorted(a.username for a in creator.accounts()) == sorted(usernames)
    assert all(a.status == AccountStatus.UNLINKED for a in creator.accounts())
    assert creator.link_token_hash  # ready to invite
    added = LedgerEntry.select().where(LedgerEntry.action == "account_added").order_by(LedgerEntry.id)
    assert [(e.creator_id, e.detail_items["username"]) for e in added] == [(creator.id, u) for u in usernames]
    assert [e.account_id for e in added] == [
        SocialAccount.get(SocialAccount.username == u).id for u in usernames
    ]
    tab = admin_client.get(response.location).get_data(as_text=True)
    assert "Jamie Rivera was added with 3 Instagram handles." in tab


def test_refused_handles_are_reported_by_line_and_nothing_is_saved(admin_client):
    typed = "jamie.r\nava creates!\n\n, instagram.com/p/abc123/ , jamie.r\n@jamie..x"
    data = {"name": "Jamie Rivera", "email": "jamie@example.com", "handles": typed}
    response = post(admin_client, "/creators/new", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(r'<p class="field-error" id="handles-error">(.*?)</p>', page, re.S).group(1)
    assert error == (
        "Line 2 (“ava creates!”): Instagram usernames use only letters, numbers, periods and underscores. "
        "Line 4 (“instagram.com/p/abc123/”): That is a link to a post or page, not to a profile. "
        "Line 5 (“@jamie..x”): Instagram usernames cannot have two periods in a row."
    )
    assert "Line 1" not in page
    textarea = re.search(r'<textarea[^>]*name="handles"[^>]*>(.*?)</textarea>', page, re.S)
    assert 'aria-invalid="true"' in textarea.group(0) and textarea.group(1).strip() == typed
    assert 'value="Jamie Rivera"' in page and 'value="jamie@example.com"' in page
    assert Creator.select().count() == 0 and SocialAccount.select().count() == 0
    assert LedgerEntry.select().where(LedgerEntry.action != "signed_in").count() == 0


def test_edit_creator(admin_client, creator):
    response = post(admin_client, f"/creators/{creator.id}/edit", {"name": "Ava C.", "email": ""})
    assert response.status_code == 302
    again = Creator.get_by_id(creator.id)
    assert again.name == "Ava C." and again.email is None


def test_edit_form_leaves_handles_to_the_accounts_tab(admin_client, creator):
    assert 'name="handles"' not in admin_client.get(f"/creators/{creator.id}/edit").get_data(as_text=True)
    data = {"name": "Ava Chen", "email": "", "handles": "ava.travels"}
    assert post(admin_client, f"/creators/{creator.id}/edit", data).status_code == 302
    assert [a.username for a in creator.accounts()] == ["ava.creates"]


def test_unknown_creator_is_404(admin_client):
    assert admin_client.get("/creators/999").status_code == 404
    assert post(admin_client, "/creators/999/accounts", {"handle": "x"}).status_code == 404


def test_profile_tabs_serve_a_page_or_the_tab_body(admin_client, creator):
    for path in (f"/creators/{creator.id}", f"/creators/{creator.id}/accounts"):
        full = admin_client.get(path).get_data(as_text=True)
        swap = admin_client.get(path, headers=HX).get_data(as_text=True)
        assert "<html" in full and "Actions" in full and "Link Accounts Page" in full
        assert "<html" not in swap and swap.lstrip().startswith('<div id="creator-body">')
        assert 'aria-current="page"' in swap


def test_adding_a_handle_swaps_in_the_account_list(admin_client, creator):
    response = post(
        admin_client,
        f"/creators/{creator.id}/accounts",
        {"handle": "https://instagram.com/Ava.Travels/"},
        True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="account-list"') and "<html" not in body
    assert "@ava.travels" in body and "@ava.creates" in body
    assert [a.username for a in creator.accounts()] == ["ava.creates", "ava.travels"]


def test_adding_a_handle_without_htmx_redirects_to_the_tab(admin_client, creator):
    response = post(admin_client, f"/creators/{creator.id}/accounts", {"handle": "@ava.travels"})
    assert response.status_code == 302 and response.location.endswith(f"/creators/{creator.id}/accounts")


@pytest.mark.parametrize(
    "typed, message",
    [
        ("ava creates!", "only letters, numbers, periods and underscores"),
        ("a" * 31, "at most 30 characters"),
        ("@ava.creates", "already listed for this creator"),
        ("", "Enter an Instagram username"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_refused_handle_is_explained_beside_the_field_and_kept(admin_client, creator, typed, message, htmx):
    response = post(admin_client, f"/creators/{creator.id}/accounts", {"handle": typed}, htmx)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body
    field = re.search(r'<input[^>]*name="handle"[^>]*>', body).group(0)
    assert f'value="{typed}"' in field or (not typed and 'value=""' in field)
    assert 'aria-invalid="true"' in field and "handle-error" in field
    assert ("<html" in body) is (not htmx)
    assert [a.username for a in creator.accounts()] == ["ava.creates"]


def test_removing_a_handle_swaps_in_the_shorter_list(admin_client, creator):
    account = creator.accounts().get()
    response = post(admin_client, f"/creators/{creator.id}/accounts/{account.id}/delete", htmx=True)
    assert response.status_code == 200
    assert "No Instagram accounts yet" in response.get_data(as_text=True)
    assert SocialAccount.select().count() == 0


def test_a_linked_account_cannot_be_removed_from_under_its_authorization(admin_client, creator):
    account = creator.accounts().get()
    SocialAccount.update(status=AccountStatus.LINKED).where(SocialAccount.id == account.id).execute()
    response = post(admin_client, f"/creators/{creator.id}/accounts/{account.id}/delete", htmx=True)
    assert response.status_code == 409
    assert "unlink it first" in response.get_data(as_text=True)
    assert SocialAccount.select().count() == 1


def test_an_account_of_another_creator_cannot_be_removed_through_this_one(admin_client, creator):
    other = Creator.create(name="Marco")
    account = creator.accounts().get()
    assert post(admin_client, f"/creators/{other.id}/accounts/{account.id}/delete").status_code == 404
    assert SocialAccount.select().count() == 1


def test_link_accounts_panel_shows_link_invitation_and_mailto(admin_client, creator):
    page = admin_client.get(f"/creators/{creator.id}/link-accounts").get_data(as_text=True)
    link = f"http://localhost/link/{creator.raw_link_token}"
    assert f'value="{link}"' in page
    invitation = re.search(r'<textarea id="invitation-text"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert invitation.startswith("Welcome, Ava Chen!") and link in invitation and "Acme Talent" in invitation
    mailto = re.search(r'href="(mailto:[^"]+)"', page).group(1)
    assert mailto.startswith("mailto:ava@creators.test?subject=Link%20your%20Instagram")
    assert "Copy invitation" in page and "Copy link" in page


def test_invitation_escapes_a_creator_name_with_markup(admin_client):
    creator = Creator.create(name="<b>x</b>")
    creator.issue_link_token()
    page = admin_client.get(f"/creators/{creator.id}/link-accounts").get_data(as_text=True)
    assert "<b>x</b>" not in page
    assert "Welcome, &lt;b&gt;x&lt;/b&gt;!" in page


def test_issuing_a_new_link_replaces_the_old_one_at_once(admin_client, creator):
    old = creator.raw_link_token
    response = post(admin_client, f"/creators/{creator.id}/link-token", htmx=True)
    body = response.get_data(as_text=True)
    new = Creator.get_by_id(creator.id).link_token
    assert response.status_code == 200 and body.lstrip().startswith(
        '<section class="panel" id="link-accounts"'
    )
    assert "old link no longer works" in body and new in body and old not in body
    assert admin_client.get(f"/link/{old}").status_code == 404
    assert admin_client.get(f"/link/{new}").status_code == 200


def funnel_of(page):
    """Return {stage label: count} as the creators list's funnel shows them."""
    nav = re.search(r'<nav class="funnel".*?</nav>', page, re.S).group(0)
    found = re.findall(r'>([^<>]+?) <span class="count">(\d+)</span></a>', nav)
    return {label.strip(): int(count) for label, count in found}


def names_listed(page):
    return re.findall(r'<td><a href="/creators/\d+">([^<]+)</a></td>', page)


def test_creator_list_counts_each_stage_and_filters_by_one(admin_client, creator):
    Creator.create(name="Ines Invited", invited_at=utcnow())
    Creator.create(name="Otto Opened", page_first_opened_at=utcnow())
    broken = Creator.create(name="Bea Broken")
    SocialAccount.create(creator=broken, username="bea", status=AccountStatus.LINK_BROKEN)
    page = admin_client.get("/creators").get_data(as_text=True)
    assert funnel_of(page) == {
        "All": 4,
        "Not invited": 1,
        "Invited": 1,
        "Page opened": 1,
        "Linked or verified": 0,
        "Access ending": 0,
        "Link broken": 1,
    }
    assert re.search(
        r"Ava Chen</a></td>.*?<span class=\"badge badge-not_invited\">Not invited</span>", page, re.S
    )

    invited = admin_client.get("/creators?stage=invited", headers=HX).get_data(as_text=True)
    assert names_listed(invited) == ["Ines Invited"]
    assert re.search(r'aria-current="true">Invited <span', invited) and funnel_of(invited)["Invited"] == 1
    assert 'name="stage" value="invited"' in invited  # the search box keeps the stage
    assert names_listed(admin_client.get("/creators?stage=link_broken").get_data(as_text=True)) == [
        "Bea Broken"
    ]
    empty = admin_client.get("/creators?stage=linked").get_data(as_text=True)
    assert names_listed(empty) == [] and "No creator is at the stage “Linked or verified”." in empty
    # An unknown stage is no filter at all.
    assert len(names_listed(admin_client.get("/creators?stage=nonsense").get_data(as_text=True))) == 4


def test_creator_list_stage_and_search_combine_and_the_pager_keeps_both(admin_client):
    for index in range(45):
        Creator.create(name=f"Creator {index:02d}", invited_at=utcnow() if index % 2 else None)
    Creator.create(name="Somebody Else", invited_at=utcnow())
    page = admin_client.get("/creators?q=creator&stage=invited").get_data(as_text=True)
    assert funnel_of(page)["Invited"] == 22 and funnel_of(page)["All"] == 45
    assert names_listed(page)[:2] == ["Creator 01", "Creator 03"] and "Somebody Else" not in page
    assert 'href="/creators?q=creator&amp;stage=not_invited"' in page
    assert 'href="/creators?q=creator&amp;stage=invited&amp;page=2" rel="next"' in page
    second = admin_client.get("/creators?q=creator&stage=invited&page=2").get_data(as_text=True)
    assert names_listed(second) == ["Creator 41", "Creator 43"]


def test_profile_overview_shows_the_stage_and_its_dates(admin_client, creator, admin):
    moment = datetime.datetime(2026, 11, 20, 9, 30, tzinfo=datetime.UTC)
    Creator.update(
        invited_at=moment, invited_by=admin, page_first_opened_at=moment + datetime.timedelta(days=1)
    ).where(Creator.id == creator.id).execute()
    page = admin_client.get(f"/creators/{creator.id}").get_data(as_text=True)
    progress = re.search(r'<dd id="funnel-progress">(.*?)</dd>', page, re.S).group(1)
    assert '<span class="badge badge-opened">Page opened</span>' in progress
    assert "Invited: <time" in progress and "20 Nov 2026, 09:30 UTC</time> by admin@example.com" in progress
    assert "first opened: <time" in progress and "21 Nov 2026, 09:30 UTC" in progress


def test_mark_as_invited_records_who_and_when_on_the_panel_and_in_the_ledger(admin_client, creator, admin):
    before = utcnow()
    panel = admin_client.get(f"/creators/{creator.id}/link-accounts").get_data(as_text=True)
    assert "Not recorded as invited yet." in panel and ">Mark as invited</button>" in panel
    response = post(admin_client, f"/creators/{creator.id}/invited", htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith(
        '<section class="panel" id="link-accounts"'
    )
    assert "Ava Chen is marked as invited." in body and "by admin@example.com." in body
    assert ">Mark as invited again</button>" in body
    stored = Creator.get_by_id(creator.id)
    assert stored.invited_at >= before and stored.invited_by_id == admin.id
    entry = LedgerEntry.get(LedgerEntry.action == "invitation_sent")
    assert (entry.actor, entry.creator_id) == ("staff:admin@example.com", creator.id)
    ledger = admin_client.get("/audit?action=invitation_sent").get_data(as_text=True)
    assert "Invitation sent" in ledger and "marked by staff, who sent it themselves" in ledger


def test_mark_as_invited_without_the_csrf_token_changes_nothing(admin_client, creator, db_rows):
    before = db_rows()
    response = admin_client.post(f"/creators/{creator.id}/invited", headers=HX)
    assert response.status_code == 400 and "This form has expired" in response.get_data(as_text=True)
    assert db_rows() == before


def test_an_expired_link_cannot_be_marked_as_sent(admin_client, creator, db_rows):
    Creator.update(link_expires_at=utcnow() - datetime.timedelta(days=1)).where(
        Creator.id == creator.id
    ).execute()
    before = db_rows()
    response = post(admin_client, f"/creators/{creator.id}/invited", htmx=True)
    assert response.status_code == 409 and "Issue a new link first" in response.get_data(as_text=True)
    assert db_rows() == before


def test_issuing_a_link_valid_for_some_days_shows_when_it_expires(admin_client, creator):
    before = utcnow()
    response = post(admin_client, f"/creators/{creator.id}/link-token", {"valid_for_days": "7"}, htmx=True)
    body = response.get_data(as_text=True)
    stored = Creator.get_by_id(creator.id)
    assert response.status_code == 200 and stored.link_token != creator.raw_link_token
    assert (
        before + datetime.timedelta(days=7) <= stored.link_expires_at <= utcnow() + datetime.timedelta(days=7)
    )
    shown = stored.link_expires_at.strftime("%d %b %Y, %H:%M UTC")
    assert f"The new one works until {shown}." in body and "This link works until" in body
    entry = LedgerEntry.get(LedgerEntry.action == "link_rotated")
    assert entry.detail_items == {"expires": shown}

    post(admin_client, f"/creators/{creator.id}/link-token", {"valid_for_days": ""}, htmx=True)
    assert Creator.get_by_id(creator.id).link_expires_at is None
    assert "This link does not expire." in admin_client.get(f"/creators/{creator.id}/link-accounts").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "typed",
    [
        "0",
        "366",
        "-1",
        "1.5",
        "7 days",
        "abc",
        "١٢",
        "9999999999",
        pytest.param("9" * 5000, id="5000-digits"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_a_bad_valid_for_is_explained_and_changes_nothing(admin_client, creator, db_rows, typed, htmx):
    before = db_rows()
    response = post(admin_client, f"/creators/{creator.id}/link-token", {"valid_for_days": typed}, htmx=htmx)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a whole number of days from 1 to 365, or leave it empty for no expiry." in body
    assert 'aria-invalid="true"' in body
    assert db_rows() == before


def test_the_panel_says_an_expired_link_has_expired_and_offers_no_copy_of_it(admin_client, creator):
    Creator.update(link_expires_at=utcnow() - datetime.timedelta(days=1)).where(
        Creator.id == creator.id
    ).execute()
    page = admin_client.get(f"/creators/{creator.id}/link-accounts").get_data(as_text=True)
    assert "This link expired on" in page and "it no longer opens the page" in page
    assert creator.raw_link_token not in page and "Copy invitation" not in page
    assert "Issue a new link" in page
