"""Person ground truth of a rendered synthetic clip with the boxes an evaluation should not
count: people almost entirely hidden behind others (occlusion above MAX_OCCLUSION, i.e. less
than a quarter visible, MOTChallenge's usual visibility cut) or cut to a sliver by the frame
edge (fewer than MIN_VISIBLE_PIXELS drawn pixels). No detector can find them from the image, so
a miss there is not a miss and a box on one is neither right nor wrong: they are ignored, the
way COCO treats crowd regions and MOTChallenge treats distractors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from factory.synth.truth import MAX_OCCLUSION, MIN_VISIBLE_PIXELS


def person_truth(truth_dir: Path) -> pd.DataFrame:
    """gamestate rows of persons (the ball dropped) with a bool column `ignore`."""
    truth = pq.read_table(Path(truth_dir) / "gamestate.parquet").to_pandas()
    truth = truth[truth.role != "ball"]
    persons_path = Path(truth_dir) / "synth_persons.parquet"
    if not persons_path.exists():
        return truth.assign(ignore=False)
    seen = pq.read_table(persons_path, columns=["frame", "track_id", "visible_pixels",
                                                "occlusion"]).to_pandas()
    merged = truth.merge(seen, on=["frame", "track_id"], how="left")
    hidden = (merged.occlusion > MAX_OCCLUSION) | (merged.visible_pixels < MIN_VISIBLE_PIXELS)
    return merged.drop(columns=["visible_pixels", "occlusion"]).assign(
        ignore=hidden.fillna(False).to_numpy(bool))
