"""Tests of the Python package against the fedsim command line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import fedsim

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
SHORT = {"stop.rounds": 3}


def fedsim_cli() -> list[str]:
    """The CLI: $FEDSIM_BIN (python/test.sh sets it), else cargo run."""
    binary = os.environ.get("FEDSIM_BIN")
    if binary and Path(binary).exists():
        return [binary]
    if shutil.which("cargo") is None:
        pytest.skip("no fedsim binary ($FEDSIM_BIN) and no cargo")
    return ["cargo", "run", "--quiet", "--release", "--bin", "fedsim", "--manifest-path", str(ROOT / "Cargo.toml"), "--"]


def test_run_matches_cli_metrics(tmp_path):
    cli_dir = tmp_path / "cli"
    subprocess.run(
        [*fedsim_cli(), "run", str(QUICKSTART), "--set", "stop.rounds=3", "--out", str(cli_dir), "--quiet"],
        check=True,
    )
    r = fedsim.run(QUICKSTART, set=SHORT)
    # Byte for byte, and as the DataFrame a user would read from the CSV.
    assert (r.dir / "metrics.csv").read_bytes() == (cli_dir / "metrics.csv").read_bytes()
    pd.testing.assert_frame_equal(r.metrics, pd.read_csv(cli_dir / "metrics.csv"), check_exact=True)
    assert list(r.metrics["round"]) == [0, 1, 2, 3]
    assert r.summary["rounds"] == 3
    assert r.summary["final_accuracy"] == r.metrics["accuracy"].iloc[-1]


def test_events_are_lazy_and_complete():
    r = fedsim.run(QUICKSTART, set=SHORT)
    assert r._events is None
    events = r.events
    assert events is r.events  # loaded once
    assert len(events) == r.summary["events"]
    assert {"t", "kind", "client", "round"} <= set(events.columns)
    assert (events["kind"] == "evaluate").sum() == len(r.metrics)


def test_temporary_folder_lives_with_the_result():
    r = fedsim.run(QUICKSTART, set=SHORT)
    d = r.dir
    assert (d / "metrics.csv").exists()
    del r
    import gc

    gc.collect()
    assert not d.exists()


def test_out_folder(tmp_path):
    r = fedsim.run(str(QUICKSTART), set=SHORT, out=tmp_path / "run")
    assert r.dir == tmp_path / "run"
    assert (tmp_path / "run" / "summary.json").exists()


def test_set_overrides_apply():
    r = fedsim.run(QUICKSTART, set={"stop.rounds": 2, "strategy.kind": "fedbuff", "stop.target_accuracy": 1})
    assert r.summary["strategy"] == "fedbuff"
    assert r.summary["rounds"] == 2
    assert len(r.metrics) == 3


def test_bad_scenario_raises_with_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    text = QUICKSTART.read_text().replace("local_epochs: 2", "local_epochs: two")
    bad.write_text(text)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "local_epochs: two" in l)
    with pytest.raises(fedsim.ScenarioError) as info:
        fedsim.run(bad)
    e = info.value
    assert e.line == line
    assert e.column == text.splitlines()[line - 1].index("two") + 1
    assert e.file == str(bad)
    assert e.key == "training.local_epochs"
    assert f"{bad}:{line}:{e.column}" in str(e)
    assert issubclass(fedsim.ScenarioError, Exception)


def test_bad_set_and_missing_file():
    with pytest.raises(fedsim.ScenarioError) as info:
        fedsim.run(QUICKSTART, set={"stop.roundz": 3})
    assert "stop.roundz" in str(info.value)
    with pytest.raises(fedsim.ScenarioError) as info:
        fedsim.run("/nonexistent/scenario.yaml")
    assert info.value.line is None
    assert "/nonexistent/scenario.yaml" in str(info.value)


def test_dict_scenario_runs_like_the_file():
    scenario = {
        "name": "from-a-dict",
        "seed": 42,
        "data": {"dataset": "digits", "test_fraction": 0.2, "partition": {"kind": "iid"}},
        "clients": {"count": 8, "profiles": [{"name": "phone", "share": 1.0, "compute": {"samples_per_s": 400}}]},
        "model": {"kind": "softmax_regression"},
        "strategy": {"kind": "fedavg", "clients_per_round": 4},
        "stop": {"rounds": 2},
    }
    r = fedsim.run(scenario)
    assert r.summary["scenario"] == "from-a-dict"
    assert list(r.metrics["round"]) == [0, 1, 2]
    fedsim.validate(scenario)


def test_dict_scenario_error_has_a_line():
    scenario = {"name": "x", "data": {"dataset": "digits"}, "clients": {"count": "many"}}
    with pytest.raises(fedsim.ScenarioError) as info:
        fedsim.validate(scenario)
    assert info.value.key == "clients.count"
    assert isinstance(info.value.line, int)
    # docs/python.md shows this very call and what it prints
    doc = (ROOT / "docs" / "python.md").read_text()
    shown = doc.split("print(e.file, e.line, e.column, e.key)   # ")[1].split("\n")[0]
    file, line, column, key = shown.split()
    assert file == "<cwd>/<dict>.yaml" and info.value.file == os.path.join(os.getcwd(), "<dict>.yaml")
    assert (int(line), int(column), key) == (info.value.line, info.value.column, info.value.key)


@pytest.mark.parametrize("name", ["quickstart", "sync_vs_async"])
def test_notebook_executes(tmp_path, name):
    if shutil.which("jupyter") is None:
        pytest.skip("jupyter is not installed")
    notebook = ROOT / "python" / "examples" / f"{name}.ipynb"
    subprocess.run(
        ["jupyter", "nbconvert", "--to", "notebook", "--execute", str(notebook),
         "--output-dir", str(tmp_path), "--ExecutePreprocessor.timeout=300"],
        check=True,
        cwd=notebook.parent,
    )
    import json

    executed = json.loads((tmp_path / f"{name}.ipynb").read_text())
    outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the accuracy plot"
    if name == "sync_vs_async":
        # the comparison table shows the four strategies of the folder
        table = next(o["data"]["text/plain"] for o in outputs if "text/plain" in o.get("data", {}))
        for strategy in ["fedavg", "fedasync", "fedbuff"]:
            assert strategy in "".join(table)


def test_ctrl_c_interrupts_a_run():
    import signal
    import sys
    import time

    child = (
        "import fedsim, sys\n"
        "print('go', flush=True)\n"
        "try:\n"
        f"    fedsim.run({str(QUICKSTART)!r}, set={{'stop.rounds': 100000, 'stop.target_accuracy': 1, 'clients.count': 200}})\n"
        "    print('finished')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
        f"r = fedsim.run({str(QUICKSTART)!r}, set={{'stop.rounds': 1}})\n"
        "print('after', r.summary['rounds'])\n"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", child],
        stdout=subprocess.PIPE,
        text=True,
        # a child of a non-interactive shell may inherit SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert p.stdout.readline().strip() == "go"
    time.sleep(1.0)
    start = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=60)
    assert out.split() == ["interrupted", "after", "1"]
    assert time.monotonic() - start < 10


SVA = ROOT / "scenarios" / "sync_vs_async"


def test_compare_matches_cli_compare(tmp_path):
    # the two files cut to 300 virtual seconds, for the CLI (which has no --set)
    files = []
    for name in ["fedavg", "fedbuff"]:
        text = (SVA / f"{name}.yaml").read_text()
        assert "virtual_time_s: 3000," in text
        files.append(tmp_path / f"{name}.yaml")
        files[-1].write_text(text.replace("virtual_time_s: 3000,", "virtual_time_s: 300,"))
    subprocess.run(
        fedsim_cli() + ["compare", *map(str, files), "--out", str(tmp_path / "cli")], check=True, capture_output=True
    )
    # the shipped files with set= give the same table
    originals = [SVA / "fedavg.yaml", SVA / "fedbuff.yaml"]
    c = fedsim.compare(originals, set={"stop.virtual_time_s": 300}, out=tmp_path / "py")
    assert (tmp_path / "py" / "compare.csv").read_bytes() == (tmp_path / "cli" / "compare.csv").read_bytes()
    assert list(c.table["scenario"]) == ["sva_fedavg", "sva_fedbuff"]
    assert list(c.table["strategy"]) == ["fedavg", "fedbuff"]
    assert (c.table["virtual_time_s"] <= 300).all()
    assert sorted(c.members) == ["sva_fedavg", "sva_fedbuff"]
    fedavg = c.members["sva_fedavg"]
    assert fedavg.metrics["accuracy"].iloc[-1] == pytest.approx(c.table["final_accuracy"].iloc[0])
    assert c.report_html.exists()


def test_compare_dicts_and_a_located_error(tmp_path):
    good = {
        "name": "tiny",
        "data": {"dataset": "iris"},
        "clients": {"count": 3},
        "model": {"kind": "softmax_regression"},
        "stop": {"rounds": 2},
    }
    bad = dict(good, name="bad", clients={"count": "many"})
    # every member is checked before the first run: nothing is written
    with pytest.raises(fedsim.ScenarioError) as info:
        fedsim.compare([good, bad], out=tmp_path / "c")
    assert info.value.key == "clients.count"
    assert "<dict 1>" in info.value.file
    assert isinstance(info.value.line, int)
    assert not (tmp_path / "c").exists()
    c = fedsim.compare([good, dict(good, name="tiny_fedprox", strategy={"kind": "fedprox", "mu": 0.1})])
    assert list(c.table["scenario"]) == ["tiny", "tiny_fedprox"]
    assert list(c.table["strategy"]) == ["fedavg", "fedprox"]
    assert list(c.table["rounds"]) == [2, 2]


def test_sweep_matches_cli_sweep(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: pysweep\n"
        "data: { dataset: iris }\n"
        "clients: { count: 4 }\n"
        "model: { kind: softmax_regression }\n"
        "stop: { rounds: 3 }\n"
        "sweep:\n"
        "  strategy.kind: [fedavg, fedprox]\n"
        "  seed: [1, 2]\n"
    )
    s = fedsim.sweep(scenario, out=tmp_path / "py", jobs=2)
    subprocess.run(fedsim_cli() + ["sweep", str(scenario), "--out", str(tmp_path / "cli")], check=True, capture_output=True)
    for name in ["sweep.csv", "sweep_runs.csv"]:
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    assert len(s.runs) == 4
    # sweep.csv averages over seed: one row per strategy
    assert len(s.table) == 2
    assert len(s.members) == 4


def test_compare_and_sweep_refuse_bad_input(tmp_path):
    with pytest.raises(ValueError):
        fedsim.compare([])
    with pytest.raises(ValueError):
        fedsim.compare([QUICKSTART], jobs=0)
    with pytest.raises(fedsim.RunError, match="sweep"):
        fedsim.sweep(QUICKSTART, out=tmp_path / "none")
