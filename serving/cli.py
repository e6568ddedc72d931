"""`chatloop serve`: run the chat bot on one or more sources, optionally with the HTTP API.

`--source` may be repeated: one model and one decision log for all of them
(serving.multisource). Platform moderation events of the sources are relayed to the
feedback service (serving.platform_moderation), moderators' `!label` commands and Discord
reactions too (serving.chat_commands; needs CHATLOOP_FEEDBACK_URL and the service token
CHATLOOP_FEEDBACK_TOKEN), and live label drift is watched (serving.drift).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys

from chatloop.errors import UsageError, run_cli
from components.config import load_params, state_dir

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chatloop serve", description=__doc__)
    p.add_argument("--source", required=True, action="append",
                   help="soop:BJID[/BNO] | chzzk:CHANNEL_ID | twitch:CHANNEL | discord:CHANNEL_ID "
                        "| replay:FILE (.jsonl or .csv); repeat for several sources at once")
    p.add_argument("--model", default="models:/chatloop@champion",
                   help="models:/NAME@ALIAS, models:/NAME/VERSION or a local model dir")
    p.add_argument("--decisions-out", help="also write every decision as a JSONL line here")
    p.add_argument("--act", action="store_true",
                   help="really moderate and send answers (default: dry run, log only)")
    p.add_argument("--rate", help="replay speed: messages/s, or 'recorded' (default: as fast as possible)")
    p.add_argument("--faq", help="the channel's FAQ YAML (question variants -> answer)")
    p.add_argument("--card", default="", help="the channel card: a few facts about the stream")
    p.add_argument("--http-port", type=int, help="also serve the HTTP API on this port")
    p.add_argument("--http-host", default="127.0.0.1", help="HTTP API address (0.0.0.0 in a pod)")
    p.add_argument("--poll-seconds", type=float, help="override serving.poll_seconds")
    p.add_argument("--params", help="params file (default: params.yaml)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="debug logging, and a traceback with every error")
    return p


def parse_rate(value: str | None):
    if value is None or value == "recorded":
        return value
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if rate <= 0:
        raise UsageError(f"--rate must be a positive number or 'recorded', not {value!r}")
    return rate


async def serve(args, everything: dict) -> None:
    """Run the bot; `everything` is the whole params file (its `serving:` section mostly)."""
    from serving.actions import Actions
    from serving.answers import Answerer, load_faq
    from serving.bot import Bot
    from serving.decisions import DecisionLog
    from serving.metrics import Metrics
    from serving.model_host import ModelHost
    from serving.drift import DriftMonitor, registry_shares, retrain_trigger
    from serving.multisource import MergedSource, wire
    from serving.platform_moderation import ModerationRelay

    params = everything["serving"]
    specs = [args.source] if isinstance(args.source, str) else list(args.source)
    if len(set(specs)) != len(specs):
        raise UsageError(f"--source given twice: {sorted(s for s in specs if specs.count(s) > 1)}")
    commands, client = chat_commands()
    sources = [open_spec(spec, commands, parse_rate(args.rate), params["sources"])
               for spec in specs]
    source = sources[0] if len(sources) == 1 else MergedSource(sources, names=specs)
    answerer = Answerer(params["answer"], load_faq(args.faq) if args.faq else [], args.card)
    host = ModelHost(args.model, args.poll_seconds or params["poll_seconds"], device=args.device)
    await asyncio.to_thread(host.load)
    log.info("serving %s with model %s version %s", ", ".join(specs), host.name, host.version)
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "_", "+".join(specs))[:150]
    decisions = DecisionLog(out_path=args.decisions_out,
                            spool_path=state_dir() / f"decisions-spool-{tag}.jsonl",
                            flush_seconds=params["decisions_flush_seconds"],
                            max_text_chars=everything["feedback"]["max_text_chars"])
    relay = ModerationRelay(spool_path=state_dir() / f"platform-events-spool-{tag}.jsonl",
                            flush_seconds=params["decisions_flush_seconds"])
    for one in sources:
        wire(one, relay)
    settings = params["drift"]
    drift = DriftMonitor(
        window=settings["window"], min_decisions=settings["min_decisions"],
        max_js_distance=settings["max_js_distance"], check_seconds=settings["check_seconds"],
        shares_for=registry_shares(host.name),
        on_drift=retrain_trigger(settings["trigger"], everything["feedback"], everything))
    metrics = Metrics()
    bot = Bot(source, host, params, answerer=answerer,
              actions=Actions(args.act, params["actions"]["timeout_s"],
                              max_tries=params["actions"]["max_tries"],
                              max_wait_s=params["actions"]["max_wait_s"],
                              default_retry_s=params["actions"]["default_retry_s"],
                              refresh_margin_s=params["actions"]["token_refresh_margin_s"]),
              decisions=decisions, metrics=metrics, drift=drift)
    helpers = [asyncio.create_task(relay.run()), asyncio.create_task(drift.run())]
    server = None
    if args.http_port is not None:
        import uvicorn
        from serving.api import create_app
        config = uvicorn.Config(create_app(host, params, answerer, metrics), host=args.http_host,
                                port=args.http_port, log_level="warning")
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # this loop handles signals below
        http_task = asyncio.create_task(server.serve())
    main = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main.cancel)
    try:
        await bot.run()
    finally:
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        if commands is not None:
            await commands.drain()
            client.close()
        await relay.close()
        if server is not None:
            server.should_exit = True
            await http_task
        host.close()
    log.info("done: %d decisions (%d spooled for the feedback service)",
             decisions.count, decisions.pending() if decisions.url else 0)


def chat_commands():
    """(ChatCommands, FeedbackClient) relaying moderators' chat commands to the feedback
    service, or (None, None) without CHATLOOP_FEEDBACK_URL and CHATLOOP_FEEDBACK_TOKEN."""
    import os

    from serving.decisions import TOKEN_ENV, URL_ENV
    url, token = os.environ.get(URL_ENV), os.environ.get(TOKEN_ENV)
    if not (url and token):
        log.info("chat commands off: %s and %s are not both set", URL_ENV, TOKEN_ENV)
        return None, None
    from feedback.client import FeedbackClient
    from serving.chat_commands import ChatCommands
    from serving.sources.base import check_url
    client = FeedbackClient(check_url(url), token)
    return ChatCommands(client), client


def open_spec(spec: str, commands, rate, settings: dict | None = None):
    """The source for one --source spec (Twitch and Discord with chat commands wired);
    `settings`: params serving.sources."""
    from serving.sources import open_source
    platform = spec.partition(":")[0]
    if platform == "replay":
        return open_source(spec, rate=rate)
    if commands is not None and platform in ("twitch", "discord"):
        from serving.chat_commands import open_with_commands
        return open_with_commands(spec, commands)
    mine = (settings or {}).get(platform, {})
    options = ({"ping_interval": mine["ping_interval_s"]} if "ping_interval_s" in mine else {})
    if platform == "youtube" and mine:
        options = {"daily_quota": mine["daily_quota"],
                   "quota_warn_fraction": mine["quota_warn_fraction"]}
    return open_source(spec, **options)


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when stopped (SIGINT/SIGTERM) or the sources end; a ChatloopError is one line
    and exit 2 (chatloop.errors)."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def run() -> int:
        params = load_params(args.params)
        try:
            asyncio.run(serve(args, params))
        except asyncio.CancelledError:
            log.info("stopped")
        return 0

    return run_cli("chatloop serve", run, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
