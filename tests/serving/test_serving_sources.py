"""Platform sources against loopback servers speaking each wire protocol."""
from __future__ import annotations

import pytest

from serving.sources import Backoff, SourceError, open_source
from serving.sources.base import check_url
from servers import take

FAST = dict(backoff=Backoff(base=0.01, cap=0.05), max_failures=3, open_timeout=5)


def test_gives_up_after_bounded_failures(arun):
    async def main():
        source = open_source("twitch:x", ws_url="ws://127.0.0.1:9", backoff=Backoff(0.01, cap=0.02),
                             max_failures=2, open_timeout=1)
        with pytest.raises(SourceError, match="giving up after 2"):
            await take(source, 1)
        return source

    assert arun(main()).stats["reconnects"] == 2


@pytest.mark.parametrize("url", ["ws://example.com/chat", "http://10.0.0.1/x", "ftp://127.0.0.1/"])
def test_plain_urls_only_to_loopback(url):
    with pytest.raises(SourceError):
        check_url(url)
    assert check_url("wss://irc-ws.chat.twitch.tv:443") and check_url("ws://127.0.0.1:1/")


def test_backoff_grows_with_jitter_and_is_capped():
    backoff = Backoff(base=1, factor=2, cap=8)
    delays = [backoff.next_delay() for _ in range(6)]
    assert all(0.5 <= d <= 1 for d in delays[:1]) and all(4 <= d <= 8 for d in delays[3:])
    backoff.reset()
    assert backoff.next_delay() <= 1


def test_unknown_platform_is_a_clear_error():
    with pytest.raises(SourceError, match="unknown platform"):
        open_source("myspace:tom")
    with pytest.raises(SourceError, match="platform:channel"):
        open_source("twitch")
