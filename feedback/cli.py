"""`chatloop feedback serve|export`: the feedback service and the DVC export.

A failed export step (ExportError) is one line and exit 1, and the next run resumes; any
other ChatloopError is one line and exit 2; `-v` adds the traceback (chatloop.errors)."""
from __future__ import annotations

import argparse
import logging
import sys

from chatloop.errors import report, run_cli

log = logging.getLogger("chatloop.feedback")


def settings(params_path: str | None = None) -> tuple[dict, dict]:
    """(params.yaml's `feedback:` section, all params), validated by load_params."""
    from components.config import load_params
    params = load_params(params_path)
    return params["feedback"], params


def app_from_env():
    """uvicorn factory (`feedback.cli:app_from_env`): store and tokens from the environment."""
    from feedback.api import create_app
    from feedback.store import Store
    section, _ = settings()
    return create_app(Store(max_text_chars=section["max_text_chars"]), settings=section)


def cmd_serve(args) -> int:
    import os

    import uvicorn
    if args.db:
        os.environ["CHATLOOP_FEEDBACK_DB"] = args.db
    uvicorn.run("feedback.cli:app_from_env", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, access_log=False)
    return 0


def cmd_export(args) -> int:
    from feedback.export import ExportError, export, find_repo, maybe_trigger
    from feedback.store import Store
    try:
        repo = find_repo(args.repo)
        section, params = settings(args.params or (repo / "params.yaml"
                                                   if (repo / "params.yaml").exists() else None))
        store = Store(args.db)
        done = export(store, repo, folder=args.folder, push=args.push, git_push=args.git_push)
        for row in done:
            print(f"export {row['id']}: {row['count']} corrections -> {row['file']} "
                  f"(commit {row['git_commit'][:10]})")
        if not done:
            print("nothing to export")
        if args.trigger:
            started = maybe_trigger(store, repo, section, params)
            print(f"started pipeline run: {started}" if started else
                  "no pipeline run started (threshold not reached or trigger is none)")
    except ExportError as exc:
        return report("chatloop feedback export", exc, args.verbose, code=1)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatloop feedback", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, and a traceback with every error")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("serve", help="run the feedback API and moderator console")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--db", help="SQLAlchemy URL (default: $CHATLOOP_FEEDBACK_DB or "
                                ".chatloop/feedback.db)")
    p.add_argument("--workers", type=int, default=1,
                   help="uvicorn worker processes (keep 1 with SQLite)")
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("export", help="export new corrections to DVC, push, commit the pointer")
    p.add_argument("--repo", default=".", help="the project checkout (default: the current one)")
    p.add_argument("--folder", default="data/feedback", help="DVC-tracked folder in the repo")
    p.add_argument("--db", help="SQLAlchemy URL of the store")
    p.add_argument("--params", help="params file (default: the repo's params.yaml)")
    p.add_argument("--push", action=argparse.BooleanOptionalAction, default=True,
                   help="dvc push to the default remote (default: yes)")
    p.add_argument("--git-push", action="store_true",
                   help="git push the commit to origin before the export counts as done")
    p.add_argument("--trigger", action="store_true",
                   help="start the next pipeline run when params feedback.export_threshold "
                        "corrections have been exported since the last one")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_cli("chatloop feedback", lambda: args.func(args), verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
