"""soccerfactory annotate VIDEOS... --out DIR: the whole pipeline, one run directory."""

from __future__ import annotations

HELP = "annotate videos: plan, calibrate, detect, track, resolve, export (on Ray)"


def add_arguments(parser) -> None:
    parser.add_argument("videos", nargs="+", help="video files")
    parser.add_argument("--out", required=True, help="run directory")
    parser.add_argument("--preset", default="cpu",
                        help="preset name (cpu, gpu) or a YAML file (default cpu)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override a config key, e.g. --set plan.segment_frames=100 "
                             "(repeatable; values are YAML)")
    parser.add_argument("--ray-address", default=None,
                        help="join this Ray cluster instead of starting an embedded one")
    parser.add_argument("--num-cpus", type=int, default=None,
                        help="CPUs of the embedded Ray (default: all)")
    parser.add_argument("--resume", action="store_true",
                        help="continue a run: keep finished work whose config is unchanged")
    parser.add_argument("--serial", action="store_true",
                        help="run in this process without Ray (debugging)")
    parser.add_argument("--quiet", action="store_true", help="no progress display")


def run(args) -> int:
    import sys

    from pipelines.annotate import RunExistsError, annotate
    from pipelines.config import ConfigError
    from pipelines.progress import Progress, format_summary

    overrides = list(args.overrides)
    if args.num_cpus is not None:
        overrides.append(f"ray.num_cpus={args.num_cpus}")
    try:
        summary = annotate(args.videos, args.out, preset=args.preset, overrides=overrides,
                           resume=args.resume, serial=args.serial, ray_address=args.ray_address,
                           progress=None if args.quiet else Progress())
    except (ConfigError, RunExistsError) as e:
        print(f"soccerfactory annotate: {e}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    if summary["failed_units"] or summary["blocked_units"]:
        print(f"errors recorded under {summary['run_dir']}/errors (see summary.json)",
              file=sys.stderr)
        return 1
    return 0
