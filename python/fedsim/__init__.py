"""fedsim from Python: run a scenario, get its results as pandas objects.

    >>> import fedsim
    >>> r = fedsim.run("scenarios/quickstart.yaml", set={"stop.rounds": 5})
    >>> r.metrics.plot(x="virtual_time_s", y="accuracy")

The simulation is the Rust library (the same code as the ``fedsim`` command);
this package only loads the run folder it writes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from . import _fedsim
from ._fedsim import RunError, ScenarioError

__all__ = ["run", "validate", "Result", "ScenarioError", "RunError", "__version__"]
__version__ = _fedsim.__version__

Scenario = Union[str, "os.PathLike[str]", Mapping[str, Any]]


def _yaml_value(value: Any) -> str:
    """One ``set=`` value as the YAML text ``--set KEY=VALUE`` takes."""
    if isinstance(value, str):
        return value
    # JSON is YAML: numbers, booleans, null, lists and mappings as flow.
    return json.dumps(value)


def _sets(set: Optional[Mapping[str, Any]]) -> list[tuple[str, str]]:
    return [(str(k), _yaml_value(v)) for k, v in (set or {}).items()]


def _source(scenario: Scenario) -> dict[str, Any]:
    """The keyword arguments naming the scenario for the extension."""
    if isinstance(scenario, Mapping):
        # A dict is written as YAML text named after the current folder, so
        # relative paths inside it resolve against the current directory.
        text = _fedsim.json_to_yaml(json.dumps(scenario))
        return {"text": text, "name": os.path.join(os.getcwd(), "<dict>.yaml")}
    if isinstance(scenario, (str, os.PathLike)):
        return {"path": os.fspath(scenario)}
    raise TypeError(f"scenario: expected a path or a dict, found {type(scenario).__name__}")


class Result:
    """A finished run: its folder and what it holds.

    ``metrics`` and ``summary`` are read when the run ends; ``events`` on
    first access. A run into a temporary folder keeps that folder alive for
    as long as the ``Result`` lives.
    """

    def __init__(self, dir: str, tmp: Optional[tempfile.TemporaryDirectory] = None):
        self._tmp = tmp  # holds the temporary folder open
        self.dir: Path = Path(dir)
        import pandas as pd

        self.metrics: "pd.DataFrame" = pd.read_csv(self.dir / "metrics.csv")
        with open(self.dir / "summary.json", encoding="utf-8") as f:
            self.summary: dict[str, Any] = json.load(f)
        self._events = None

    @property
    def events(self) -> "pd.DataFrame":
        """The event log (``events.jsonl``), one row an event; loaded once."""
        if self._events is None:
            import pandas as pd

            self._events = pd.read_json(self.dir / "events.jsonl", lines=True)
        return self._events

    @property
    def report_html(self) -> Optional[Path]:
        """The run's HTML report, when it wrote one."""
        path = self.dir / "report.html"
        return path if path.exists() else None

    def save(self, dest: Union[str, "os.PathLike[str]"]) -> Path:
        """Copies the run folder to ``dest`` (which must not exist)."""
        return Path(shutil.copytree(self.dir, dest))

    def __repr__(self) -> str:
        return f"<fedsim.Result {self.dir} rounds={len(self.metrics)}>"


def run(
    scenario: Scenario,
    set: Optional[Mapping[str, Any]] = None,
    out: Optional[Union[str, "os.PathLike[str]"]] = None,
    threads: Optional[int] = None,
) -> Result:
    """Runs a scenario and returns its :class:`Result`.

    ``scenario`` is a YAML file's path or a dict with the same content.
    ``set`` overrides keys like the command line's ``--set``
    (``{"strategy.kind": "fedbuff", "stop.rounds": 5}``). ``out`` is the run
    folder (replaced if it exists); None runs into a temporary folder.
    ``threads`` is the number of compute threads (default: all cores); it
    does not change the results.

    Raises :class:`ScenarioError` for a bad scenario (with ``file``,
    ``line``, ``column`` and ``key`` when known) and :class:`RunError` when
    the run fails. Ctrl-C stops the run and raises ``KeyboardInterrupt``.
    """
    kwargs = _source(scenario)
    tmp = None
    if out is None:
        tmp = tempfile.TemporaryDirectory(prefix="fedsim-")
        out = os.path.join(tmp.name, "run")
    dir = _fedsim.run_scenario(os.fspath(out), sets=_sets(set), threads=threads, **kwargs)
    return Result(dir, tmp)


def validate(scenario: Scenario, set: Optional[Mapping[str, Any]] = None) -> None:
    """Checks a scenario without running it; raises :class:`ScenarioError`."""
    _fedsim.validate(sets=_sets(set), **_source(scenario))
