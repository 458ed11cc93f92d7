"""The stage model (DESIGN.md section 3): what every stage declares and implements.

The executor in pipelines/ reads a stage's inputs, calls `run`, validates and writes the output
atomically, writes the done-marker, records errors and retries. A stage never touches the run
directory and never imports another stage: stages meet only in tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage needs; the Ray executor turns this into actor options."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_mb: int = 1024


class Stage:
    """One step of the pipeline.

    name:      the stage's name, also the name of the table it writes (a schema in schemas/).
    inputs:    names of upstream tables it reads; the executor passes each filtered to the
               unit of work (the segment's video and frame range, or the whole video).
    scope:     "segment" (run once per segment) or "video" (once per video, after all of the
               video's segments are done upstream).
    resources: CPUs / GPUs / memory of one worker.
    """

    name: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]] = ()
    scope: ClassVar[str] = "segment"
    resources: ClassVar[Resources] = Resources()

    def __init__(self, config: Mapping[str, Any] | None = None):
        self.config = dict(config or {})

    def setup(self) -> None:
        """Load models once per worker (local files named in the config only)."""

    def run(self, segment: Mapping[str, Any], inputs: Mapping[str, pa.Table]) -> pa.Table:
        """Produce this unit's output table; a pure function of the video and the inputs.

        `segment` is a row of the segments table (video, path, fps, width, height, num_frames,
        shot, segment, start_frame, end_frame); for video-scope stages it is the video's first
        row with start_frame 0 and end_frame num_frames.
        """
        raise NotImplementedError
