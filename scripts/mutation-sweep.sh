#!/usr/bin/env bash
# The mutation sweep of docs/testing.md ("Mutation testing"), resumable
# across machines: docs/mutation-sweep-remaining.txt lists the mutants not
# yet tried, docs/mutation-sweep-outcomes.tsv what each run found.
#
# Usage:
#   scripts/mutation-sweep.sh run OUT_DIR
#       runs cargo mutants on the names still listed, in place, in this
#       checkout (use a scratch worktree: the files are mutated while it
#       runs), the results in OUT_DIR/mutants.out. Stop it with Ctrl-C (or
#       SIGINT): cargo mutants restores the file it was mutating.
#   scripts/mutation-sweep.sh record LABEL OUT_DIR...
#       appends the runs' outcomes to docs/mutation-sweep-outcomes.tsv under
#       LABEL and drops the names they tried from the remaining list.
# Environment: CARGO_TARGET_DIR (default target-mut), NEXTEST_TEST_THREADS
# (default 8: the resume tests mostly sleep through paced runs).
# Needs cargo-mutants 27 (cargo install cargo-mutants --version 27.1.0
# --locked), cargo-nextest and python3.
set -euo pipefail

cd "$(dirname "$0")/.."
remaining=docs/mutation-sweep-remaining.txt
outcomes=docs/mutation-sweep-outcomes.tsv
tests=(aggregators async_strategies byzantine cli determinism dropout faults keys outputs parity_math
  privacy reliability resume server_gaps server_link strategies sync_vs_async time_model)

case "${1:-}" in
run)
  out="${2:?usage: $0 run OUT_DIR}"
  # Each name as an anchored regex, its regex characters escaped.
  mapfile -t filters < <(python3 -c '
import re, sys
for n in open(sys.argv[1]):
    n = n.rstrip("\n")
    if n:
        print("-F")
        print("^" + re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", n) + "$")
' "$remaining")
  targets=(-C --lib)
  for t in "${tests[@]}"; do targets+=(-C "--test=$t"); done
  NEXTEST_TEST_THREADS="${NEXTEST_TEST_THREADS:-8}" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target-mut}" \
    cargo mutants --in-place --test-tool nextest --profile mutants "${targets[@]}" \
    --baseline skip --timeout 90 --build-timeout 400 "${filters[@]}" -o "$out" \
    --file 'src/strategy/*.rs' --file 'src/net/*.rs' --file 'src/sim/*.rs' \
    --file 'src/actors/*.rs' --file 'src/actors/server/*.rs'
  ;;
record)
  label="${2:?usage: $0 record LABEL OUT_DIR...}"
  shift 2
  python3 - "$label" "$remaining" "$outcomes" "$@" <<'PY'
import os, sys
label, remaining, outcomes, dirs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
rows = []
for d in dirs:
    for outcome in ("caught", "missed", "timeout", "unviable"):
        p = os.path.join(d, "mutants.out", outcome + ".txt")
        if os.path.exists(p):
            rows += [(outcome, l.rstrip("\n")) for l in open(p) if l.strip()]
fresh = not os.path.exists(outcomes)
with open(outcomes, "a") as f:
    if fresh:
        f.write("run\toutcome\tmutant\n")
    for outcome, name in sorted(rows, key=lambda r: r[1]):
        f.write(f"{label}\t{outcome}\t{name}\n")
tried = {name for _, name in rows}
left = [l.rstrip("\n") for l in open(remaining) if l.strip()]
keep = [n for n in left if n not in tried]
with open(remaining, "w") as f:
    f.writelines(n + "\n" for n in keep)
print(f"{len(rows)} outcomes recorded under {label}; {len(left)} names were left, {len(keep)} are now")
PY
  ;;
*)
  sed -n '2,19p' "$0"
  exit 2
  ;;
esac
