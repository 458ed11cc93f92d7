"""Quality evaluations: each module has main(argv=None) writing JSON under results/eval/."""

from pathlib import Path

# The real development data beside the checkout (../shared/data), the evaluations' default.
DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
