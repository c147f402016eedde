"""Where an experiment's wall time goes: named phases, timed and added up.

``phases = Phases()``; ``with phases("judge"): ...`` adds that block's wall seconds to the phase
"judge" (a phase entered several times, such as the measures of each run, adds up). The demo and
the sweep keep ``phases.seconds`` in metrics.json and print it as a table at the end.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Phases:
    """Wall seconds per named phase, in the order the phases were first entered."""

    seconds: dict[str, float] = field(default_factory=dict)
    clock: Callable[[], float] = field(default=time.perf_counter, repr=False)  # seconds, any origin

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        began = self.clock()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + self.clock() - began


def phase_rows(seconds: dict[str, float], total: float) -> list[tuple[str, str, str]]:
    """(phase, seconds, share of ``total``) rows, with the rest of ``total`` as "other" and the total."""
    rest = max(total - sum(seconds.values()), 0.0)
    rows = [(name, f"{s:.1f}", f"{s / total:.0%}") for name, s in [*seconds.items(), ("other", rest)]]
    return [*rows, ("total", f"{total:.1f}", "100%")]
