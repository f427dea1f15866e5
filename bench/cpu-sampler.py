# Samples, once a second, the CPU (cores) of the benchmark's process, PostgreSQL's backends, the replica's WAL
# replay, the WAL sender/receiver, InfluxDB and Redis, from /proc, and how many flush statements are active
# (stage_flush_part / stage_flush(); each count includes this script's own query, so subtract one):
#   python3 bench/cpu-sampler.py BENCH_DIR OUT_FILE &     # BENCH_DIR: the --dir of tessera-bench (its cluster.json)
# BENCHMARKS.md, "Two flush sessions, over batches of one tenant".
import os, time, sys, json, subprocess
d = sys.argv[1]; out = open(sys.argv[2], 'w')
hz = os.sysconf('SC_CLK_TCK')
def cat(pid):
    try:
        cmd = open(f'/proc/{pid}/cmdline','rb').read().replace(b'\0',b' ').decode(errors='ignore')
    except Exception: return None
    if 'tessera-bench' in cmd: return 'bench'
    if 'startup' in cmd and 'recovering' in cmd: return 'replay'
    if 'walsender' in cmd or 'walreceiver' in cmd: return 'wal'
    if 'postgres' in cmd: return 'pg'
    if 'influxd' in cmd: return 'influx'
    if 'redis' in cmd: return 'redis'
    return None
prev = {}; url = None
while True:
    now = {}
    for p in os.listdir('/proc'):
        if not p.isdigit(): continue
        c = cat(p)
        if not c: continue
        try:
            f = open(f'/proc/{p}/stat').read().rsplit(')',1)[1].split()
            now[p] = (c, int(f[11]) + int(f[12]))
        except Exception: pass
    agg = {}
    for p,(c,t) in now.items():
        if p in prev: agg[c] = agg.get(c,0) + (t - prev[p][1]) / hz
    prev = now
    if url is None and os.path.exists(d + '/cluster.json'):
        try:
            j = json.load(open(d + '/cluster.json'))
            url = f"postgres://tessera:{j['password']}@127.0.0.1:{j['components']['primary']['port']}/tessera"
        except Exception: pass
    parts = flush = 0
    if url:
        try:
            r = subprocess.run(['psql', url, '-XAtc', "select count(*) filter (where query like '%stage_flush_part%'), count(*) filter (where query like '%stage_flush()%') from pg_stat_activity where state='active'"], capture_output=True, text=True, timeout=2).stdout.strip()
            parts, flush = r.split('|')
        except Exception: pass
    out.write(time.strftime('%H:%M:%S') + ' ' + ' '.join(f'{k}={v:.2f}' for k,v in sorted(agg.items())) + f' parts={parts} single={flush}\n'); out.flush()
    time.sleep(1)
