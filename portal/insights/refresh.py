"""Refresh Instagram Insights into rows: refresh_account and refresh_many. No Flask.

A pass plans the Graph calls of a chunk of accounts (portal/insights/plan.py), sends them as
shared batches (portal/graph/batch.py), then writes the chunk's rows in one transaction with a
few multi-row statements; should that fail, each account's rows are written in a transaction of
their own, so one account's failure never touches another's figures. A crash mid-write leaves the
previous figures as they were. What Meta's errors mean here (README, "Meta's rules"):

- 190 (or 102): the token is gone: "link broken" at once.
- 10, 200-299, 100/33 on the account's own calls: refused. Once may be a hiccup; refused again on
  the next pass, the link is broken, with the reason in plain words.
- 1, 2, is_transient: retried a few times, then the account is read item by item.
- 80002 (this account's Instagram limit): this account waits, the others go on.
- 4, 17, 32, 613 or X-App-Usage at 90%: the app waits; the pass stops and everyone is deferred.
"""

import collections
import datetime
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from portal.campaigns import recent
from portal.db import database, is_sqlite, utcnow
from portal.graph import GraphError
from portal.graph.batch import BatchRunner, Throttled, wait_until
from portal.graph.days import meta_day
from portal.insights import rows
from portal.insights.plan import (
    FEED_METRICS,  # noqa: F401  (re-exported: the tests and the bench plan with them)
    FULL,
    LATE_DATA_DAYS,  # noqa: F401
    REELS_METRICS,  # noqa: F401
    STORIES,
    STORY_METRICS,  # noqa: F401
    account_token,
    first_calls,
    next_calls,
    stored_state,
    unpack,
)
from portal.models import AccountStatus, SocialAccount

log = logging.getLogger(__name__)

CHUNK = 50  # accounts planned and sent together
# Chunks fetched at once. One chunk's rounds (the account's calls, then its pages' and items') each
# wait for their slowest batch, leaving connections idle: a second chunk's batches fill them.
FETCHING = 2
OWN_CALLS = ("account", "profile", "day", "media", "stories")  # refusals here are about the account


@dataclass
class Summary:
    """What a refresh pass did, for the CLI, the scheduler log and the staff page."""

    refreshed: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # username -> reason
    broken: dict = field(default_factory=dict)  # username -> reason (link_broken)
    deferred: int = 0
    throttled_until: datetime.datetime | None = None  # the whole app was throttled
    waiting: dict = field(default_factory=dict)  # username -> until: its own Instagram limit
    http_requests: int = 0
    graph_calls: int = 0  # Graph calls inside those requests (a batch carries up to 50)

    @property
    def idle(self):
        """Tell whether the pass did nothing worth a note: nothing refreshed, failed or held back."""
        held_back = self.deferred or self.waiting or self.throttled_until
        return not (self.refreshed or self.failed or self.broken or held_back)

    def line(self):
        text = (
            f"{len(self.refreshed)} refreshed, {len(self.broken)} link broken, "
            f"{len(self.failed)} failed, {self.deferred} deferred"
        )
        if self.waiting:
            text += f" ({len(self.waiting)} by their own Instagram limit)"
        if self.throttled_until:
            text += f" (Meta asked to wait until {self.throttled_until:%Y-%m-%d %H:%M} UTC)"
        return text


def _broken_reason(error):
    return f"Instagram access ended: {error.message} Connect the account again on the Link Accounts Page."


def _refused_reason(error):
    if error.object_missing:
        why = "Instagram no longer lets this app see the account (removed, or its Page role is gone)"
    else:
        why = "Instagram refused the permission this needs (a permission or Page role was removed)"
    return f"{why}: {error.message}"


def account_failure(account, answers):
    """Return (kind, reason) when the account's own calls failed, else None.

    kind is "broken" (the token is gone), "refused" (permission or object gone) or "failed".
    """
    own = [(key, answer) for key, answer in answers.items() if key[0] == account.id]
    errors = [(key, e) for key, e in own if isinstance(e, GraphError)]
    for _key, error in errors:
        if error.token_invalid:
            return "broken", _broken_reason(error)
    for key, error in errors:
        if key[1] in OWN_CALLS and (error.permission_missing or error.object_missing):
            if key[1] != "account":  # the field-expanded call's refusal was read item by item
                return "refused", _refused_reason(error)
    profile = answers.get((account.id, "profile"))
    if isinstance(profile, GraphError):
        return "failed", f"Facebook returned an error: {profile.message}"
    return None


def _mark(account, **updates):
    # Only the columns this pass owns: a switch flipped meanwhile is never overwritten.
    SocialAccount.update(**updates).where(SocialAccount.id == account.id).execute()


def _record_failure(account, kind, reason, now, summary):
    if kind == "refused" and account.access_denied_since is None:
        reason += " If Instagram refuses again on the next refresh, the link will be marked broken."
        _mark(account, last_error=reason, access_denied_since=now)
        summary.failed[account.username] = reason
    elif kind in ("refused", "broken"):
        _mark(account, status=AccountStatus.LINK_BROKEN, last_error=reason)
        summary.broken[account.username] = reason
    else:
        _mark(account, last_error=reason)
        summary.failed[account.username] = reason


def prepare_account(account, answers, now, summary):
    """Return the account's answers ready to write (rows.Answered), or None after marking why it failed.

    answers should be this account's alone: they are kept until the whole chunk is written. Its
    stories are archived with the chunk's (rows.archive_stories), before the chunk is written.
    """
    answers = unpack(account, answers)
    failure = account_failure(account, answers)
    if failure:
        _record_failure(account, *failure, now, summary)
        return None
    return rows.Answered(account, answers, {})


def _write(chunk, now, mode):
    with database.atomic():
        if not is_sqlite():
            # Figures can be read from Meta again; waiting for each commit to reach the disk cost
            # PostgreSQL 20 ms an account. A crash may lose the last moment's figures (the next
            # refresh reads them again), never mix them up: this only skips the wait.
            database.execute_sql("SET LOCAL synchronous_commit TO OFF")
        if mode == STORIES:
            rows.write_stories(chunk, now)
        else:
            rows.write(chunk, now)


def write_accounts(chunk, now, summary, mode=FULL):
    """Write these accounts' figures in one transaction; should that fail, each account's in its own.

    One transaction for a chunk spares a commit an account; writing each alone after a failure
    keeps one account's bad data from costing the others their figures.
    """
    if not chunk:
        return
    try:
        _write(chunk, now, mode)
    except Exception:
        if len(chunk) > 1:
            log.warning("Writing %d accounts together failed; writing each alone", len(chunk))
            for item in chunk:
                write_accounts([item], now, summary, mode)
            return
        log.exception("Refreshing account %s failed", chunk[0].account.id)
        summary.failed[chunk[0].account.username] = "An unexpected error; it has been logged."
        return
    summary.refreshed += [item.account.username for item in chunk]


def finish_account(account, answers, now, summary, archive=None, mode=FULL):
    """Write one account's answers (or mark why it failed) in its own transaction."""
    ready = prepare_account(account, answers, now, summary)
    ready = [ready] if ready else []
    write_accounts(rows.archive_stories(ready, archive), now, summary, mode)


def refresh_many(client, accounts, *, now=None, runner=None, archive=None, chunk=CHUNK, mode=FULL):
    """Refresh every account in the iterable (streamed in chunks) and return a Summary.

    While one chunk's rows are written here, the next FETCHING chunks' calls are in flight on
    threads of their own: waiting on Meta and writing overlap, and so do two chunks' rounds.
    """
    now = now or utcnow()
    runner = runner or BatchRunner(client)
    summary = Summary()
    iterator = iter(accounts)
    in_flight = collections.deque()  # (batch, its fetch), oldest first

    def fetch_more(fetcher):
        while len(in_flight) < FETCHING:
            batch = [account for _, account in zip(range(chunk), iterator, strict=False)]
            if not batch:
                return
            in_flight.append((batch, fetcher.submit(_fetch_chunk, batch, now, runner, mode)))

    with ThreadPoolExecutor(max_workers=FETCHING, thread_name_prefix="refresh-fetch") as fetcher:
        fetch_more(fetcher)
        while in_flight:
            batch, fetching = in_flight.popleft()
            try:
                tokens, answers, waiting = fetching.result()
            except Throttled as throttled:
                for _, other in in_flight:
                    other.cancel()  # a fetch already sending ends on its own: its answers go unused
                waiting_too = sum(len(other) for other, _ in in_flight)
                _defer_everyone(throttled, summary, len(batch) + waiting_too + sum(1 for _ in iterator))
                break
            fetch_more(fetcher)
            _write_chunk(batch, tokens, answers, waiting, now, summary, archive, mode)
    summary.http_requests = runner.http_requests
    summary.graph_calls = runner.calls
    return summary


def _defer_everyone(throttled, summary, deferred):
    summary.throttled_until = throttled.until
    summary.deferred += deferred
    reason = f"Meta limited the whole app ({throttled.reason}); every account waits."
    # Everyone waits: the limit is the app's, and more calls would only prolong it.
    SocialAccount.update(refresh_deferred_until=throttled.until, deferred_reason=reason).where(
        SocialAccount.status == AccountStatus.LINKED
    ).execute()
    log.warning("Refresh stopped: %s; deferred until %s", throttled.reason, throttled.until)


def own_limit_hits(answers):
    """Return the ids of the accounts one of whose calls Meta refused for their own limit (80002...).

    One pass over a round's answers, not one an account: a chunk holds thousands of answers.
    """
    return {
        key[0]
        for key, answer in answers.items()
        if isinstance(answer, GraphError) and answer.account_throttled
    }


def _limited_until(account, hits, runner):
    """Return until when this account must wait for its own Instagram limit, or None."""
    until = runner.limited.get(account.ig_user_id)
    if until is None and account.id in hits:
        until = wait_until(0)  # throttled without a usage header for it: Meta's usual wait
    return until


def _fetch_chunk(batch, now, runner, mode):
    """Plan and send a chunk's calls, round after round; return (tokens, answers, {account id: until}).

    An account Meta throttles on its own stops getting calls; the others go on.
    """
    with database.connection_context():  # this thread's own connection, for planning's reads
        tokens, calls, waiting = {}, [], {}
        state = stored_state([account.id for account in batch]) if mode == FULL else {}
        for account in batch:
            token = account_token(account)
            if token:
                tokens[account.id] = token
                calls += first_calls(account, token, now, mode, state.get(account.id))
        answers = runner.run(calls)
        while True:  # a round per dependency: pages and items after the account call
            more, hits = [], own_limit_hits(answers)
            for account in batch:
                if account.id in tokens and account.id not in waiting:
                    until = _limited_until(account, hits, runner)
                    if until:
                        waiting[account.id] = until
                    else:
                        more += next_calls(account, tokens[account.id], answers)
            if not more:
                return tokens, answers, waiting
            answers.update(runner.run(more))


def _wait_alone(account, until, summary):
    reason = f"Instagram's limit for this account: Meta asked us to wait until {until:%Y-%m-%d %H:%M} UTC."
    _mark(account, refresh_deferred_until=until, deferred_reason=reason)
    summary.waiting[account.username] = until


def _by_account(answers):
    """Split a chunk's answers by account: each account's rows are built from its own alone."""
    split = {}
    for key, answer in answers.items():
        split.setdefault(key[0], {})[key] = answer
    return split


def _write_chunk(batch, tokens, answers, waiting, now, summary, archive, mode):
    hits = own_limit_hits(answers)
    answers = _by_account(answers)  # kept per account until the chunk is written: not a copy of all each
    ready, near_limit = [], []
    for account in batch:
        if account.id not in tokens:
            reason = "No stored access for this account: connect it again."
            _mark(account, status=AccountStatus.LINK_BROKEN, last_error=reason)
            summary.broken[account.username] = reason
            continue
        until = waiting.get(account.id)
        if until and account.id in hits:  # refused part way: keep the last whole figures
            _wait_alone(account, until, summary)
            summary.deferred += 1
            continue
        if until:  # answered, but at 90% of its own limit: its figures go in, its next refresh waits
            near_limit.append((account, until))
        try:
            prepared = prepare_account(account, answers.get(account.id, {}), now, summary)
        except Exception:  # one account's surprise must not stop the others
            log.exception("Refreshing account %s failed", account.id)
            summary.failed[account.username] = "An unexpected error; it has been logged."
            continue
        if prepared:
            ready.append(prepared)
    write_accounts(rows.archive_stories(ready, archive), now, summary, mode)
    for account, until in near_limit:  # after the write, which clears the account's wait
        _wait_alone(account, until, summary)
    # The overview's sums of these accounts, once per chunk rather than in each account's transaction.
    recent.update([account.id for account in batch if account.id in tokens], meta_day(now))


def refresh_account(client, account, **kwargs):
    """Refresh one account now and return the Summary (the row's "Refresh stats")."""
    return refresh_many(client, [account], **kwargs)
