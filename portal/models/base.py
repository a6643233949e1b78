"""The model every table builds on, bound to the deferred database, and the schema's own version table."""

from peewee import IntegerField, Model

from portal.db import UTCDateTimeField, database, utcnow


class BaseModel(Model):
    class Meta:
        database = database


class SchemaVersion(BaseModel):
    """Which migrations have been applied to this database."""

    version = IntegerField(primary_key=True)
    applied_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "schema_version"
