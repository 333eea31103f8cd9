"""The Rust extension module (see python/src/lib.rs)."""

from typing import Optional

__version__: str

class ScenarioError(Exception):
    """A scenario that cannot be loaded; the message says where and why."""

    file: Optional[str]
    line: Optional[int]
    column: Optional[int]
    key: Optional[str]

class RunError(Exception):
    """A valid scenario whose run failed."""

def run_scenario(
    out: str,
    path: Optional[str] = None,
    text: Optional[str] = None,
    name: Optional[str] = None,
    sets: list[tuple[str, str]] = ...,
    threads: Optional[int] = None,
) -> str: ...
def validate(
    path: Optional[str] = None,
    text: Optional[str] = None,
    name: Optional[str] = None,
    sets: list[tuple[str, str]] = ...,
) -> None: ...
def compare_scenarios(
    out: str,
    scenarios: list[tuple[str, Optional[str]]],
    sets: list[tuple[str, str]] = ...,
    target: Optional[float] = None,
    jobs: Optional[int] = None,
    fail_fast: bool = False,
) -> str: ...
def sweep_scenario(
    path: str,
    out: str,
    jobs: Optional[int] = None,
    fail_fast: bool = False,
) -> str: ...
def json_to_yaml(json: str) -> str: ...
