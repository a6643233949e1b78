"""The WSGI entry point: the one place an app is created at import time."""

from portal import create_app

app = create_app()
