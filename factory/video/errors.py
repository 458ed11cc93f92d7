"""The one error type for video input that cannot be read."""

from __future__ import annotations

import os


class VideoError(Exception):
    """A video cannot be probed or decoded; `str(e)` is f"{path}: {reason}".

    Callers (the executor) record it in the `errors` table and fail that video, not the run.
    """

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        # Exception pickles its args (the joined message) by default; Ray ships errors between
        # processes, so rebuild from the two fields instead.
        return (type(self), (self.path, self.reason))
