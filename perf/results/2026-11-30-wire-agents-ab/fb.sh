#!/usr/bin/env bash
set -u
run() { (cd /work/$1 && timeout 300 dotnet run -c Release --no-build --project perf/LowLatencyRisk.PerfTests -- fill-breach --duration 10 > /tmp/ab/H-$2-fill-breach.txt 2>&1); }
probe() { (cd /work/perfB && timeout 120 dotnet run -c Release --no-build --project perf/LowLatencyRisk.PerfTests -- ring-pingpong --cross-process false --count 200000 --rate 100000 --runs 1 2>&1 | grep -A2 "^| p50" | tail -1 | awk -F'|' '{print $2}'); }
i=1
for order in "A C" "C A" "A C" "C A" "A C" "C A"; do
  [ $((i % 4)) -eq 1 ] && echo "fb round $i placement p50 $(probe) ns" >> /tmp/ab/placement.txt
  for x in $order; do run perf$x $x$i; done
  i=$((i+1))
done
echo "fb end placement p50 $(probe) ns" >> /tmp/ab/placement.txt
echo fb-finished >> /tmp/ab/placement.txt
