"""`soccerfactory eval-gsr GT.json PRED.json`: GS-HOTA, HOTA and IDF1 of a SoccerNet game-state
prediction file against labels (factory/eval/gamestate.py), printed as one JSON object."""

from __future__ import annotations

HELP = "score SoccerNet game-state JSON predictions against labels (GS-HOTA, HOTA, IDF1)"


def add_arguments(parser) -> None:
    parser.add_argument("truth", metavar="GT.json",
                        help="labels (Labels-GameState.json) or predictions taken as truth")
    parser.add_argument("pred", metavar="PRED.json", help="predictions, e.g. our export")


def run(args) -> int:
    import json
    import sys

    from factory.eval.gamestate_json import GsrFileError, score_gsr

    try:
        result = score_gsr(args.truth, args.pred)
    except GsrFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0
