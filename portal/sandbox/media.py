"""The fictional accounts' content: posts, reels and carousels on a schedule, and live stories.

Nothing is stored. Each account posts every few days at times fixed by its username, so an id
always means the same post and new posts appear as time passes; stories come every 8-11 hours
and stay live for 24. Ids have Meta's 17 digits: "18", the account's number (4 digits), the kind
("0" a post, "9" a story) and a sequence number (10 digits; for a story, the hour it was posted).
The bench agency's accounts numbered 10,000 and up widen the number, so their ids have 18 or 19
digits; every other id, and so every figure seeded from one, stays as it was.
"""

from dataclasses import dataclass
from functools import cached_property

from flask import current_app, g, request

from portal.addresses import AddressPattern
from portal.sandbox import nodes, people, seeds
from portal.sandbox.seeds import DAY, HOUR, between

POST, STORY = "0", "9"
NUMBER_DIGITS = (4, 6)  # the account number's digits in an id: fewest and most
SEQ_DIGITS = 10
MEDIA_FIELDS = {
    "id",
    "caption",
    "comments_count",
    "like_count",
    "media_product_type",
    "media_type",
    "media_url",
    "owner",
    "permalink",
    "shortcode",
    "thumbnail_url",
    "timestamp",
    "username",
}
CAPTIONS = (
    "New week, new work",
    "Behind the scenes",
    "A little experiment",
    "Saturday mood",
    "Three things I learned this month",
    "You asked for it",
    "Quick one today",
    "Something I have wanted to share for a while",
)
NAVIGATION = {"tap_forward": 0.68, "tap_back": 0.09, "tap_exit": 0.16, "swipe_forward": 0.07}


@dataclass(frozen=True)
class Media:
    """One post, reel, carousel or story of an account.

    Its id and kinds are worked out once: a batch of listings asked them about 30 times a post.
    """

    account: people.InstagramAccount
    kind: str  # POST | STORY
    seq: int
    posted: int  # Unix seconds

    @cached_property
    def id(self):
        return f"18{self.account.number:0{NUMBER_DIGITS[0]}d}{self.kind}{self.seq:0{SEQ_DIGITS}d}"

    @property
    def is_story(self):
        return self.kind == STORY

    @cached_property
    def media_type(self):
        roll = seeds.fraction(self.id, "type")
        if self.is_story:
            return "IMAGE" if roll < 0.5 else "VIDEO"
        return "IMAGE" if roll < 0.45 else "VIDEO" if roll < 0.8 else "CAROUSEL_ALBUM"

    @cached_property
    def product_type(self):
        if self.is_story:
            return "STORY"
        return "REELS" if self.media_type == "VIDEO" else "FEED"

    @property
    def caption(self):
        roll = seeds.fraction(self.id, "caption")
        if self.is_story or roll < 0.1:
            return None  # Meta leaves out an empty caption
        return f"{CAPTIONS[int(roll * len(CAPTIONS))]} — {self.account.name} #{self.seq % 1000}"


def _post_schedule(account):
    every = int(between(20, 96, account.username, "post-every")) * HOUR
    offset = int(seeds.fraction(account.username, "post-offset") * every) // 60 * 60
    return every, offset


def listed_count(account):
    """How many recent posts the media edge lists: 15 to 30 (fewer if the account has fewer)."""
    return min(account.media_count, 15 + int(seeds.fraction(account.username, "listed") * 16))


def recent_media(account, at=None):
    """Return the account's most recent posts, newest first."""
    every, offset = _post_schedule(account)
    latest = ((at or seeds.now()) - offset) // every
    return [
        Media(account, POST, seq, seq * every + offset)
        for seq in range(latest, latest - listed_count(account), -1)
    ]


def stories(account, at=None):
    """Return the account's live stories (posted in the last 24 hours), newest first."""
    every = account.story_hours
    if not every or not account.professional:
        return []
    at = at or seeds.now()
    offset = int(seeds.fraction(account.username, "story-offset") * every)
    hour = at // HOUR
    hour -= (hour - offset) % every
    found = []
    while at - hour * HOUR < DAY:
        found.append(Media(account, STORY, hour, hour * HOUR))
        hour -= every
    return found


def find(media_id, at=None):
    """Return the post or live story with this id, or None."""
    text = str(media_id or "")
    fewest, most = (3 + digits + SEQ_DIGITS for digits in NUMBER_DIGITS)
    # isascii(): isdigit() alone takes "²", which int() refuses.
    if (
        not fewest <= len(text) <= most
        or not (text.isascii() and text.isdigit())
        or not text.startswith("18")
    ):
        return None
    number_text, kind, seq = text[2 : -SEQ_DIGITS - 1], text[-SEQ_DIGITS - 1], int(text[-SEQ_DIGITS:])
    if f"{int(number_text):0{NUMBER_DIGITS[0]}d}" != number_text:
        return None  # a widened number with a leading zero: no media has that id
    account = people.instagram_account_by_number(int(number_text))
    if account is None or not account.professional:
        return None
    if kind == STORY:
        return next((s for s in stories(account, at) if s.seq == seq), None)
    if kind != POST:
        return None
    every, offset = _post_schedule(account)
    latest = ((at or seeds.now()) - offset) // every
    # Older posts than the edge lists still exist, back to the account's media_count.
    return (
        Media(account, POST, seq, seq * every + offset)
        if latest - account.media_count < seq <= latest
        else None
    )


def _addresses():
    """Return this request's patterns of the sandbox's media addresses, built on first use.

    url_for cost 80 µs a call and a listed post needs two or three addresses: a batch of media
    listings built 10,000 of them.
    """
    if "sandbox_media_addresses" not in g:
        base = (current_app.config.get("BASE_URL") or request.url_root).rstrip("/")

        def pattern(endpoint, *holes, **fixed):
            built = AddressPattern(endpoint, *holes, **fixed)
            return lambda *values: base + built(*values)

        g.sandbox_media_addresses = {
            "file": pattern("sandbox.media_file", "media_id", "extension"),
            "story": pattern("sandbox.story_page", "username", "media_id"),
            "reel": pattern("sandbox.post_page", "media_id", kind="reel"),
            "p": pattern("sandbox.post_page", "media_id", kind="p"),
        }
    return g.sandbox_media_addresses


def file_url(media, thumbnail=False):
    """Return where the sandbox serves the media's picture (.jpg) or video (.mp4)."""
    extension = "mp4" if media.media_type == "VIDEO" and not thumbnail else "jpg"
    return _addresses()["file"](media.id, extension)


def permalink(media):
    """Return the media's page, served by the sandbox like instagram.com/p/..., /reel/..., /stories/..."""
    if media.is_story:
        return _addresses()["story"](media.account.username, media.id)
    return _addresses()["reel" if media.product_type == "REELS" else "p"](media.id)


def lifetime_values(media, at=None):
    """Return every lifetime metric of a post or story, as Meta would count them now."""
    at, key, followers = at or seeds.now(), media.id, media.account.followers_count
    if media.is_story:
        growth = min(1.0, ((at - media.posted) // HOUR + 1) / 12)
        reach = round(followers * between(0.03, 0.12, key, "reach") * growth)
    else:
        growth = min(1.0, 0.4 + 0.2 * (at // DAY - media.posted // DAY))
        boost = 1.7 if media.product_type == "REELS" else 1.0
        reach = round(followers * between(0.08, 0.45, key, "reach") * boost * growth)
    reach = max(reach, 1)
    views = round(reach * between(1.2, 2.4, key, "views"))
    values = {
        "reach": reach,
        "views": views,
        "likes": round(reach * between(0.03, 0.12, key, "likes")),
        "shares": round(reach * between(0.002, 0.02, key, "shares")),
        "saved": round(reach * between(0.003, 0.03, key, "saved")),
        "follows": round(reach * between(0.0005, 0.004, key, "follows")),
        "profile_visits": round(reach * between(0.005, 0.03, key, "visits")),
        "replies": round(reach * between(0.002, 0.015, key, "replies")),
        "link_clicks": round(reach * between(0.0, 0.01, key, "links")),
        "ig_reels_avg_watch_time": round(between(2500, 14000, key, "watch")),
        "reels_skip_rate": round(between(20, 60, key, "skip"), 1),
    }
    values["comments"] = round(values["likes"] * between(0.01, 0.08, key, "comments"))
    values["reposts"] = round(values["shares"] * between(0.05, 0.2, key, "reposts"))
    values["ig_reels_video_view_total_time"] = values["ig_reels_avg_watch_time"] * views
    if media.is_story:
        values["total_interactions"] = values["replies"] + values["shares"] + values["reposts"]
        taps = round(views * between(0.85, 1.15, key, "navigation"))
        values["navigation"] = seeds.split(taps, NAVIGATION)
    else:
        parts = ("likes", "comments", "shares", "saved")
        values["total_interactions"] = sum(values[name] for name in parts)
    return values


def media_node(media, fields, at=None):
    """Return a post or story with the requested fields (Meta's default: id only)."""
    values = {
        "id": media.id,
        "caption": media.caption,
        "media_type": media.media_type,
        "media_product_type": media.product_type,
        "media_url": file_url(media),
        "permalink": permalink(media),
        "shortcode": media.id,
        "timestamp": seeds.iso(media.posted),
        "username": media.account.username,
        "owner": {"id": media.account.id},
    }
    if media.media_type == "VIDEO":
        values["thumbnail_url"] = file_url(media, thumbnail=True)
    if not media.is_story:
        counts = lifetime_values(media, at)
        values["like_count"], values["comments_count"] = counts["likes"], counts["comments"]
    return nodes.select("IGMedia", MEDIA_FIELDS, values, fields or {})
