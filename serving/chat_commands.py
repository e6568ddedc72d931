"""Moderators' corrections from the chat the bot reads: `!label <label> <message id>` and,
on Discord, reactions (feedback.commands: REACTION_LABELS).

`ChatCommands` relays them to the feedback service (a FeedbackClient with the service
token, or a feedback Store); the blocking call runs in a worker thread, so the chat is
never held up. A moderator's `!label` message is a command, not chat: it is not classified.
Anyone else's `!label` text is ignored as a command (logged) and classified like any chat
(so the prefix cannot hide spam).

Who is a moderator:
- Twitch: the PRIVMSG tags `mod=1`, or a `broadcaster`, `moderator` or `lead_moderator`
  badge (IRC tags docs, dev.twitch.tv/docs/chat/irc/#privmsg-tags).
- Discord: a guild member whose permissions in the channel include Manage Messages (or
  Administrator), computed by discord.py from the member's roles and the guild's cached
  roles and channel overwrites. Reactions arrive as MESSAGE_REACTION_ADD with the member.

`TwitchCommandSource` and `DiscordCommandSource` are the platform sources with this wired
in (`open_with_commands` picks them for `twitch:` and `discord:` specs).
"""
from __future__ import annotations

import asyncio
import collections
import logging

from feedback.commands import REACTION_LABELS, handle_chat_command, handle_reaction
from serving.sources import open_source
from serving.sources.discord import DiscordSource
from serving.sources.twitch import TwitchSource

log = logging.getLogger(__name__)
TWITCH_MOD_BADGES = ("broadcaster", "moderator", "lead_moderator")


def twitch_is_moderator(tags: dict) -> bool:
    """A Twitch chat message's author moderates the channel (from its IRC tags)."""
    badges = {b.partition("/")[0] for b in (tags.get("badges") or "").split(",") if b}
    return tags.get("mod") == "1" or bool(badges & set(TWITCH_MOD_BADGES))


def discord_is_moderator(member, channel) -> bool:
    """A Discord member may manage messages in `channel` (guild permissions otherwise)."""
    try:
        perms = channel.permissions_for(member) if channel is not None and hasattr(
            channel, "permissions_for") else member.guild_permissions
    except (AttributeError, TypeError):     # a User (no guild), or no cached guild
        return False
    return bool(perms.manage_messages or perms.administrator)


class ChatCommands:
    """Relays moderators' commands and reactions; `store` is a FeedbackClient or Store."""

    def __init__(self, store):
        self.store = store
        self.stats: collections.Counter[str] = collections.Counter()   # commands, reactions
        self.pending: set[asyncio.Future] = set()

    def command(self, platform: str, is_moderator: bool, moderator: str, text: str) -> bool:
        """True when `text` is a moderator's `!label` command (relayed; not chat)."""
        if not isinstance(text, str) or not text.lstrip().lower().startswith("!label"):
            return False
        if not is_moderator:
            log.info("%s: !label from non-moderator %s is treated as chat", platform, moderator)
            return False
        self.stats["commands"] += 1
        self._spawn(handle_chat_command, self.store, platform, True, moderator, text)
        return True

    def reaction(self, platform: str, is_moderator: bool, moderator: str, emoji: str,
                 message_id: str) -> bool:
        """True when a moderator's reaction names a label (relayed)."""
        if not is_moderator or emoji not in REACTION_LABELS:
            return False
        self.stats["reactions"] += 1
        self._spawn(handle_reaction, self.store, platform, True, moderator, emoji, message_id)
        return True

    def _spawn(self, fn, *args) -> None:
        future = asyncio.get_running_loop().run_in_executor(None, fn, *args)
        self.pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: asyncio.Future) -> None:
        self.pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("chat command failed: %r", future.exception())

    async def drain(self) -> None:
        """Wait for the corrections still being relayed."""
        if self.pending:
            await asyncio.gather(*list(self.pending), return_exceptions=True)


class TwitchCommandSource(TwitchSource):
    """TwitchSource whose moderators' `!label` messages go to `commands`, not to the bot."""

    def __init__(self, channel: str, *, commands: ChatCommands, **kwargs):
        super().__init__(channel, **kwargs)
        self.commands = commands

    def _chat(self, *args, **kwargs):
        message = super()._chat(*args, **kwargs)
        tags = next((a for a in args if isinstance(a, dict)), {})   # the message's IRC tags
        if message is not None and self.commands.command(
                self.platform, twitch_is_moderator(tags),
                f"twitch:{message.nickname}", message.text):
            self.stats["commands"] += 1
            return None
        return message


class DiscordCommandSource(DiscordSource):
    """DiscordSource whose moderators' `!label` messages and label reactions go to
    `commands`; other messages are chat as before."""

    def __init__(self, channel_id: str, *, commands: ChatCommands, **kwargs):
        super().__init__(channel_id, **kwargs)
        self.commands = commands

    def _client(self, queue):
        client = super()._client(queue)
        chat = client.on_message

        async def on_message(message) -> None:
            author = message.author
            if (self._watched(message.channel) and not author.bot
                    and self.commands.command("discord",
                                              discord_is_moderator(author, message.channel),
                                              f"discord:{author.name}", message.content)):
                self.stats["commands"] += 1
                return
            await chat(message)

        async def on_raw_reaction_add(payload) -> None:
            if str(payload.channel_id) != self.channel or payload.member is None:
                return
            guild = client.get_guild(payload.guild_id) if payload.guild_id else None
            channel = guild.get_channel(payload.channel_id) if guild else None
            if self.commands.reaction("discord", discord_is_moderator(payload.member, channel),
                                      f"discord:{payload.member.name}", str(payload.emoji),
                                      str(payload.message_id)):
                self.stats["reactions"] += 1

        client.on_message = on_message
        client.on_raw_reaction_add = on_raw_reaction_add
        return client


def open_with_commands(spec: str, commands: ChatCommands | None, **options):
    """open_source(spec), with chat commands wired for Twitch and Discord when `commands`."""
    platform, _, rest = spec.partition(":")
    if commands is not None and rest and platform == "twitch":
        return TwitchCommandSource(rest, commands=commands, **options)
    if commands is not None and rest and platform == "discord":
        return DiscordCommandSource(rest, commands=commands, **options)
    return open_source(spec, **options)
