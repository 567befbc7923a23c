#!/usr/bin/env bash
# Interleaved A/B: A = 7640855 (main before this session's #17 work), B = bbd3fe4.
set -u
run() { # tree label test args...
  local tree=$1 label=$2 name=$3; shift 3
  (cd /work/$tree && timeout 300 dotnet run -c Release --no-build --project perf/LowLatencyRisk.PerfTests -- "$@" > /tmp/ab/$label-$name.txt 2>&1)
}
probe() {
  (cd /work/perfB && timeout 120 dotnet run -c Release --no-build --project perf/LowLatencyRisk.PerfTests -- ring-pingpong --cross-process false --count 200000 --rate 100000 --runs 1 2>&1 | grep -A2 "^| p50" | tail -1 | awk -F'|' '{print $2}') 
}
for round in 1 2 3; do
  echo "round $round $(date -u +%H:%M:%S) placement p50 $(probe) ns" >> /tmp/ab/placement.txt
  if [ $round -eq 2 ]; then order="perfB:B perfA:A"; else order="perfA:A perfB:B"; fi
  for t in engine-throughput fill-breach fill-breach-xproc gate-engine; do
    for o in $order; do
      tree=${o%%:*}; l=${o##*:}$round
      case $t in
        engine-throughput) run $tree $l $t engine-throughput --duration 10 ;;
        fill-breach) run $tree $l $t fill-breach --duration 10 ;;
        fill-breach-xproc) run $tree $l $t fill-breach-xproc --duration 10 ;;
        gate-engine) run $tree $l $t gate-outofprocess --engine true --count 1000000 --rate 100000 ;;
      esac
    done
  done
done
echo "end $(date -u +%H:%M:%S) placement p50 $(probe) ns" >> /tmp/ab/placement.txt
echo finished >> /tmp/ab/placement.txt
