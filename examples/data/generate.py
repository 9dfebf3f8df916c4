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
    # One reading per device every 10 s, both metrics in one payload. bench-01 is a test rig in the
    # lab (the spec's filter drops it, though it runs hot enough to alert); three glitch readings of
    # -273.15 are dropped too. Keys are site/device (the spec's key expression).
    rnd = random.Random(7)
    lines = []
    n = 0
    for second in range(0, 30 * 60, 10):
        t = T0 + timedelta(seconds=second)
        minute = second // 60
        for s in range(1, 7):
            device = f'sensor-{s:02d}' if s <= 5 else 'bench-01'
            site = 'plant-a' if s <= 3 else 'plant-b' if s <= 5 else 'lab'
            if s == 5 and minute >= 20:
                continue  # sensor-05 goes silent: the dead-sensor rule fires
            temp = 21 + s * 0.5 + rnd.uniform(-1, 1)
            if s == 3 and 10 <= minute < 13:
                temp += 40  # overheating episode, above the default limit of 50
            if s == 4 and 22 <= minute < 25:
                temp += 5  # warm episode, above sensor-04's own limit of 26 (sensors.csv)
            if s == 6:
                temp = 80 + rnd.uniform(-1, 1)  # the test rig's heat cycle
            hum = 45 + rnd.uniform(-5, 5)
            if s == 2 and 15 <= minute < 17:
                hum = 93 + rnd.uniform(0, 3)
            n += 1
            lines.append(json.dumps({'reading_id': f'r{n}', 'device': device, 'ts': iso(t),
                                     'meta': {'site': site}, 'temperature': round(temp, 2),
                                     'humidity': round(hum, 2)}, separators=(',', ':')))
    lines = shuffle_a_little(lines, rnd)
    for i, at in enumerate((300, 900, 1400)):
        lines.insert(at, json.dumps({'reading_id': f'glitch-{i + 1}', 'device': 'sensor-01',
                                     'ts': iso(T0 + timedelta(seconds=at)),
                                     'meta': {'site': 'plant-a'}, 'temperature': -273.15,
                                     'humidity': 45.0}, separators=(',', ':')))
    lines.insert(100, '{"reading_id":"bad-1","device":"sensor-01","ts":"2026-01-01T00:02:00.000Z","temperature":')
    lines.insert(700, '{"reading_id":"bad-2","device":"sensor-02","ts":"2026-01-01T00:05:00.000Z","meta":{"site":"plant-a"},"temperature":22.0,"humidity":"wet"}')
    lines.insert(1500, 'not json at all')
    lines.insert(1800, '{"reading_id":"bad-3","ts":"2026-01-01T00:12:00.000Z","meta":{"site":"plant-a"},"temperature":20.0,"humidity":40.0}')
    half = len(lines) // 2
    with open('iot/readings-1.jsonl', 'w') as f:
        f.write('\n'.join(lines[:half]) + '\n')
    with open('iot/readings-2.jsonl', 'w') as f:
        f.write('\n'.join(lines[half:]) + '\n')
    with open('iot/sensors.csv', 'w') as f:
        f.write('sensor,description,max_temperature\n'
                'plant-a/sensor-01,boiler room,50\n'
                'plant-a/sensor-02,boiler room,50\n'
                'plant-a/sensor-03,furnace hall,50\n'
                'plant-b/sensor-04,cold store,26\n')
        # plant-b/sensor-05 has no row: it takes the spec's default limit


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
