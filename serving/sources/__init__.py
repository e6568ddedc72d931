"""Chat sources, one module per platform; `open_source("platform:spec")` picks one."""
from __future__ import annotations

from serving.sources.base import Backoff, SourceError


def open_source(spec: str, *, rate: float | str | None = None, **options):
    """A source for `soop:BJID[/BNO]`, `chzzk:ID`, `twitch:CHAN`, `discord:ID`, `replay:FILE`,
    `youtube:VIDEO_ID` / `youtube:channel:CHANNEL_ID` / `youtube:mine`, `chzzk-open:ID` (the
    CHZZK Open API session socket, the streamer's OAuth token).

    `options` go to the source's constructor (URLs for loopback tests, backoff, ...).
    """
    platform, _, rest = spec.partition(":")
    if not rest:
        raise SourceError(f"source {spec!r} must look like platform:channel "
                          "(soop, chzzk, twitch, discord, youtube, replay)")
    if platform == "replay":
        from serving.sources.replay import ReplaySource
        return ReplaySource(rest, rate=rate)
    if platform == "discord":
        from serving.sources.discord import DiscordSource
        return DiscordSource(rest, **options)
    if platform == "soop":
        from serving.sources.soop import SoopSource as cls
    elif platform == "chzzk":
        from serving.sources.chzzk import ChzzkSource as cls
    elif platform == "chzzk-open":
        from serving.sources.chzzk_open import ChzzkOpenSource as cls
    elif platform == "twitch":
        from serving.sources.twitch import TwitchSource as cls
    elif platform == "youtube":
        from serving.sources.youtube import YouTubeSource as cls
    else:
        raise SourceError(f"unknown platform {platform!r} in {spec!r}")
    return cls(rest, **options)


__all__ = ["Backoff", "SourceError", "open_source"]
