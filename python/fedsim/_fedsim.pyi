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
def json_to_yaml(json: str) -> str: ...
