"""Progress display: per stage (units, frames, frames/s of compute) and overall (fraction,
frames/s of wall time, ETA). On a terminal the block is redrawn in place; otherwise (logs,
CI) one compact line is printed every few seconds."""

from __future__ import annotations

import sys
import time


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    def __init__(self, stream=None, interval: float = 5.0):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval
        self.last_print = 0.0
        self.lines_drawn = 0

    def lines(self, executor) -> list[str]:
        out = []
        for name, s in executor.stats.items():
            fps = f"{s.frames / s.seconds:7.1f} f/s" if s.seconds else "      - f/s"
            extra = "".join(f" {k} {v}" for k, v in (("reused", s.reused), ("failed", s.failed),
                                                     ("blocked", s.blocked)) if v)
            out.append(f"  {name:<12} {s.done:>4}/{s.units:<4} units {s.frames:>7} frames "
                       f"{fps}{extra}")
        o = executor.overall()
        out.append(f"  {'overall':<12} {100 * o['fraction']:5.1f}% of {o['video_frames']} "
                   f"frames  {o['frames_per_second']:.1f} f/s  elapsed "
                   f"{_duration(executor.wall)}  ETA {_duration(o['eta_seconds'])}")
        return out

    def __call__(self, executor) -> None:
        now = time.monotonic()
        if self.tty:
            lines = self.lines(executor)
            if self.lines_drawn:
                self.stream.write(f"\x1b[{self.lines_drawn}F")
            self.stream.write("".join(f"\x1b[2K{line}\n" for line in lines))
            self.lines_drawn = len(lines)
        elif now - self.last_print >= self.interval:
            self.stream.write(self.lines(executor)[-1].strip() + "\n")
            self.last_print = now
        self.stream.flush()


def format_summary(summary: dict) -> str:
    lines = [f"{'stage':<12} {'units':>9} {'frames':>8} {'seconds':>9} {'frames/s':>9}"]
    for name, s in summary["stages"].items():
        fps = f"{s['frames_per_second']:.1f}" if s["frames_per_second"] else "-"
        units = f"{s['done']}/{s['units']}"
        note = "".join(f" {k}={s[k]}" for k in ("reused", "failed", "blocked") if s[k])
        lines.append(f"{name:<12} {units:>9} {s['frames']:>8} {s['seconds']:>9.2f} "
                     f"{fps:>9}{note}")
    fps = summary["frames_per_second"]
    lines.append(f"overall: {summary['videos_planned']}/{summary['videos']} videos, "
                 f"{summary['frames']} frames in {summary['wall_seconds']:.1f} s "
                 f"({fps if fps is not None else '-'} frames/s), compute "
                 f"{summary['compute_seconds']:.1f} s, wall/compute "
                 f"{summary['overhead_ratio']}, failed units {summary['failed_units']}, "
                 f"blocked {summary['blocked_units']}")
    return "\n".join(lines)
