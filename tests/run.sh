#!/usr/bin/env bash
# The whole test suite, as the README and CI run it:
#   1. builds everything in Release (0 warnings: warnings are errors),
#   2. builds and runs the native-interop C tests when a C compiler is present (CI installs one),
#   3. runs every xunit project, then the math tests again with AVX-512 off (the Vector256 kernels),
#      with AVX2 off and with all hardware intrinsics off (the scalar fallbacks must be as exact),
#   4. publishes `llr` ReadyToRun and runs it once (a smoke test of the deployed form), and packs
#      the libraries a venue embeds (Core and Ipc: exactly those two packages),
#   5. prints one summary line "N passed, N failed, N skipped" from the TRX files and exits
#      non-zero if anything failed or nothing ran.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# Operating-system tools some tests drive: a C toolchain (native-interop), promtool (the Prometheus
# exporter's output is validated by it), Chromium (the service's page is tested in a real browser)
# and nats-server (the JetStream legs between machines; tests start their own on loopback).
# Installed from Debian's packages when absent and this runs as root with apt-get (CI, a fresh machine).
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${missing[*]} (Debian packages)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null \
      || echo "!! could not install ${missing[*]}: the tests that need them will fail and say so" >&2
  else
    echo "!! missing ${missing[*]} (install them: the tests that need them fail and say so)" >&2
  fi
fi

echo "== build (Release)"
dotnet build LowLatencyRisk.sln -c Release -nologo -clp:NoSummary

native_failed=0
if [ -f native-interop/Makefile ]; then
  if command -v cc >/dev/null 2>&1 && command -v make >/dev/null 2>&1; then
    echo "== native-interop (C)"
    make -C native-interop check || native_failed=1
  else
    echo "!! no C compiler or make: native-interop tests cannot run" >&2
    native_failed=1
  fi
fi

run_tests() { # name, extra args...
  local name=$1; shift
  echo "== dotnet test: $name"
  dotnet test "$@" -c Release --no-build --nologo \
    --logger "trx" --results-directory "$results/$name" \
    --blame-hang-timeout 5m || { echo "!! dotnet test $name exited non-zero" >&2; runs_failed=$((runs_failed + 1)); }
}
runs_failed=0

run_tests all LowLatencyRisk.sln
if [ -d tests/LowLatencyRisk.Core.Tests ]; then
  DOTNET_EnableAVX512=0 run_tests core-noavx512 tests/LowLatencyRisk.Core.Tests --filter "Category=Math"
  DOTNET_EnableAVX2=0 run_tests core-noavx2 tests/LowLatencyRisk.Core.Tests --filter "Category=Math"
  DOTNET_EnableHWIntrinsic=0 run_tests core-nointrinsics tests/LowLatencyRisk.Core.Tests --filter "Category=Math"
fi

# ReadyToRun publish of `llr` (how it is deployed), then a smoke run of the published program.
publish_failed=0
echo "== publish llr (ReadyToRun, linux-x64)"
if dotnet publish src/LowLatencyRisk.Host -c Release -r linux-x64 --self-contained false -nologo -clp:NoSummary -o "$root/artifacts/llr" \
   && "$root/artifacts/llr/llr" margin "$root/artifacts/llr/examples/portfolio.json" > "$results/r2r-margin.txt" \
   && grep -q "covered-call" "$results/r2r-margin.txt"; then
  echo "ok: artifacts/llr/llr (ReadyToRun) computes the example portfolio"
else
  echo "!! ReadyToRun publish or its smoke run failed" >&2
  publish_failed=1
fi

# The embeddable libraries as NuGet packages (their public API is tracked in PublicAPI.*.txt).
echo "== pack the libraries"
rm -rf "$root/artifacts/packages"
if dotnet pack LowLatencyRisk.sln -c Release --no-build -nologo -clp:NoSummary -o "$root/artifacts/packages" > "$results/pack.txt" 2>&1 \
   && [ "$(ls "$root/artifacts/packages" | sort | tr '\n' ' ')" = "LowLatencyRisk.Core.0.1.0.nupkg LowLatencyRisk.Engine.0.1.0.nupkg LowLatencyRisk.Ipc.0.1.0.nupkg " ]; then
  echo "ok: artifacts/packages holds LowLatencyRisk.Core, LowLatencyRisk.Engine and LowLatencyRisk.Ipc"
else
  echo "!! dotnet pack failed or packed other projects: $(ls "$root/artifacts/packages" 2>/dev/null | tr '\n' ' ')" >&2
  publish_failed=1
fi

passed=0 failed=0 skipped=0 total=0
while IFS= read -r -d '' trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  t=$(get total); p=$(get passed); f=$(get failed); e=$(get error); n=$(get notExecuted)
  total=$((total + ${t:-0})); passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0})); skipped=$((skipped + ${n:-0}))
done < <(find "$results" -name '*.trx' -print0)

if [ "$native_failed" -ne 0 ]; then
  echo "native-interop tests failed" >&2
  failed=$((failed + 1))
fi
if [ "$publish_failed" -ne 0 ]; then
  failed=$((failed + 1))
fi
if [ "$runs_failed" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A crashed or aborted test host can leave a TRX without failures; it still failed.
  failed=$runs_failed
fi
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$failed" -ne 0 ] || [ "$total" -eq 0 ]; then
  exit 1
fi
