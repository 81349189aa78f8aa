#!/usr/bin/env bash
# Fuzzes the parsers a hostile client reaches (fuzz/: cargo-fuzz, libFuzzer).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Installs what it needs (the nightly toolchain, cargo-fuzz), builds every
# target into fuzz/target, replays fuzz/regressions/<target>/* (every crash
# found once stays a test), then fuzzes each target for SECONDS (default 30)
# from a scratch copy of the kept corpus fuzz/corpus/<target>/, so the kept
# corpus does not grow in git. Prints one summary line per target and
# fails when any target crashes (or times out, or runs out of memory).
#
# FUZZ_SANITIZER=address|none (default none: the core forbids unsafe code,
# and without ASan the targets run about twice as fast).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

SECS=${1:-30}
shift || true
ALL_TARGETS=(service_request form_params saml_response saml_redirect idp_metadata id_token config)
if (($# > 0)); then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
SANITIZER=${FUZZ_SANITIZER:-none}
SCRATCH=fuzz/scratch

# Largest input per target: room for its seeds and a bit more, no more
# (longer inputs only slow libFuzzer down).
max_len() {
  case "$1" in
    form_params) echo 1024 ;;
    service_request | saml_redirect | id_token) echo 4096 ;;
    idp_metadata | config) echo 8192 ;;
    saml_response) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

# --- install -----------------------------------------------------------
if ! command -v rustup >/dev/null; then
  echo "fuzz.sh: rustup is required" >&2
  exit 2
fi
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# --- build -------------------------------------------------------------
fuzz() { cargo +nightly fuzz "$@"; }
build_flags=(--fuzz-dir fuzz --sanitizer "$SANITIZER")
echo "== building ${#TARGETS[@]} fuzz target(s) (sanitizer: $SANITIZER)"
for t in "${TARGETS[@]}"; do
  fuzz build "${build_flags[@]}" "$t"
done
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir=fuzz/target/$triple/release

mkdir -p "$SCRATCH"
failed=()
summaries=()

for t in "${TARGETS[@]}"; do
  bin=$bin_dir/$t
  len=$(max_len "$t")
  dict=()
  [[ -f fuzz/dicts/$t.dict ]] && dict=(-dict="fuzz/dicts/$t.dict")

  # --- regressions: every kept crash input must run clean --------------
  regressions=()
  if [[ -d fuzz/regressions/$t ]]; then
    while IFS= read -r -d '' f; do regressions+=("$f"); done < <(find "fuzz/regressions/$t" -type f ! -name '.*' -print0 | sort -z)
  fi
  if ((${#regressions[@]} > 0)); then
    echo "== $t: replaying ${#regressions[@]} regression input(s)"
    if ! "$bin" -rss_limit_mb=2048 -timeout=20 "${regressions[@]}" >"$SCRATCH/$t.regressions.log" 2>&1; then
      echo "!! $t: a regression input crashes; see $SCRATCH/$t.regressions.log" >&2
      grep -E "panicked at|ERROR: libFuzzer|^Running:" "$SCRATCH/$t.regressions.log" | tail -5 >&2 || true
      failed+=("$t (regression)")
    fi
  fi

  # --- fuzz from a scratch copy of the kept corpus ----------------------
  corpus=$SCRATCH/corpus/$t
  rm -rf "$corpus"
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  cp -r "fuzz/corpus/$t/." "$corpus/" 2>/dev/null || true
  log=$SCRATCH/$t.log
  echo "== $t: fuzzing for ${SECS}s (max_len $len)"
  status=0
  "$bin" "$corpus" "${dict[@]}" \
    -max_total_time="$SECS" -max_len="$len" -timeout=20 -rss_limit_mb=2048 \
    -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 >"$log" 2>&1 || status=$?

  # The last status line: "#N  DONE  cov: C ft: F corp: …".
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [[ -n $execs ]] || execs=$(sed -E -n 's/^#([0-9]+).*/\1/p' <<<"$last")
  cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
  ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" | cut -d' ' -f2 || true)
  if ((status == 0)); then result=ok; else result="CRASH (exit $status)"; fi
  line=$(printf '%-16s %-20s execs: %-10s cov: %-6s ft: %-7s corp: %s' "$t" "$result" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")
  summaries+=("$line")
  echo "$line"
  if ((status != 0)); then
    failed+=("$t")
    grep -E "panicked at|ERROR: libFuzzer|SUMMARY|Test unit written to|deadly signal|timeout|out-of-memory" "$log" | head -8 >&2 || true
    echo "   (log: $root/$log; minimise with: cargo +nightly fuzz tmin --fuzz-dir fuzz -s $SANITIZER $t <artifact>)" >&2
  fi
done

echo
echo "== summary (${SECS}s per target)"
printf '%s\n' "${summaries[@]}"
if ((${#failed[@]} > 0)); then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "all ${#TARGETS[@]} target(s) ran without a crash"
