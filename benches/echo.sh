#!/usr/bin/env bash
# TCP echo benchmark: shimmer's echo server beside its peers in the same run,
# interleaved (A B C ... A B C ...), ROUNDS rounds.
#
#   servers: floor (hand-written edge-triggered epoll loop, the syscall floor),
#            tokio (current_thread), monoio_uring (io_uring, DEFER_TASKRUN),
#            monoio_legacy (monoio's epoll driver), lwt (Lwt_unix, the shared
#            anchor anchors/lwt/lwt_echo.ml), shimmer (shimmer_unix::net).
#   load:    echo_load, CONNS connections in a closed loop, messages of each
#            size in SIZES, WARMUP s discarded then SECS s counted.
#
# Server pinned to core SERVER_CORE (0), load generator to LOAD_CORE (1).
# Per round, per server: start it, wait for its port, run echo_load once per
# size, stop it. echo_load reads the server's utime+stime (/proc/PID/stat) at
# the two instants that bound the counted round trips, so the server CPU
# window is exactly the measured window.
# Before the rounds every server gets one short `echo_load --verify` per size
# (echoed bytes checked); a server that fails it is left out of the rounds.
#
#   benches/echo.sh                      # ROUNDS=5 SECS=5 WARMUP=1 CONNS=64 SIZES="64 65536"
#   ROUNDS=3 SERVERS="floor shimmer" benches/echo.sh
#   LWT_ECHO=/path/to/lwt_echo benches/echo.sh    # a prebuilt Lwt server
#   ECHO_RESULTS=/tmp/echo benches/echo.sh          # another results folder
#
# Everything is built once (release) and copied to results/echo_bin/ before the
# first round, so an edit or rebuild during the run cannot mix builds. Honours
# CARGO_TARGET_DIR (default: the workspace's target/). Results:
# results/echo_<server>_<size>B_round<N>.txt, results/echo_verify.txt,
# results/echo_env.txt, and the table results/echo_summary.md
# (summarize_echo.py). results/ is ignored by git.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-64}
SIZES=${SIZES:-"64 65536"}
SERVER_CORE=${SERVER_CORE:-0}
LOAD_CORE=${LOAD_CORE:-1}
SERVERS=${SERVERS:-"floor tokio monoio_uring monoio_legacy lwt shimmer"}
PORT=${PORT:-18100}
# This machine is shared: before each run wait (up to QUIET_WAIT s) until both
# cores are under QUIET_PCT % busy; a measurement whose window had more than
# DISTURBED % of either core busy with something other than the server or
# echo_load is repeated (up to RETRIES times; the last attempt is kept).
QUIET_PCT=${QUIET_PCT:-10}
QUIET_WAIT=${QUIET_WAIT:-120}
DISTURBED=${DISTURBED:-15}
RETRIES=${RETRIES:-2}
OUT=${ECHO_RESULTS:-results}
BIN=$OUT/echo_bin
TARGET=${CARGO_TARGET_DIR:-$HERE/../target}
mkdir -p "$BIN"
rm -f "$OUT"/echo_*_round*.txt "$OUT"/echo_verify.txt "$OUT"/echo_summary.md

say() { echo "echo.sh: $*" >&2; }
skipped=()
skip() { say "skipping $1: $2"; skipped+=("$1: $2"); }

# ---- build -----------------------------------------------------------------
BINS=(--bin echo_load --bin echo_floor --bin echo_tokio --bin echo_monoio --bin echo_shimmer)
cargo build --release -p shimmer-benches "${BINS[@]}"
for b in echo_load echo_floor echo_tokio echo_monoio echo_shimmer; do
  cp "$TARGET/release/$b" "$BIN/"
done

# ---- Lwt (shared anchor) -----------------------------------------------------
LWT=${LWT_ECHO:-}
if [[ " $SERVERS " == *" lwt "* ]] && [ -z "$LWT" ]; then
  LWT_SRC=${LWT_SRC:-$HERE/../../shared/anchors/lwt}
  LWT_DIR=$TARGET/echo_lwt
  if ! ocamlfind query lwt.unix > /dev/null 2>&1; then
    say "installing OCaml and Lwt (apt-get)"
    { apt-get update -qq && apt-get install -y -qq ocaml-nox ocaml-findlib liblwt-ocaml-dev; } \
      > "$OUT/echo_lwt_install.log" 2>&1 || true
  fi
  if ! ocamlfind query lwt.unix > /dev/null 2>&1; then
    skip lwt "ocaml-nox/ocaml-findlib/liblwt-ocaml-dev could not be installed (results/echo_lwt_install.log)"
  elif [ ! -f "$LWT_SRC/lwt_echo.ml" ]; then
    skip lwt "no anchor source at $LWT_SRC/lwt_echo.ml (set LWT_SRC)"
  else
    # build.sh works in its own folder: build a copy, not the shared anchor.
    # Its last step (cohttp_hello) needs cohttp, which this benchmark does not.
    rm -rf "$LWT_DIR" && mkdir -p "$LWT_DIR/src"
    cp "$LWT_SRC"/* "$LWT_DIR/src/"
    sh "$LWT_DIR/src/build.sh" "$LWT_DIR/out" > "$OUT/echo_lwt_build.log" 2>&1 || true
    if [ -x "$LWT_DIR/out/lwt_echo" ]; then
      LWT=$LWT_DIR/out/lwt_echo
    else
      skip lwt "anchors/lwt/build.sh did not produce lwt_echo (results/echo_lwt_build.log)"
    fi
  fi
fi
[ -n "$LWT" ] && cp "$LWT" "$BIN/lwt_echo"

# ---- servers -----------------------------------------------------------------
# server_cmd NAME PORT: the command line of server NAME listening on 127.0.0.1:PORT.
server_cmd() {
  case $1 in
    floor) echo "$BIN/echo_floor 127.0.0.1:$2" ;;
    tokio) echo "$BIN/echo_tokio 127.0.0.1:$2" ;;
    monoio_uring) echo "$BIN/echo_monoio 127.0.0.1:$2 --uring" ;;
    monoio_legacy) echo "$BIN/echo_monoio 127.0.0.1:$2 --legacy" ;;
    lwt) echo "$BIN/lwt_echo $2" ;; # the anchor takes a port, binds 127.0.0.1
    shimmer) echo "$BIN/echo_shimmer 127.0.0.1:$2" ;;
    *) return 1 ;;
  esac
}
active=()
for s in $SERVERS; do
  case $s in
    lwt) [ -n "$LWT" ] && active+=("$s") ;;
    *) server_cmd "$s" 0 > /dev/null || { say "unknown server $s"; exit 2; }; active+=("$s") ;;
  esac
done

# Busy % of cores 0 and 1 over 0.5 s, as "B0 B1".
busy() {
  local a b
  a=$(grep -E '^cpu[01] ' /proc/stat)
  sleep 0.5
  b=$(grep -E '^cpu[01] ' /proc/stat)
  printf '%s\n%s\n' "$a" "$b" | awk '
    { t = 0; for (i = 2; i <= 9; i++) t += $i; idle = $5 + $6
      if (NR <= 2) { T[$1] = t; I[$1] = idle } else {
        dt = t - T[$1]; printf "%d ", (dt > 0 ? 100 * (dt - idle + I[$1]) / dt : 0) } }'
}
wait_quiet() {
  local t0=$SECONDS b
  while :; do
    b=$(busy)
    # shellcheck disable=SC2086
    set -- $b
    if [ "$1" -lt "$QUIET_PCT" ] && [ "$2" -lt "$QUIET_PCT" ]; then return 0; fi
    if [ $((SECONDS - t0)) -ge "$QUIET_WAIT" ]; then
      say "cores still busy ($b%) after ${QUIET_WAIT}s: measuring anyway"
      return 0
    fi
    sleep 2
  done
}
# Largest share (%) of core 0 or 1 that was busy with neither the server nor
# echo_load in an echo_load output line.
other_load() {
  tr ' ' '\n' | awk -F= '{ v[$1] = $2 } END {
    s = v["server_us_per_rt"] * v["rt_per_s"] / 1e4; l = v["load_us_per_rt"] * v["rt_per_s"] / 1e4
    a = v["cpu0_busy_pct"] - s; b = v["cpu1_busy_pct"] - l; printf "%d", (a > b ? a : b) }'
}

SPID=
start_server() { # NAME PORT
  # shellcheck disable=SC2046
  taskset -c "$SERVER_CORE" $(server_cmd "$1" "$2") 2>> "$OUT/echo_servers.log" &
  SPID=$!
  for _ in $(seq 200); do
    if ss -Hltn "sport = :$2" | grep -q .; then return 0; fi
    kill -0 "$SPID" 2> /dev/null || break
    sleep 0.05
  done
  say "$1 did not come up on port $2"
  stop_server
  return 1
}
stop_server() {
  [ -n "$SPID" ] || return 0
  kill "$SPID" 2> /dev/null || true
  wait "$SPID" 2> /dev/null || true
  SPID=
}
trap stop_server EXIT

load() { # PORT SIZE [extra echo_load args]
  local port=$1 size=$2
  shift 2
  taskset -c "$LOAD_CORE" "$BIN/echo_load" "127.0.0.1:$port" --conns "$CONNS" --size "$size" \
    --server-pid "$SPID" "$@"
}

# ---- environment -----------------------------------------------------------------
{
  echo "date: $(date -u +%FT%TZ)"
  echo "kernel: $(uname -srm)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc)"
  echo "rustc: $(rustc -V)"
  echo "tree: $(git -C .. rev-parse --short HEAD 2> /dev/null || echo '?') \
(uncommitted changes: $(git -C .. status --porcelain 2> /dev/null | wc -l) files)"
  echo "shimmer sources (executor, io, unix-backend): $(cd .. && find executor/src io/src unix-backend/src \
    -name '*.rs' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
  for p in tokio mio monoio io-uring rustix; do
    awk -v p="$p" '$0 == "name = \"" p "\"" {getline; print "Cargo.lock: " p " " $3}' ../Cargo.lock \
      | tr -d '"'
  done
  [ -n "$LWT" ] && echo "ocaml: $(ocamlfind ocamlopt -version 2> /dev/null || echo '?'), \
lwt $(ocamlfind list 2> /dev/null | awk '$1 == "lwt.unix" {print $3}' | tr -d ')')"
  echo "rounds=$ROUNDS secs=$SECS warmup=$WARMUP conns=$CONNS sizes=$SIZES"
  echo "server core=$SERVER_CORE load core=$LOAD_CORE"
  echo "order: ${active[*]}"
  for s in "${skipped[@]}"; do echo "skipped: $s"; done
} > "$OUT/echo_env.txt"
cat "$OUT/echo_env.txt" >&2

# ---- verify ------------------------------------------------------------------------
port=$PORT
ok=()
for s in "${active[@]}"; do
  port=$((port + 1))
  good=1
  wait_quiet
  if start_server "$s" "$port"; then
    for size in $SIZES; do
      line=$(load "$port" "$size" --secs 1 --warmup 0.2 --verify 2>&1) || good=0
      echo "$s ${size}B: $line" >> "$OUT/echo_verify.txt"
    done
    stop_server
  else
    good=0
  fi
  if [ "$good" = 1 ]; then ok+=("$s"); else skip "$s" "failed --verify (results/echo_verify.txt)"; fi
done
active=("${ok[@]}")
echo "verified: ${active[*]}" >> "$OUT/echo_env.txt"

# ---- rounds ------------------------------------------------------------------------
for r in $(seq 1 "$ROUNDS"); do
  for s in "${active[@]}"; do
    port=$((port + 1))
    say "round $r/$ROUNDS: $s"
    wait_quiet
    start_server "$s" "$port" || continue
    for size in $SIZES; do
      f="$OUT/echo_${s}_${size}B_round$r.txt"
      for attempt in $(seq 0 "$RETRIES"); do
        {
          echo "# server: $(server_cmd "$s" "$port") (core $SERVER_CORE, pid $SPID)"
          echo "# load: echo_load 127.0.0.1:$port --conns $CONNS --size $size --secs $SECS --warmup $WARMUP (core $LOAD_CORE)"
          [ "$attempt" = 0 ] || echo "# attempt $((attempt + 1)): the previous one had ${other}% other load"
        } > "$f"
        if ! load "$port" "$size" --secs "$SECS" --warmup "$WARMUP" >> "$f" 2>&1; then
          echo "FAILED" >> "$f"
          say "round $r $s ${size}B failed: $(tail -1 "$f")"
          break
        fi
        other=$(tail -1 "$f" | other_load)
        [ "$other" -gt "$DISTURBED" ] || break
        say "round $r $s ${size}B: ${other}% other load on a core during the window"
        [ "$attempt" = "$RETRIES" ] || wait_quiet
      done
      kill -0 "$SPID" 2> /dev/null || say "round $r: $s died during ${size}B"
    done
    stop_server
  done
done

python3 summarize_echo.py "$OUT" > "$OUT/echo_summary.md"
cat "$OUT/echo_summary.md"
