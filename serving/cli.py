"""`chatloop serve`: run the chat bot on one source, optionally with the HTTP API."""
from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys

from components.config import load_params, state_dir

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chatloop serve", description=__doc__)
    p.add_argument("--source", required=True,
                   help="soop:BJID[/BNO] | chzzk:CHANNEL_ID | twitch:CHANNEL | discord:CHANNEL_ID "
                        "| replay:FILE (.jsonl or .csv)")
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
    return p


def parse_rate(value: str | None):
    if value is None or value == "recorded":
        return value
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if rate <= 0:
        raise ValueError(f"--rate must be a positive number or 'recorded', not {value!r}")
    return rate


async def serve(args, params: dict) -> None:
    from serving.actions import Actions
    from serving.answers import Answerer, load_faq
    from serving.bot import Bot
    from serving.decisions import DecisionLog
    from serving.metrics import Metrics
    from serving.model_host import ModelHost
    from serving.sources import open_source

    source = open_source(args.source, rate=parse_rate(args.rate))
    answerer = Answerer(params["answer"], load_faq(args.faq) if args.faq else [], args.card)
    host = ModelHost(args.model, args.poll_seconds or params["poll_seconds"], device=args.device)
    await asyncio.to_thread(host.load)
    log.info("serving %s with model %s version %s", args.source, host.name, host.version)
    spool = state_dir() / f"decisions-spool-{re.sub(r'[^A-Za-z0-9_.-]+', '_', args.source)}.jsonl"
    decisions = DecisionLog(out_path=args.decisions_out, spool_path=spool,
                            flush_seconds=params["decisions_flush_seconds"])
    metrics = Metrics()
    bot = Bot(source, host, params, answerer=answerer,
              actions=Actions(args.act, params["actions"]["timeout_s"]),
              decisions=decisions, metrics=metrics)
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
        if server is not None:
            server.should_exit = True
            await http_task
    log.info("done: %d decisions (%d spooled for the feedback service)",
             decisions.count, decisions.pending() if decisions.url else 0)


def main(argv: list[str] | None = None) -> int:
    from components.registry import RegistryError
    from serving.answers import FAQError
    from serving.sources.base import SourceError

    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        params = load_params(args.params)["serving"]
        asyncio.run(serve(args, params))
    except asyncio.CancelledError:
        log.info("stopped")
        return 0
    except (SourceError, FAQError, RegistryError, FileNotFoundError, ValueError, KeyError) as exc:
        print(f"chatloop serve: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
