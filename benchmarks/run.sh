#!/usr/bin/env bash
# Run the peer benchmarks once and print the ratio table.
#
#   benchmarks/run.sh                     # the whole grid with energy records (timing alone took 11.5 min here)
#   benchmarks/run.sh -k "lstm and 1t"    # a subset: any extra arguments go to pytest
#   CHECK=1 benchmarks/run.sh             # exit 1 if an issue-3 target fails (ratios.py --check)
#   benchmarks/run.sh -p no:lstm_energy   # timing only, no energy records (much shorter)
#   SWEEPS=3 benchmarks/run.sh ...        # the grid 3 times, each pass in its own pytest process; each
#                                         # ratio uses the median of the 3 sweeps' own ratios (a run of
#                                         # record on a busy shared machine)
#   PYTHON=venv/bin/python benchmarks/run.sh   # the interpreter for every step (default: python3 on PATH)
#
# Each benchmark is timed by pytest-benchmark, then (lstm_energy's `energy` fixture) measured for
# energy over 3 windows with --energy-meter auto; pass --energy-meter/--energy-windows to change that.
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for this run only, so OpenBLAS picks its kernel from
# the CPU it finds; the kernel it picked is recorded in the JSON (machine_info.lstm_energy.environment.blas).
#
# With SWEEPS=N > 1, sweep k runs in a fresh process (--peer-sweeps 1 --peer-sweep-start k) and
# benchmarks/merge_sweeps.py joins the N JSONs into the one run file: a process carries a speed
# offset of its own (up to ~10 % at the edge shape's short calls), which separate processes sample
# and one process would apply to every sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}

out_dir=.benchmarks/peers
mkdir -p "$out_dir"
json="$out_dir/$(date -u +%Y%m%dT%H%M%SZ).json"

# the --energy-* options exist only while lstm_energy's pytest plugin is loaded
energy_options=(--energy-windows=3)
if [[ " $* " == *"no:lstm_energy"* ]]; then
    energy_options=()
fi

# run_grid JSON [pytest arguments...]: one pytest process over the grid, timed into JSON
run_grid() {
    local into=$1
    shift
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OPENBLAS_NUM_THREADS -u OMP_NUM_THREADS \
        "$python" -m pytest benchmarks -q -p no:cacheprovider \
        --benchmark-min-rounds=5 --benchmark-max-time=0.5 \
        --benchmark-warmup=on --benchmark-warmup-iterations=2 \
        --benchmark-sort=name --benchmark-columns=median,iqr,rounds \
        ${energy_options[@]+"${energy_options[@]}"} \
        --benchmark-json="$into" "$@"
}

sweeps=${SWEEPS:-1}
if ! [[ "$sweeps" =~ ^[1-9][0-9]*$ ]]; then
    echo "ERROR: SWEEPS must be a whole number of at least 1, got '$sweeps'" >&2
    exit 2
fi
status=0
if (( sweeps == 1 )); then
    run_grid "$json" "$@" || status=$?
else
    parts=$(mktemp -d)
    trap 'rm -rf "$parts"' EXIT
    written=()
    for (( sweep = 1; sweep <= sweeps; sweep++ )); do
        echo "== sweep $sweep of $sweeps (its own process) =="
        part="$parts/sweep$sweep.json"
        run_grid "$part" --peer-sweeps=1 --peer-sweep-start="$sweep" "$@" || status=$?
        if [ -s "$part" ]; then
            written+=("$part")
        fi
    done
    if (( ${#written[@]} )); then
        "$python" benchmarks/merge_sweeps.py "$json" "${written[@]}" || status=$?
    fi
fi

if [ ! -s "$json" ]; then
    echo "ERROR: pytest wrote no benchmark JSON (exit $status); see the output above" >&2
    exit $(( status ? status : 1 ))
fi
echo "benchmark JSON: $json"
ratios_status=0
"$python" benchmarks/ratios.py "$json" ${CHECK:+--check} || ratios_status=$?
# a failed benchmark (pytest) or a failed --check target (ratios.py) both make the run fail
exit $(( status ? status : ratios_status ))
