"""IG Media Insights: /{ig-media-id}/insights for posts, reels, carousels and stories (reference §6.2).

Which metrics a media object serves depends on its product type; one it does not serve, or a
retired one, fails the whole call. The newest story of each account has too few viewers yet.
"""

from portal.sandbox import media
from portal.sandbox.errors import bad_parameter, refuse
from portal.sandbox.insights_api import metric_names

COMMON = ("views", "reach", "shares", "total_interactions", "reposts")
PRODUCT_METRICS = {
    "FEED": (*COMMON, "likes", "comments", "saved", "follows", "profile_visits"),
    "REELS": (
        *COMMON,
        "likes",
        "comments",
        "saved",
        "ig_reels_avg_watch_time",
        "ig_reels_video_view_total_time",
        "reels_skip_rate",
    ),
    "STORY": (*COMMON, "follows", "profile_visits", "navigation", "replies", "link_clicks"),
}
ALL_METRICS = tuple(dict.fromkeys(name for names in PRODUCT_METRICS.values() for name in names))
TITLES = {
    "views": ("Views", "The number of times the media was played or displayed."),
    "reach": ("Accounts reached", "The number of unique accounts that have seen the media at least once."),
    "shares": ("Shares", "The number of shares of the media."),
    "total_interactions": ("Interactions", "Likes, saves, comments and shares on the media, minus unlikes."),
    "reposts": ("Reposts", "The number of times the media was reposted."),
    "likes": ("Likes", "The number of likes on the media."),
    "comments": ("Comments", "The number of comments on the media."),
    "saved": ("Saves", "The number of saves of the media."),
    "follows": ("Follows", "The number of accounts that started following you from the media."),
    "profile_visits": ("Profile visits", "The number of times your profile was viewed from the media."),
    "ig_reels_avg_watch_time": (
        "Average watch time",
        "The average time the reel was played, in milliseconds.",
    ),
    "ig_reels_video_view_total_time": (
        "Watch time",
        "The total time the reel was played, including replays, in milliseconds.",
    ),
    "reels_skip_rate": (
        "Skip rate",
        "The share of views that skipped the reel within 3 seconds, in percent.",
    ),
    "navigation": ("Navigation", "The actions taken from the story: taps forward and back, exits, swipes."),
    "replies": ("Replies", "The number of replies to the story."),
    "link_clicks": ("Link clicks", "The number of taps on the story's link sticker."),
}
TOTAL_VALUE = {("REELS", "views"), ("STORY", "views"), ("STORY", "navigation")}
NOT_ENOUGH_VIEWERS = "(#10) Not enough viewers for the media to show insights"


def _check(names, product_type):
    for index, name in enumerate(names):
        if name == "impressions":
            raise bad_parameter(
                "(#100) Starting from version 22 and above, the impressions metric is no longer supported "
                "for media insights. Please use the views metric instead."
            )
        if name not in ALL_METRICS:
            raise bad_parameter(
                f"(#100) metric[{index}] must be one of the following values: " + ", ".join(ALL_METRICS)
            )
        if name not in PRODUCT_METRICS[product_type]:
            raise bad_parameter(
                f"(#100) The Media Insights API does not support the {name} metric for this media "
                "product type"
            )


def media_insights(item, params, at=None):
    """Answer GET /{ig-media-id}/insights, or raise Meta's error for the whole call."""
    names = metric_names(params)
    _check(names, item.product_type)
    if item.is_story and item == media.stories(item.account, at)[0]:
        raise refuse(NOT_ENOUGH_VIEWERS, 10)
    values = media.lifetime_values(item, at)
    data = []
    for name in names:
        title, description = TITLES[name]
        entry = {"name": name, "period": "lifetime"}
        if name == "navigation":
            taps = values["navigation"]
            results = [{"dimension_values": [action], "value": count} for action, count in taps.items()]
            keys = ["story_navigation_action_type"]
            entry["total_value"] = {
                "value": sum(taps.values()),
                "breakdowns": [{"dimension_keys": keys, "results": results}],
            }
        elif (item.product_type, name) in TOTAL_VALUE:
            entry["total_value"] = {"value": values[name]}
        else:
            entry["values"] = [{"value": values[name]}]
        entry.update(title=title, description=description, id=f"{item.id}/insights/{name}/lifetime")
        data.append(entry)
    return {"data": data}
