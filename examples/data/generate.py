#!/usr/bin/env python3
"""Regenerates the example input files (deterministic). Not needed to run the examples."""
import json, random
from datetime import datetime, timedelta, timezone

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

def iso(t):
    return t.strftime('%Y-%m-%dT%H:%M:%S.') + f'{t.microsecond // 1000:03d}Z'

def shuffle_a_little(records, rnd, max_shift=3):
    # out of order: some records move up to max_shift places later (a few seconds of event time)
    for i in range(len(records) - max_shift - 1, 0, -1):
        if rnd.random() < 0.05:
            j = i + rnd.randint(1, max_shift)
            records.insert(j, records.pop(i))
    return records

def iot():
    rnd = random.Random(7)
    lines = []
    n = 0
    for second in range(0, 30 * 60, 10):
        t = T0 + timedelta(seconds=second)
        minute = second // 60
        for s in range(1, 6):
            sensor = f'sensor-{s:02d}'
            if s == 5 and minute >= 20:
                continue  # sensor-05 goes silent: the dead-sensor rule fires
            temp = 21 + s * 0.5 + rnd.uniform(-1, 1)
            if s == 3 and 10 <= minute < 13:
                temp += 40  # overheating episode
            hum = 45 + rnd.uniform(-5, 5)
            if s == 2 and 15 <= minute < 17:
                hum = 93 + rnd.uniform(0, 3)
            for metric, value in (('temperature', temp), ('humidity', hum)):
                n += 1
                lines.append(json.dumps({'event_id': f'e{n}', 'key': sensor, 'metric': metric,
                                         'value': round(value, 2), 'event_time': iso(t),
                                         'attributes': {'site': 'plant-a' if s <= 3 else 'plant-b'}},
                                        separators=(',', ':')))
    lines = shuffle_a_little(lines, rnd)
    lines.insert(100, '{"event_id":"bad-1","key":"sensor-01","metric":"temperature","value":')
    lines.insert(700, '{"event_id":"bad-2","key":"sensor-02","metric":"humidity","value":"wet","event_time":"2026-01-01T00:05:00Z"}')
    lines.insert(1500, 'not json at all')
    lines.insert(2200, '{"event_id":"bad-3","metric":"temperature","value":20,"event_time":"2026-01-01T00:12:00Z"}')
    half = len(lines) // 2
    with open('iot/readings-1.jsonl', 'w') as f:
        f.write('\n'.join(lines[:half]) + '\n')
    with open('iot/readings-2.jsonl', 'w') as f:
        f.write('\n'.join(lines[half:]) + '\n')

def payments():
    rnd = random.Random(11)
    rows = ['txn_id,card_id,amount,ts,merchant']
    n = 0
    base_ms = int(T0.timestamp() * 1000)
    for second in range(0, 20 * 60, 3):
        for c in range(1, 41):
            if rnd.random() > 0.08:
                continue
            n += 1
            amount = round(rnd.lognormvariate(3, 0.6), 2)
            rows.append(f't{n},card-{c:03d},{amount},{base_ms + second * 1000},m{rnd.randint(1, 30)}')
    # card-007: a burst of many large payments in minute 12 (velocity and anomaly)
    for k in range(25):
        n += 1
        rows.append(f't{n},card-007,{round(900 + k * 13.5, 2)},{base_ms + (12 * 60 + k * 2) * 1000},m99')
    rows.append('t-bad,card-001,"12.50')        # broken quoting
    rows.append('t-short,card-002')             # too few cells
    rows.append(f't-nan,card-003,abc,{base_ms},m1')  # not a number
    with open('payments/transactions.csv', 'w') as f:
        f.write('\n'.join(rows) + '\n')

def latency():
    rnd = random.Random(5)
    lines = []
    n = 0
    for second in range(0, 20 * 60):
        t = T0 + timedelta(seconds=second)
        minute = second // 60
        for ep in ('/api/orders', '/api/search', '/api/login'):
            if rnd.random() > 0.5:
                continue
            n += 1
            ms = rnd.lognormvariate(4, 0.4)  # ~55 ms median
            if ep == '/api/search' and 8 <= minute < 11 and rnd.random() < 0.1:
                ms = rnd.uniform(800, 2500)  # slow tail: the SLO breaks
            lines.append(json.dumps({'request_id': f'r{n}', 'endpoint': ep, 'latency_ms': round(ms, 1),
                                     'ts': iso(t)}, separators=(',', ':')))
    lines = shuffle_a_little(lines, rnd)
    lines.insert(50, '{"request_id":"r-bad","endpoint":"/api/orders","latency_ms":NaN,"ts":"2026-01-01T00:00:30Z"}')
    with open('latency/requests.jsonl', 'w') as f:
        f.write('\n'.join(lines) + '\n')

if __name__ == '__main__':
    import os
    for d in ('iot', 'payments', 'latency'):
        os.makedirs(d, exist_ok=True)
    iot(); payments(); latency()
