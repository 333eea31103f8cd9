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
#   scripts/mutation-sweep.sh remap OLD_REV
#       a name holds its line and column, so an edit to a swept file moves
#       the names after it: this renames the remaining list, written at
#       OLD_REV, to the mutants of the checkout (the k-th mutant with the
#       same file and description, in cargo mutants' order, takes the k-th
#       name), and adds the mutants the edits made (code new since OLD_REV).
#       Run it after every commit that touches a swept file; `run` refuses
#       a list with names the checkout does not have.
# Environment: CARGO_TARGET_DIR (default target-mut), NEXTEST_TEST_THREADS
# (default 8: the resume tests mostly sleep through paced runs).
# Needs cargo-mutants 27 (cargo install cargo-mutants --version 27.1.0
# --locked), cargo-nextest and python3.
set -euo pipefail

cd "$(dirname "$0")/.."
remaining=docs/mutation-sweep-remaining.txt
outcomes=docs/mutation-sweep-outcomes.tsv
files=(--file 'src/strategy/*.rs' --file 'src/net/*.rs' --file 'src/sim/*.rs'
  --file 'src/actors/*.rs' --file 'src/actors/server/*.rs')
tests=(aggregators async_strategies byzantine cli determinism dropout faults keys outputs parity_math
  privacy reliability resume server_gaps server_link strategies sync_vs_async time_model)

case "${1:-}" in
run)
  out="${2:?usage: $0 run OUT_DIR}"
  stale=$(comm -23 <(sort -u "$remaining") <(cargo mutants --list "${files[@]}" | sort -u) | wc -l)
  if [ "$stale" -ne 0 ]; then
    echo "$stale names of $remaining are not mutants of this checkout: run '$0 remap REV' first" >&2
    exit 1
  fi
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
    --baseline skip --timeout 90 --build-timeout 400 "${filters[@]}" -o "$out" "${files[@]}"
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
remap)
  rev="${2:?usage: $0 remap OLD_REV}"
  tmp=$(mktemp -d)
  git worktree add -q --detach "$tmp/old" "$rev"
  (cd "$tmp/old" && cargo mutants --list "${files[@]}") >"$tmp/old.txt"
  git worktree remove --force "$tmp/old"
  cargo mutants --list "${files[@]}" >"$tmp/new.txt"
  python3 - "$remaining" "$tmp/old.txt" "$tmp/new.txt" <<'PY'
import re, sys
from collections import defaultdict
remaining, old_list, new_list = sys.argv[1:]
def index(path):
    by_key, where = defaultdict(list), {}
    for n in open(path):
        n = n.rstrip("\n")
        m = re.match(r"([^:]+):\d+:\d+: (.*)$", n)
        if m:
            key = (m.group(1), m.group(2))
            where[n] = (key, len(by_key[key]))
            by_key[key].append(n)
    return by_key, where
old_by_key, old_where = index(old_list)
new_by_key, _ = index(new_list)
left = [l.rstrip("\n") for l in open(remaining) if l.strip()]
kept, lost, renamed = [], [], 0
for n in left:
    if n not in old_where:
        lost.append(n)
        continue
    key, k = old_where[n]
    news = new_by_key.get(key, [])
    (kept.append(news[k]) if k < len(news) else lost.append(n))
    renamed += k < len(news) and news[k] != n
added = [n for key, news in new_by_key.items() for n in news[len(old_by_key.get(key, [])):]]
out = kept + [n for n in added if n not in kept]
open(remaining, "w").writelines(n + "\n" for n in out)
print(f"{len(left)} names: {len(kept)} kept ({renamed} renamed), {len(lost)} gone, {len(out) - len(kept)} new mutants added")
for n in lost:
    print("gone:", n)
PY
  rm -rf "$tmp"
  ;;
*)
  sed -n '2,27p' "$0"
  exit 2
  ;;
esac
