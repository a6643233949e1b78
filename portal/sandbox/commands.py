"""The sandbox's own flask commands: move its clock, send the webhooks Meta would send now."""

import click

from portal.db import utcnow
from portal.sandbox import state, subscriptions


def _describe(seconds):
    days, rest = divmod(abs(seconds), 86400)
    hours = rest // 3600
    direction = "ahead of" if seconds > 0 else "behind"
    return "on real time" if not seconds else f"{days} days {hours} hours {direction} real time"


def register(app):
    """Attach sandbox-clock and sandbox-webhooks to app.cli (only in sandbox mode)."""

    @app.cli.command("sandbox-clock")
    @click.argument("spec", required=False)
    def sandbox_clock(spec):
        """Run the simulated Meta and the portal SPEC ahead of real time (+61d, +90d12h, -2h, 0)."""
        if spec is not None:
            try:
                seconds = state.parse_clock(spec)
            except ValueError as error:
                raise click.BadParameter(str(error), param_hint="SPEC") from error
            state.set_clock(seconds, app=app)
        offset = state.state_file(app).clock_offset()
        click.echo(
            f"The sandbox's clock runs {_describe(offset)}: it is {utcnow():%Y-%m-%d %H:%M} UTC there."
        )

    @app.cli.command("sandbox-webhooks")
    def sandbox_webhooks():
        """Send the story_insights webhooks Meta would send now, for every subscribed Page."""
        url = (app.config.get("BASE_URL") or "http://127.0.0.1:8000").rstrip("/") + "/meta/webhook"
        statuses = subscriptions.send(app, url)
        click.echo(f"Sent {len(statuses)} story_insights deliveries to {url}: answers {statuses or 'none'}.")
