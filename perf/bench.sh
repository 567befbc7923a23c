#!/usr/bin/env bash
# Runs BenchmarkDotNet suites and copies the reports into perf/results/<date>-benchmarks/.
#   bash perf/bench.sh                 # every benchmark
#   bash perf/bench.sh '*Ring*'        # a filter
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-*}
out="perf/results/$(date -u +%Y-%m-%d)-benchmarks"
mkdir -p "$out"
# BenchmarkDotNet refuses benchmark assemblies under the temp directory; build artifacts stay in the repo.
rm -rf perf/BenchmarkDotNet.Artifacts/results
dotnet run -c Release --project perf/LowLatencyRisk.Benchmarks -- --filter "$filter" --artifacts perf/BenchmarkDotNet.Artifacts --exporters github "${@:2}"
{
  echo "# BenchmarkDotNet results"
  echo
  echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(nproc) logical CPUs; $(uname -sr)"
  echo "- command: \`bash perf/bench.sh '$filter'${2:+ ${*:2}}\`"
  echo "- date (UTC): $(date -u '+%Y-%m-%d %H:%M')"
  echo
  for f in perf/BenchmarkDotNet.Artifacts/results/*-report-github.md; do
    cat "$f"; echo
  done
} > "$out/$(echo "$filter" | tr -c 'A-Za-z0-9' '_' | sed 's/_*$//;s/^_*//' | sed 's/^$/all/').md"
echo "written to $out"
