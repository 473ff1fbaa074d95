#!/usr/bin/env bash
# The three 128-px baseline trainings of issue 17 (GANimation, Cascade EF-GAN, StarGAN), in one place.
#
#   bash scripts/train_baselines.sh start     # start or resume all three in the background
#   bash scripts/train_baselines.sh status    # each run: running or not, its step, its last validation
#   bash scripts/train_baselines.sh stop      # stop them (each writes its state on the signal)
#   bash scripts/train_baselines.sh export    # stop, then write each best validated checkpoint
#                                             # over its bundle where it beats it (--export-if-better)
#   bash scripts/train_baselines.sh commands  # print the commands without running them
#   bash scripts/train_baselines.sh start ganimation cascade-efgan   # any of them: only those runs
#
# `start` without names skips the runs in $PAUSED (default below; AUFX_PAUSED="" starts all): two
# single-thread runs on the 2-core machine made 37 + 26 steps/min, three 15 + 13 + 20 (2026-12-08).
#
# Each run: one thread, `nice -n 19`; its state, log and pid file in $AUFX_BASELINE_STATE
# (default ~/.cache/aufx/baselines: <method>128/, <method>128.log, <method>128.pid). With no state
# there (a new machine) a run starts from the bundled weights (--init-from), which carry the step
# count, schedule and validation log. --bf16 is ignored, with a warning, on CPUs without native
# bfloat16. Exports keep the hand-written notes of the model card they replace (--keep-notes).
# --g-ema keeps a moving average of each generator's weights: the validations, best_G.pt and the
# exports use it; every third validation also measures the last weights (val_last_weights.jsonl;
# each validation did until 2026-12-07 10:26 UTC).
set -euo pipefail
cd "$(dirname "$0")/.."

AUFX=${AUFX:-.venv/bin/aufx}
ROOT=${AUFX_BASELINE_STATE:-$HOME/.cache/aufx/baselines}
BUDGET_MINUTES=${BUDGET_MINUTES:-600}
G_EMA=0.99  # moving average of the generator's weights (from 2026-12-07; validations and exports use it)
LAST_EVERY=3  # validations per measurement of the last weights beside the average (1 until 2026-12-07 10:26)
RUNS="ganimation:32:150 cascade-efgan:16:100 stargan:32:100"  # method:width:validate-every (steps)
BLURRED="ganimation cascade-efgan"  # runs with --upsample-blur (baselines/nets.py), from 2026-12-07 13:30 UTC (StarGAN tried 14:25-15:13 and reverted: docs/baselines.md)

LOSSES="stargan:id=5 ganimation:colour=1 cascade-efgan:colour=1"  # method:name=value loss weights set away from the papers' (from 2026-12-07 19:20 / 19:25 / 22:45 UTC: docs/baselines.md)

PAUSED=${AUFX_PAUSED-stargan}  # StarGAN paused from 2026-12-08 02:02 UTC: its noise ratio rose 6.52 -> 6.67 over its last 900 steps, and without it the other two run twice as fast
GENERATED="ganimation:0.5 cascade-efgan:0.5"  # method:share of each batch from the generated pool (faces of the bundled generator labelled by the analyzer; GANimation from 2026-12-08 01:32 UTC, Cascade EF-GAN from 03:20: docs/baselines.md)

listed() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }  # listed LIST NAME: NAME is a word of LIST
switches() {  # switches LIST METHOD FLAG: FLAG VALUE for each METHOD:VALUE entry of LIST
  local entry; for entry in $1; do [ "${entry%%:*}" = "$2" ] && printf ' %s %s' "$3" "${entry#*:}"; done; return 0
}

flags() {  # the flags a run and its export share: they must match the run's state
  local method=$1 width=$2 every=$3 blur=""
  listed "$BLURRED" "$method" && blur=" --upsample-blur"
  echo "--size 128 --conv-dim $width --threads 1 --bf16 --n-critic 5 --g-ema $G_EMA --validate-last-every $LAST_EVERY --until-converged --decay-on-plateau$blur$(switches "$LOSSES" "$method" --loss)$(switches "$GENERATED" "$method" --generated-share)" \
       "--validate-every $every --checkpoint-minutes 10 --state-dir $ROOT/${method}128"
}

# AUFX_TRAIN_EXTRA: switches for this start only, e.g. AUFX_TRAIN_EXTRA=--restart-ema
train_command() { echo "$AUFX train $1 $(flags "$@") --budget-minutes $BUDGET_MINUTES --init-from baselines/weights/$1.pt ${AUFX_TRAIN_EXTRA:-}"; }
export_command() { echo "$AUFX train $1 $(flags "$@") --budget-minutes 0 --export baselines/weights/$1.pt --export-if-better --keep-notes"; }
pid_of() { cat "$ROOT/${1}128.pid" 2> /dev/null; }
running() {  # the pid file names a live process that trains this method
  local pid; pid=$(pid_of "$1") || return 1
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "train $1 "
}

ONLY=""  # the methods named after the command (none: all)
for_each_run() {  # for_each_run <function>: calls it with method, width, validate-every
  local run method width every
  for run in $RUNS; do
    IFS=: read -r method width every <<< "$run"
    [ -z "$ONLY" ] || case " $ONLY " in *" $method "*) ;; *) continue ;; esac
    "$1" "$method" "$width" "$every"
  done
}

start_one() {
  if running "$1"; then echo "$1: running already"; return; fi
  if [ -z "$ONLY" ] && listed "$PAUSED" "$1"; then
    echo "$1: paused (PAUSED in $0; name it to start it)"; return
  fi
  mkdir -p "$ROOT"
  # shellcheck disable=SC2046  # the command's words are split on purpose
  nohup nice -n 19 $(train_command "$@") >> "$ROOT/${1}128.log" 2>&1 &
  echo $! > "$ROOT/${1}128.pid"  # nohup and nice exec: this is the training's own pid
  echo "$1: started (log $ROOT/${1}128.log)"
}

stop_one() {
  running "$1" || return 0
  kill -TERM "$(pid_of "$1")" || true
  for _ in $(seq 120); do running "$1" || { echo "$1: stopped"; return; }; sleep 1; done
  echo "$1: still running after 120 s" >&2; return 1
}

status_one() {  # running or not, the last logged step, the decay's end once the stopping rule started it
  local dir="$ROOT/${1}128" state="not running" at="" decay="" last="no validation yet"
  running "$1" && state="running"
  [ -f "$dir/log.jsonl" ] && at=", step $(tail -n 1 "$dir/log.jsonl" | grep -o '"step": [0-9]*' | grep -o '[0-9]*$' || true)"
  decay=$(grep -o 'to 0 by step [0-9]*' "$ROOT/${1}128.log" 2> /dev/null | tail -n 1 || true)
  [ -n "$decay" ] && decay=", learning rates decaying ${decay}"
  [ -f "$dir/val.jsonl" ] && last=$(tail -n 1 "$dir/val.jsonl")
  echo "$1: ${state}${at}${decay}; last validation: $last"
}

export_one() { echo "== $1"; $(export_command "$@"); }  # a blurred bundle's card says so by itself
print_one() { train_command "$@"; export_command "$@"; }

COMMAND=${1:-}
[ $# -gt 0 ] && shift
for method in "$@"; do
  case " $RUNS " in *" $method:"*) ;; *) echo "unknown method '$method' (the runs: $(for r in $RUNS; do printf '%s ' "${r%%:*}"; done))" >&2; exit 2 ;; esac
done
ONLY="$*"

case "$COMMAND" in
  start) for_each_run start_one ;;
  stop) for_each_run stop_one ;;
  status) for_each_run status_one ;;
  export) for_each_run stop_one; for_each_run export_one ;;
  commands) for_each_run print_one ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
