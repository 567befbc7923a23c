#!/usr/bin/env bash
set -u
for x in A C2 A C2; do
  tree=/work/perf$x; [ $x = A ] && tree=/work/perfA
  n=$(ls /tmp/ab/bdn-$x-*.md 2>/dev/null | wc -l)
  (cd $tree && rm -rf perf/BenchmarkDotNet.Artifacts/results && timeout 900 dotnet run -c Release --project perf/LowLatencyRisk.Benchmarks -- --filter '*RiskEngineBenchmarks*' --artifacts perf/BenchmarkDotNet.Artifacts --exporters github --maxIterationCount 25 > /tmp/ab/bdn-$x-$n.log 2>&1; cp perf/BenchmarkDotNet.Artifacts/results/*RiskEngineBenchmarks*-report-github.md /tmp/ab/bdn-$x-$n.md)
done
echo bdn-finished >> /tmp/ab/placement.txt
