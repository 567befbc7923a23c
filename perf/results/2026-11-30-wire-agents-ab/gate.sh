#!/usr/bin/env bash
set -u
run() { (cd /work/$1 && timeout 300 dotnet run -c Release --no-build --project perf/LowLatencyRisk.PerfTests -- gate-outofprocess --engine true --count 1000000 --rate 100000 > /tmp/ab/$2-gate-engine.txt 2>&1); }
probe() { (cd /work/perfB && timeout 120 dotnet run -c Release --no-build --project perf/LowLatencyRisk.PerfTests -- ring-pingpong --cross-process false --count 200000 --rate 100000 --runs 1 2>&1 | grep -A2 "^| p50" | tail -1 | awk -F'|' '{print $2}'); }
i=4
for order in "A B" "B A" "A B" "B A"; do
  echo "gate round $i $(date -u +%H:%M:%S) placement p50 $(probe) ns" >> /tmp/ab/placement.txt
  for x in $order; do run perf$x $x$i; done
  i=$((i+1))
done
echo "gate end $(date -u +%H:%M:%S) placement p50 $(probe) ns" >> /tmp/ab/placement.txt
echo gate-finished >> /tmp/ab/placement.txt
