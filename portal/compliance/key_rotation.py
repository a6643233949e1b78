"""Re-encrypt every stored secret under the first key of PORTAL_TOKEN_KEYS. No Flask.

An operator prepends a new key, deploys, runs `flask --app wsgi rotate-token-keys`,
then removes the old key. Ciphertext is rotated as it is stored, without passing
through the model fields, so a value no configured key opens is reported and left
alone instead of being overwritten.
"""

from cryptography.fernet import InvalidToken

from portal.crypto import cipher
from portal.db import database
from portal.models import Creator, MetaGrant, SocialAccount

ENCRYPTED = [
    (Creator, "link_token"),
    (MetaGrant, "user_token"),
    (MetaGrant, "candidates"),
    (SocialAccount, "page_token"),
]


def rotate_all(batch=500):
    """Rotate every encrypted value; return (rotated, unreadable) counts."""
    rotated = unreadable = 0
    db = database.obj
    for model, name in ENCRYPTED:
        table, column = model._meta.table_name, getattr(model, name).column_name
        select = f'SELECT id, "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL ORDER BY id'
        update = f'UPDATE "{table}" SET "{column}" = {db.param} WHERE id = {db.param}'
        rows = db.execute_sql(select).fetchall()
        for start in range(0, len(rows), batch):
            with database.atomic():
                for row_id, ciphertext in rows[start : start + batch]:
                    try:
                        db.execute_sql(update, (cipher.rotate(ciphertext), row_id))
                    except InvalidToken:
                        unreadable += 1
                    else:
                        rotated += 1
    return rotated, unreadable
