#!/usr/bin/env python3
"""A portfolio file of N accounts for timing `llr backtest` (perf/results/*-backtest).

Seeded: the same N and seed give the same file. Two underlyings (BTC 60,000, ETH 3,000), a perpetual,
a future and eight options each; every account holds 1-6 random positions with USD collateral.
Usage: backtest_portfolio.py N [SEED] > portfolio.json
"""
import json
import random
import sys

n = int(sys.argv[1])
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
instruments = []
for u, index, carry in (("BTC", 60000, 0.0), ("ETH", 3000, 0.05)):
    instruments.append({"name": f"{u}-PERP", "underlying": u, "kind": "perpetual"})
    instruments.append({"name": f"{u}-26MAR27", "underlying": u, "kind": "future", "expiry": "2027-03-26T08:00:00Z"})
    for k in (0.8, 0.9, 1.0, 1.1):
        for kind in ("call", "put"):
            instruments.append({"name": f"{u}-26MAR27-{int(index * k)}-{kind[0].upper()}", "underlying": u, "kind": kind,
                                "strike": index * k, "expiry": "2027-03-26T08:00:00Z", "volatility": 0.6})
prices = {"BTC": 60000, "ETH": 3000}
accounts = []
for a in range(n):
    positions = []
    for i in rng.sample(range(len(instruments)), rng.randint(1, 6)):
        x = instruments[i]
        price = prices[x["underlying"]] * (0.05 if x["kind"] in ("call", "put") else 1.0)
        positions.append({"instrument": x["name"], "side": rng.choice(("buy", "sell")), "quantity": rng.randint(1, 20), "price": price})
    accounts.append({"name": f"a{a}", "collateral": [{"asset": "USD", "balance": rng.randint(50, 500) * 1000}], "positions": positions})
json.dump({
    "valuationTime": "2026-11-22T08:00:00Z",
    "scenarioGrid": {"preset": "cmeSpan16", "priceScanRange": 0.15, "volScanRange": 0.25},
    "margin": {"maintenanceFraction": 0.8, "dynamicRange": {"enabled": True}},
    "underlyings": [{"name": "BTC", "index": 60000}, {"name": "ETH", "index": 3000, "carry": 0.05}],
    "instruments": instruments,
    "accounts": accounts,
}, sys.stdout, indent=None)
