#!/usr/bin/env bash
set -u
run() { (cd /work/$1 && timeout 300 dotnet run -c Release --no-build --project perf/LowLatencyRisk.PerfTests -- gate-outofprocess --engine true --count 1000000 --rate 100000 > /tmp/ab/$2-gate-engine.txt 2>&1); }
i=1
for order in "A C" "C A" "A C" "C A" "A C" "C A"; do
  for x in $order; do run perf$x $x$i; done
  i=$((i+1))
done
echo gate3-finished >> /tmp/ab/placement.txt
