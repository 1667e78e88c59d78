"""Progress bars of a run: one tqdm bar per step counting finished children
(``tqdm.auto``: a widget in Jupyter, a text bar in a terminal)."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from tqdm.auto import tqdm

from pipeline.runs import STEPS, RunState


class StepBars:
    """One bar per pipeline step, fed by :func:`pipeline.runs.wait_for_run`; a context
    manager that closes its bars on exit (``with StepBars() as bars: ...``)."""

    def __init__(self, disable: bool = False) -> None:
        self.disable = disable
        self.bars: dict[str, Any] = {}

    def __call__(self, state: RunState, progress: dict[str, dict[str, int]]) -> None:
        """Show the latest per-step counts."""
        for position, step in enumerate(STEPS):
            counts = progress.get(step)
            if counts is None:
                continue
            bar = self.bars.get(step)
            if bar is None:
                bar = tqdm(
                    total=counts["total"],
                    desc=f"{step:<8}",
                    unit="child",
                    position=position,
                    leave=True,
                    disable=self.disable,
                )
                self.bars[step] = bar
            finished = counts["succeeded"] + counts["failed"]
            bar.update(finished - bar.n)
            if counts["failed"]:
                bar.set_postfix(failed=counts["failed"], refresh=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every bar."""
        for bar in self.bars.values():
            bar.close()
