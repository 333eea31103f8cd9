#!/usr/bin/env bash
# Regenerates the wall-clock figures of docs/performance.md (and the
# simulator wall times quoted in docs/privacy.md). Wall-clock figures depend
# on the machine and its load, so no test can assert them; this script is
# how they were made and how to remake them. The deterministic figures of
# the same pages (bytes, epsilon, event counts, losses) are asserted by
# tests/docs_examples.rs and tests/bare_parity.rs instead.
#
# Usage: scripts/performance.sh [SECTION...]
#   sections: memory parity throughput cores privacy (default: all)
# Environment: RUNS (override every section's run count), CARGO_TARGET_DIR.
# Needs GNU time (/usr/bin/time) and awk.
set -euo pipefail

cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet --bin fedsim --example bare_parity
fedsim="$target/release/fedsim"
bare="$target/release/examples/bare_parity"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Wall seconds of one command, to the microsecond (GNU time's %e has only
# two decimals, too coarse for the parity runs' 30-70 ms).
wall() {
    local start=$EPOCHREALTIME
    "$@" >/dev/null 2>&1
    awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f\n", b - a }'
}

# min, median, max of the numbers on stdin.
stats() {
    sort -g | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.3f, %.3f, %.3f", v[1], m, v[NR] }'
}

memory() {
    echo "## Memory: registered clients (scenarios/scale/million.yaml), ${RUNS:-3} runs each"
    echo "| registered clients | wall time (s) | peak RSS (KB) |"
    for n in 1000 10000 100000 1000000 10000000; do
        local times="" rss=""
        for _ in $(seq "${RUNS:-3}"); do
            /usr/bin/time -f "%e %M" -o "$tmp/time" "$fedsim" run scenarios/scale/million.yaml \
                --out "$tmp/m" -q --set "clients.count=$n" --set "data.synthetic.samples=$((n * 20))" \
                >/dev/null 2>&1
            read -r t m <"$tmp/time"
            times+="$t"$'\n'
            rss+="$m"$'\n'
        done
        echo "| $n | $(printf %s "$times" | stats) | $(printf %s "$rss" | stats) |"
    done
}

parity() {
    echo "## The parity workload against a bare loop, ${RUNS:-10} runs each, ratio pair by pair (min, median, max)"
    for n in 100 1000; do
        local s="scenarios/bench/parity_N$n.yaml"
        for threads in "--threads 1" ""; do
            local ratios="" fs=""
            for _ in $(seq "${RUNS:-10}"); do
                # shellcheck disable=SC2086 # $threads is empty or two words
                f=$(wall "$fedsim" run "$s" --out "$tmp/p" -q $threads)
                b=$(wall "$bare" "$s")
                fs+="$f"$'\n'
                ratios+="$(awk -v f="$f" -v b="$b" 'BEGIN { print (b > 0 ? f / b : 0) }')"$'\n'
            done
            echo "| parity_N$n ${threads:-default threads} | fedsim s: $(printf %s "$fs" | stats) | fedsim / bare: $(printf %s "$ratios" | stats) |"
        done
    done
}

throughput() {
    echo "## Kernel throughput (scenarios/bench/async_throughput.yaml, --threads 1), ${RUNS:-5} runs"
    local times=""
    for _ in $(seq "${RUNS:-5}"); do
        times+="$(wall "$fedsim" run scenarios/bench/async_throughput.yaml --out "$tmp/a" -q --threads 1)"$'\n'
    done
    local messages
    messages=$(grep -o '"messages": [0-9]*' "$tmp/a/summary.json" | grep -o '[0-9]*$')
    echo "wall s (min, median, max): $(printf %s "$times" | stats); messages: $messages"
    echo "messages per second at the median: $(printf %s "$times" | sort -g |
        awk -v m="$messages" '{ v[NR] = $1 } END { med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f M", m / med / 1e6 }')"
}

cores() {
    echo "## Two cores on an async strategy (scenarios/bench/async_mlp.yaml), ${RUNS:-10} runs, paired"
    local ratios="" one="" two=""
    for _ in $(seq "${RUNS:-10}"); do
        a=$(wall "$fedsim" run scenarios/bench/async_mlp.yaml --out "$tmp/c1" -q --threads 1)
        b=$(wall "$fedsim" run scenarios/bench/async_mlp.yaml --out "$tmp/c2" -q --threads 2)
        one+="$a"$'\n'
        two+="$b"$'\n'
        ratios+="$(awk -v a="$a" -v b="$b" 'BEGIN { print (a > 0 ? b / a : 0) }')"$'\n'
    done
    echo "--threads 1 s: $(printf %s "$one" | stats); --threads 2 s: $(printf %s "$two" | stats)"
    echo "threads 2 / threads 1 (min, median, max): $(printf %s "$ratios" | stats)"
    cmp -s "$tmp/c1/events.jsonl" "$tmp/c2/events.jsonl" && echo "events.jsonl identical for 1 and 2 threads"
}

privacy() {
    echo "## docs/privacy.md wall times, ${RUNS:-3} runs each (min, median, max)"
    local rdp="" pld="" plain="" secure=""
    for _ in $(seq "${RUNS:-3}"); do
        rdp+="$(wall "$fedsim" run scenarios/privacy/dp_client.yaml --out "$tmp/r" -q \
            --set 'stop={rounds: 300}' --set privacy.dp.accountant=rdp)"$'\n'
        pld+="$(wall "$fedsim" run scenarios/privacy/dp_client.yaml --out "$tmp/r" -q \
            --set 'stop={rounds: 300}' --set privacy.dp.accountant=pld)"$'\n'
        plain+="$(wall "$fedsim" run scenarios/privacy/secagg.yaml --out "$tmp/s" -q --set 'privacy={}')"$'\n'
        secure+="$(wall "$fedsim" run scenarios/privacy/secagg.yaml --out "$tmp/s" -q)"$'\n'
    done
    echo "dp_client 300 rounds, RDP: $(printf %s "$rdp" | stats) s; PLD: $(printf %s "$pld" | stats) s"
    echo "secagg.yaml plain FedAvg: $(printf %s "$plain" | stats) s; secure aggregation: $(printf %s "$secure" | stats) s"
    echo "(masking per client: cargo bench --bench secagg -- --warm-up-time 1 --measurement-time 3)"
}

sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(memory parity throughput cores privacy)
for s in "${sections[@]}"; do
    case "$s" in
        memory | parity | throughput | cores | privacy) "$s" ;;
        *) echo "unknown section $s (memory parity throughput cores privacy)" >&2; exit 2 ;;
    esac
    echo
done
