from portal import crypto, db
from portal.compliance.key_rotation import rotate_all
from portal.models import Creator, MetaGrant, SocialAccount

OLD = crypto.generate_key()
NEW = crypto.generate_key()


def raw(table, column, row_id):
    return db.database.obj.execute_sql(f'SELECT "{column}" FROM "{table}" WHERE id = {row_id}').fetchone()[0]


def test_rotation_re_encrypts_every_secret_so_the_old_key_can_be_retired(app, creator):
    crypto.cipher.configure(OLD)
    try:
        grant = MetaGrant.create(creator=creator, provider="facebook", meta_user_id="1", user_token="EAAuser")
        account = creator.accounts().get()
        SocialAccount.update(page_token="EAAPpage").where(SocialAccount.id == account.id).execute()
        creator.issue_link_token()
        link = Creator.get_by_id(creator.id).link_token
        before = raw("meta_grant", "user_token", grant.id)

        crypto.cipher.configure(f"{NEW},{OLD}")
        assert rotate_all() == (3, 0)
        assert raw("meta_grant", "user_token", grant.id) != before

        crypto.cipher.configure(NEW)  # the old key is gone
        assert MetaGrant.get_by_id(grant.id).user_token == "EAAuser"
        assert SocialAccount.get_by_id(account.id).page_token == "EAAPpage"
        assert Creator.get_by_id(creator.id).link_token == link
    finally:
        crypto.cipher.configure(app.config["TOKEN_KEYS"])


def test_values_no_key_opens_are_reported_and_left_alone(app, creator):
    crypto.cipher.configure(OLD)
    try:
        grant = MetaGrant.create(creator=creator, provider="facebook", meta_user_id="1", user_token="EAAuser")
        before = raw("meta_grant", "user_token", grant.id)
        crypto.cipher.configure(NEW)
        rotated, unreadable = rotate_all()
        assert unreadable >= 1
        assert raw("meta_grant", "user_token", grant.id) == before
    finally:
        crypto.cipher.configure(app.config["TOKEN_KEYS"])


def test_the_command_reports_what_it_did(app, creator):
    result = app.test_cli_runner().invoke(args=["rotate-token-keys"])
    assert result.exit_code == 0 and "Re-encrypted 1 stored values" in result.output
