"""flask CLI commands: create-staff, init-db, seed-demo, refresh-insights, check-grants, scheduler..."""

import logging

import click

from portal import db, migrations
from portal.graph import setup_check
from portal.models import Creator, SocialAccount, Staff

DEMO_EMAIL = "demo@portal.test"
DEMO_PASSWORD = "demo-portal-password"
DEMO_CREATORS = [
    ("Ava Chen", "ava@example.com", ["ava.creates", "ava.travels"]),
    ("Marco Rossi", "marco@example.com", ["marco_cooks"]),
    ("Priya Natarajan", "priya@example.com", ["priya.fit"]),
    ("Sam Okafor", None, ["sam.okafor.art"]),
    ("Leo Park", "leo@example.com", ["leo.sketches"]),
    ("Nina Brooks", "nina@example.com", ["nina.bakes"]),
    ("Theo Small", "theo@example.com", ["tiny.steps"]),
]


def _echo_accounts(reasons):
    """Print one line an account: its handle and what happened to it."""
    for username, reason in reasons.items():
        click.echo(f"  @{username}: {reason}")


def register(app):
    """Attach the portal's commands to app.cli."""

    @app.cli.command("init-db")
    def init_db():
        """Create or upgrade the database schema."""
        applied = migrations.upgrade(db.database.obj)
        click.echo(f"Database at schema version {migrations.LATEST} (applied: {applied or 'nothing'}).")

    @app.cli.command("create-staff")
    @click.argument("email")
    @click.option("--password", required=True, help="At least 12 characters.")
    @click.option("--admin", is_flag=True, help="May manage staff and settings.")
    def create_staff(email, password, admin):
        """Create a staff account that can sign in at /login."""
        if len(password) < 12:
            raise click.BadParameter("use at least 12 characters", param_hint="--password")
        migrations.upgrade(db.database.obj)
        try:
            staff = Staff.register(email, password, is_admin=admin, method=app.config["PASSWORD_HASH_METHOD"])
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Created {'admin' if staff.is_admin else 'staff'} account {staff.email}.")

    @app.cli.command("seed-demo")
    def seed_demo():
        """Add the demo admin and a few creators with Instagram handles, once."""
        migrations.upgrade(db.database.obj)
        if not Staff.by_email(DEMO_EMAIL):
            Staff.register(
                DEMO_EMAIL, DEMO_PASSWORD, is_admin=True, method=app.config["PASSWORD_HASH_METHOD"]
            )
        if Creator.select().count() == 0:
            for name, email, handles in DEMO_CREATORS:
                creator = Creator.create(name=name, email=email)
                creator.issue_link_token()
                for handle in handles:
                    SocialAccount.add_handle(creator, handle)
        click.echo(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")

    @app.cli.command("refresh-insights")
    def refresh_insights():
        """Refresh every linked account with scheduled refresh on, now, and print a summary."""
        from portal.scheduler import jobs

        logging.basicConfig(level=logging.WARNING)
        summary = jobs.refresh_all(app)
        waiting = {
            name: f"Instagram's limit for this account; waits until {until:%Y-%m-%d %H:%M} UTC"
            for name, until in summary.waiting.items()
        }
        _echo_accounts({**summary.broken, **summary.failed, **waiting})
        click.echo(f"Refresh: {summary.line()}; {summary.http_requests} HTTP requests to Meta.")

    @app.cli.command("check-grants")
    def check_grants():
        """Ask Meta now whether each linked account's access still works, and print a summary."""
        from portal.scheduler import jobs

        logging.basicConfig(level=logging.WARNING)
        result = jobs.check_grants(app)
        _echo_accounts({**result.broken, **result.unchecked})
        click.echo(f"Grant check: {result.line()}")

    @app.cli.command("rotate-token-keys")
    def rotate_token_keys():
        """Re-encrypt every stored token under the first key of PORTAL_TOKEN_KEYS."""
        from portal.compliance.key_rotation import rotate_all

        rotated, unreadable = rotate_all()
        click.echo(f"Re-encrypted {rotated} stored values under the first key of PORTAL_TOKEN_KEYS.")
        if unreadable:
            click.echo(
                f"{unreadable} values open with none of the configured keys and were left as they are: "
                "keep the key that wrote them until they are replaced.",
                err=True,
            )
            raise SystemExit(1)

    @app.cli.command("meta-check")
    def meta_check():
        """Check the Meta apps, Graph API version and addresses before the first real use."""
        report = setup_check.check(app.config, app.config.get("BASE_URL"))
        for line in report.lines():
            click.echo(line)
        if report.count(setup_check.FATAL):
            raise SystemExit(1)

    @app.cli.command("scheduler")
    def scheduler():
        """Run the one scheduler process (refreshes, story capture, token checks)."""
        from portal.scheduler import run_scheduler

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        # APScheduler logs every run of the minutely job; our jobs log what they did instead.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        # A second scheduler stands by and takes over when the first stops.
        run_scheduler(app, standby_seconds=app.config["SCHEDULER_STANDBY_SECONDS"])
