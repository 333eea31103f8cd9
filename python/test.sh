#!/usr/bin/env bash
# Builds the Python package into a venv and runs its tests (pytest, and the
# example notebook executed headless).
#
#   bash python/test.sh            # venv in python/.venv (kept between runs)
#   FEDSIM_VENV=/tmp/v bash python/test.sh
#
# Cargo builds into $CARGO_TARGET_DIR, by default the repository's target/,
# so the extension reuses the dependencies the Rust build already compiled.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
venv="${FEDSIM_VENV:-$here/.venv}"
python="${PYTHON:-python3}"

echo "--- venv $venv"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q maturin pytest pandas matplotlib nbconvert ipykernel

echo "--- cargo build --release --bin fedsim (the CLI the tests compare with)"
cargo build --release --bin fedsim
export FEDSIM_BIN="$CARGO_TARGET_DIR/release/fedsim"

echo "--- pip install ./python"
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps ./python
# pandas, the one runtime dependency, is installed above.

echo "--- pytest python/tests"
export PATH="$venv/bin:$PATH"   # jupyter and the notebook's kernel
"$venv/bin/python" -m pytest -q python/tests "$@"
