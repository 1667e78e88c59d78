"""Progress bars of a run: one tqdm bar per step counting finished children
(``tqdm.auto``: a widget in Jupyter, a text bar in a terminal).

In a notebook the widgets live only while the kernel does: a saved notebook (and its HTML)
keeps no widget state, so a reopened notebook would show "model not found" or bars stuck at
0 %. The bars are therefore shown through one display handle and, when they close,
replaced by their final state as plain text, which the saved notebook and its HTML keep.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, Self

from tqdm.auto import tqdm

from pipeline.runs import STEPS, RunState


def _in_notebook() -> bool:
    """Whether ``tqdm.auto`` chose the notebook (widget) bars (it imports them only then)."""
    notebook = sys.modules.get("tqdm.notebook")
    return notebook is not None and issubclass(tqdm, notebook.tqdm)


class StepBars:
    """One bar per pipeline step, fed by :func:`pipeline.runs.wait_for_run`; a context
    manager that closes its bars on exit (``with StepBars() as bars: ...``). Each bar's
    total is the step's array size as reported, updated if a later report differs."""

    def __init__(self, disable: bool = False) -> None:
        self.disable = disable
        self.bars: dict[str, Any] = {}
        self._widgets = not disable and _in_notebook()
        self._box: Any = None
        self._handle: Any = None

    def _new_bar(self, step: str, position: int, total: int) -> Any:
        options = {"display": False} if self._widgets else {}
        bar = tqdm(
            total=total,
            desc=f"{step:<8}",
            unit="child",
            position=position,
            leave=True,
            disable=self.disable,
            **options,
        )
        if self._widgets:
            self._show(bar.container)
        return bar

    def _show(self, container: Any) -> None:
        """Add a bar's widget to the one box shown for all bars (shown on first use)."""
        from IPython.display import display
        from ipywidgets import VBox

        if self._box is None:
            self._box = VBox([container])
            self._handle = display(self._box, display_id=True)
        else:
            self._box.children = (*self._box.children, container)

    def __call__(self, state: RunState, progress: dict[str, dict[str, int]]) -> None:
        """Show the latest per-step counts."""
        for position, step in enumerate(STEPS):
            counts = progress.get(step)
            if counts is None:
                continue
            bar = self.bars.get(step)
            if bar is None:
                bar = self.bars[step] = self._new_bar(step, position, counts["total"])
            elif bar.total != counts["total"]:
                bar.total = counts["total"]
            finished = counts["succeeded"] + counts["failed"]
            bar.update(finished - bar.n)
            if counts["failed"]:
                bar.set_postfix(failed=counts["failed"], refresh=False)

    def text(self) -> str:
        """The bars as text, one line each (their state now)."""
        return "\n".join(str(bar) for bar in self.bars.values())

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
        """Close every bar; in a notebook, leave their final state as text in place of the
        widgets."""
        for bar in self.bars.values():
            bar.close()
        if self._handle is not None:
            from IPython.display import Pretty

            self._handle.update(Pretty(self.text()))
            self._box.close()
            self._handle = None
