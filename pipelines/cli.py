"""`soccerfactory` command line: one sub-command per module in pipelines/commands."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module exposes HELP (one line), add_arguments(parser) and run(args) -> exit code.
COMMANDS = {
    "plan": "pipelines.commands.plan",
    "synth": "pipelines.commands.synth",
    "calibrate": "pipelines.commands.calibrate",
    "annotate": "pipelines.commands.annotate",
    "detect": "pipelines.commands.detect",
    "train-detector": "pipelines.commands.train_detector",
    "train": "pipelines.commands.train",
    "spot": "pipelines.commands.spot",
    "shards": "pipelines.commands.shards",
    "shards-read": "pipelines.commands.shards_read",
    "eval-gsr": "pipelines.commands.eval_gsr",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soccerfactory", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.HELP))
    args = parser.parse_args(argv)
    return int(modules[args.command].run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
