"""fedsim from Python: run a scenario, get its results as pandas objects.

    >>> import fedsim
    >>> r = fedsim.run("scenarios/quickstart.yaml", set={"stop.rounds": 5})
    >>> r.metrics.plot(x="virtual_time_s", y="accuracy")

    >>> c = fedsim.compare(["scenarios/sync_vs_async/fedavg.yaml",
    ...                     "scenarios/sync_vs_async/fedbuff.yaml"])
    >>> c.table[["scenario", "final_accuracy", "time_to_target_s"]]

The simulation is the Rust library (the same code as the ``fedsim`` command);
this package only loads the folders it writes.
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

__all__ = [
    "run",
    "compare",
    "sweep",
    "validate",
    "Result",
    "Experiment",
    "ScenarioError",
    "RunError",
    "__version__",
]
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


def _source(scenario: Scenario, label: str = "<dict>") -> dict[str, Any]:
    """The keyword arguments naming the scenario for the extension."""
    if isinstance(scenario, Mapping):
        # A dict is written as YAML text named after the current folder, so
        # relative paths inside it resolve against the current directory.
        text = _fedsim.json_to_yaml(json.dumps(scenario))
        return {"text": text, "name": os.path.join(os.getcwd(), f"{label}.yaml")}
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


def _out_or_temp(out: Optional[Union[str, "os.PathLike[str]"]], leaf: str):
    """The folder to write and the temporary folder that holds it (if any)."""
    if out is not None:
        return os.fspath(out), None
    tmp = tempfile.TemporaryDirectory(prefix="fedsim-")
    return os.path.join(tmp.name, leaf), tmp


class Experiment:
    """A finished ``compare`` or ``sweep``: its folder and its tables.

    ``table`` is ``compare.csv`` (one row a scenario) or ``sweep.csv`` (one
    row a combination, means and standard deviations over ``seed``);
    ``runs`` is one row a run (``compare.csv`` again, or ``sweep_runs.csv``).
    A member that failed is a row whose ``error`` column says why.
    ``members`` maps each member folder's name to its :class:`Result`,
    loaded on first access.
    """

    def __init__(self, dir: str, table: str, runs: str, tmp: Optional[tempfile.TemporaryDirectory] = None):
        self._tmp = tmp
        self.dir: Path = Path(dir)
        import pandas as pd

        self.table: "pd.DataFrame" = pd.read_csv(self.dir / table)
        self.runs: "pd.DataFrame" = pd.read_csv(self.dir / runs)
        self._members: Optional[dict[str, Result]] = None

    @property
    def members(self) -> "dict[str, Result]":
        """Every member run that finished, by folder name (sorted)."""
        if self._members is None:
            self._members = {
                d.name: Result(str(d))
                for d in sorted(self.dir.iterdir())
                if (d / "summary.json").exists() and (d / "metrics.csv").exists()
            }
        return self._members

    @property
    def report_html(self) -> Path:
        """The experiment's HTML page: every member's curve and the table."""
        return self.dir / "report.html"

    def __repr__(self) -> str:
        return f"<fedsim.Experiment {self.dir} runs={len(self.runs)}>"


def compare(
    scenarios: "list[Scenario]",
    set: Optional[Mapping[str, Any]] = None,
    out: Optional[Union[str, "os.PathLike[str]"]] = None,
    target: Optional[float] = None,
    jobs: Optional[int] = None,
    fail_fast: bool = False,
) -> Experiment:
    """Runs scenarios side by side, like ``fedsim compare``.

    ``scenarios`` are paths or dicts; ``set`` overrides keys in every one of
    them. ``target`` is the accuracy whose time-to-target the table gives
    (default: the scenarios' own ``stop.target_accuracy``). ``jobs`` runs
    at once (default: all cores; the results do not depend on it). Without
    ``fail_fast``, a member that fails is a row with its error; with it, the
    first failure raises and nothing is written.
    """
    members = []
    for i, s in enumerate(scenarios):
        src = _source(s, f"<dict {i}>")
        members.append((src["path"], None) if "path" in src else (src["name"], src["text"]))
    if not members:
        raise ValueError("compare: expected at least one scenario")
    out, tmp = _out_or_temp(out, "compare")
    dir = _fedsim.compare_scenarios(
        out, members, sets=_sets(set), target=target, jobs=jobs, fail_fast=fail_fast
    )
    return Experiment(dir, "compare.csv", "compare.csv", tmp)


def sweep(
    scenario: Union[str, "os.PathLike[str]"],
    out: Optional[Union[str, "os.PathLike[str]"]] = None,
    jobs: Optional[int] = None,
    fail_fast: bool = False,
) -> Experiment:
    """Runs the cross product of a scenario file's ``sweep:`` map, like
    ``fedsim sweep``; ``table`` is ``sweep.csv`` and ``runs`` is
    ``sweep_runs.csv``."""
    out, tmp = _out_or_temp(out, "sweep")
    dir = _fedsim.sweep_scenario(os.fspath(scenario), out, jobs=jobs, fail_fast=fail_fast)
    return Experiment(dir, "sweep.csv", "sweep_runs.csv", tmp)


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
    out, tmp = _out_or_temp(out, "run")
    dir = _fedsim.run_scenario(out, sets=_sets(set), threads=threads, **kwargs)
    return Result(dir, tmp)


def validate(scenario: Scenario, set: Optional[Mapping[str, Any]] = None) -> None:
    """Checks a scenario without running it; raises :class:`ScenarioError`."""
    _fedsim.validate(sets=_sets(set), **_source(scenario))
