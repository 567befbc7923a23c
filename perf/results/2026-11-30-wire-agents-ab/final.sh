#!/usr/bin/env bash
set -u
run() { local tree=$1 label=$2 name=$3; shift 3; (cd /work/$tree && timeout 300 dotnet run -c Release --no-build --project perf/LowLatencyRisk.PerfTests -- "$@" > /tmp/ab/F-$label-$name.txt 2>&1); }
probe() { (cd /work/perfB && timeout 120 dotnet run -c Release --no-build --project perf/LowLatencyRisk.PerfTests -- ring-pingpong --cross-process false --count 200000 --rate 100000 --runs 1 2>&1 | grep -A2 "^| p50" | tail -1 | awk -F'|' '{print $2}'); }
i=1
for order in "A C" "C A" "A C"; do
  echo "final round $i placement p50 $(probe) ns" >> /tmp/ab/placement.txt
  for t in engine-throughput fill-breach fill-breach-xproc gate-engine; do
    for x in $order; do
      case $t in
        engine-throughput) run perf$x $x$i $t engine-throughput --duration 10 ;;
        fill-breach) run perf$x $x$i $t fill-breach --duration 10 ;;
        fill-breach-xproc) run perf$x $x$i $t fill-breach-xproc --duration 10 ;;
        gate-engine) run perf$x $x$i $t gate-outofprocess --engine true --count 1000000 --rate 100000 ;;
      esac
    done
  done
  i=$((i+1))
done
echo "final end placement p50 $(probe) ns" >> /tmp/ab/placement.txt
echo final-finished >> /tmp/ab/placement.txt
