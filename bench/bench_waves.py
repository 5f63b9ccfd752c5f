"""Benchmark: planning one day's vaccination wave over a whole population.

    .venv/bin/python bench/bench_waves.py [--residents 650000 6500000] [--repeat 3]

For each size, a warehouse is built directly in DuckDB (residents spread over the 102 communes by their
2021 population, ages 0–99, 8 % in priority groups, one register snapshot), then each repeat runs in a
fresh child process: the first wave of 2021-02-01 and, with that wave's letters (expired, unbooked) as
history, the wave of 2021-02-25, which re-invites (planning both as the stage does, within the shipped print
shop's capacity scaled like the centres', booking codes included), measuring
wall time and peak RSS. Baseline in the same child: a scan of the residents valid on the day with their
age (what any wave must read).
Targets: ≤ 2 s at 650,000 and ≤ 10 s at 6,500,000; peak memory ≤ 2 GiB at 6,500,000.

With ``--mailing``: instead, the national mailing of ``bench/bench_national.py`` (one letter to every resident,
the print shop's capacity lifted) planned for 2021-06-01 through the same ``plan_day``: the largest wave a day can
hold, timed with its peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUILD = """
import sys, duckdb
from convoc import warehouse
n = int(sys.argv[2])
with warehouse.connect(__import__('pathlib').Path(sys.argv[1])) as con:
    warehouse.ensure_schema(con)
    con.execute('''
        insert into core.dim_resident
        with communes as (
            select commune, canton, sum(population_2021) over (order by commune) as upto,
                   sum(population_2021) over () as total
            from core.ref_commune
        ),
        people as (
            select i, hash(i) % 1000000 / 1000000.0 as u from range(1, $n + 1) t(i)
        )
        select i, lpad(i::varchar, 13, '0'), 'X', 'Y', date '1921-03-01' + cast(hash(i * 7) % 36500 as integer),
               case when i % 2 = 0 then 'F' else 'M' end, 'rue', '1', 'L-1009', 'Luxembourg',
               c.commune, c.canton, 'LU', 'fr', 'resident', 'h', date '2021-01-29', null, true
        from people p
        join communes c on p.u * c.total < c.upto and p.u * c.total >= c.upto - (
            select population_2021 from core.ref_commune r where r.commune = c.commune)
    ''', {'n': n})
    con.execute('''
        insert into core.fct_priority_group
        select date '2021-01-29', resident_id,
               case hash(resident_id) % 4 when 0 then 'health_worker' when 1 then 'vulnerable_high'
                    when 2 then 'vulnerable_moderate' else 'diabetes' end, null, null
        from core.dim_resident where hash(resident_id * 3) % 100 < 8
    ''')
"""

PLAN = """
import json, sys, time
from datetime import date
from pathlib import Path
from convoc import warehouse
from convoc.campaigns import load_campaigns, load_centres
from convoc.campaigns.print_shop import load_print_shop
from convoc.waves.run import WAVES_MEMORY_LIMIT, plan_day
[campaign] = [c for c in load_campaigns() if c.campaign == "vaccination"]
centres = load_centres()
shop = load_print_shop()
out = {}
with warehouse.connect(Path(sys.argv[1]), memory_limit=WAVES_MEMORY_LIMIT) as con:
    t = time.perf_counter()
    con.execute('''select count(*), avg(date_part('year', age(timestamp '2021-02-01', cast(birth_date as timestamp))))
                   from core.dim_resident where valid_from <= date '2021-02-01'
                   and (valid_to is null or valid_to > date '2021-02-01') and status = 'resident' ''').fetchall()
    out['baseline'] = time.perf_counter() - t
    for name, day in [('first', date(2021, 2, 1)), ('second', date(2021, 2, 25))]:
        t = time.perf_counter()
        with warehouse.transaction(con):
            [result] = plan_day(con, [campaign], centres, shop, day, b'k' * 32, float(sys.argv[2]))
        out[name] = time.perf_counter() - t
        out[name + '_letters'] = result.invitations
print('RESULT=' + json.dumps(out))
"""


PLAN_MAILING = """
import json, sys, time
from datetime import date
from pathlib import Path
from convoc import warehouse
from convoc.campaigns import load_campaigns, load_centres
from convoc.campaigns.print_shop import load_print_shop
from convoc.waves.run import WAVES_MEMORY_LIMIT, plan_day
campaigns, shop = load_campaigns(Path(sys.argv[2])), load_print_shop(Path(sys.argv[3]))
with warehouse.connect(Path(sys.argv[1]), memory_limit=WAVES_MEMORY_LIMIT) as con:
    t = time.perf_counter()
    with warehouse.transaction(con):
        [result] = plan_day(con, campaigns, load_centres(), shop, date(2021, 6, 1), b'k' * 32)
    seconds = time.perf_counter() - t
peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM')) / 1024
print('RESULT=' + json.dumps({'seconds': seconds, 'letters': result.invitations, 'peak': peak}))
"""


def _child(args: list[str]) -> tuple[float, str]:
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"child failed ({status})")
    return usage.ru_maxrss / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, nargs="+", default=[650_000, 6_500_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mailing", action="store_true", help="plan the national mailing of bench_national.py")
    args = parser.parse_args()
    if args.mailing:
        return mailing(args.residents, args.repeat)
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    lines = []
    for n in args.residents:
        root = Path(tempfile.mkdtemp(prefix="convoc-bench-waves-"))
        try:
            base = root / "base.duckdb"
            t = time.perf_counter()
            _child(["-c", BUILD, str(base), str(n)])
            print(f"{n:,}: warehouse built in {time.perf_counter() - t:.1f} s", flush=True)
            runs = []
            for i in range(args.repeat):
                db = root / f"run{i}.duckdb"
                shutil.copy(base, db)
                peak, out = _child(["-c", PLAN, str(db), str(n / 634_730)])
                result = json.loads(out.split("RESULT=", 1)[1])
                result["peak"] = peak
                runs.append(result)
                db.unlink()
                print(f"  run {i}: {result}", flush=True)
            med = {k: statistics.median(r[k] for r in runs) for k in ("first", "second", "baseline", "peak")}
            lines.append(
                f"| `.venv/bin/python bench/bench_waves.py --residents {n} --repeat {args.repeat}` | {machine} "
                f"| {n:,} | {med['first']:.2f} s ({runs[0]['first_letters']:,} letters) "
                f"| {med['second']:.2f} s ({runs[0]['second_letters']:,} letters) | {med['peak']:.0f} MiB "
                f"| {med['baseline']:.2f} s | {med['first'] / med['baseline']:.1f}× |"
            )
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print("| command | machine | residents | first wave | wave with history | peak RSS | baseline (scan) | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


def mailing(sizes: list[int], repeat: int) -> None:
    """``--mailing``: the national mailing's wave, planned ``repeat`` times at each size."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_national import campaign_folder

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print("| command | machine | residents | national mailing wave | peak RSS |")
    print("|---|---|---|---|---|")
    for n in sizes:
        root = Path(tempfile.mkdtemp(prefix="convoc-bench-waves-"))
        try:
            folder, shop = campaign_folder(root)
            base = root / "base.duckdb"
            _child(["-c", BUILD, str(base), str(n)])
            runs = []
            for i in range(repeat):
                db = root / f"run{i}.duckdb"
                shutil.copy(base, db)
                _, out = _child(["-c", PLAN_MAILING, str(db), str(folder), str(shop)])
                runs.append(json.loads(out.split("RESULT=", 1)[1]))  # its own peak: VmHWM, not ru_maxrss
                db.unlink()
            seconds = statistics.median(r["seconds"] for r in runs)
            peak = statistics.median(r["peak"] for r in runs)
            print(
                f"| `.venv/bin/python bench/bench_waves.py --mailing --residents {n} --repeat {repeat}` | {machine} "
                f"| {n:,} | {seconds:.2f} s ({runs[0]['letters']:,} letters) | {peak:.0f} MiB |",
                flush=True,
            )
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
