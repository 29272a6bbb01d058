// The pg-boss side of the peer benchmark (bench/peer.sh; the ehcd side is bench/peer.c).
//
// pg-boss 9.0.3 (package-lock.json), at the settings that make it fire soonest and cheapest:
//   - workers: PGBOSS_WORKERS boss.work() loops on the queue (default 4), each with
//     batchSize PGBOSS_BATCH_FETCH (default 1000): one fetch statement claims up to that many due jobs, the
//     handler gets them as an array, one statement completes them all;
//   - newJobCheckInterval 100 ms, the least pg-boss 9 accepts (a worker that found nothing, or
//     finished early, fetches again after at most 100 ms);
//   - noSupervisor and noScheduling: no maintenance (archiving, expiry, monitoring) and no cron
//     during the run; onComplete false (no completion jobs);
//   - connection pool max 10 (pg-boss's default).
// 4 x 1000 was the best of three trials on the 2-core machine (2 x 500, 4 x 1000, 2 x 2000; 10,000
// due at one instant: completion p50 1.6 s, 1.0 s, 1.05 s; p99 2.8 s, 1.2 s, 1.5 s).
// Scheduling: boss.insert() of BATCH jobs at a time (one multi-row INSERT each, committed), each
// job with startAfter = its due instant (whole milliseconds, the same instants as the ehcd side).
// Firing: the handler is invoked, then pg-boss commits the jobs' completion (state completed,
// completedOn = now()).
//
// Lag: from the due instant to the completion committed (timed in this process when pg-boss's own
// complete(), which its workers call once the handler resolved, has returned), the counterpart of
// ehcd's alert committed; the handler's invocation is reported beside it.
// CPU: this process (process.cpuUsage) and the whole PostgreSQL cluster (as bench/peer.c: the
// postmaster's own and reaped children's ticks plus every live child's, from /proc), sampled around
// scheduling, at the first due instant and once every job is completed.
//
// Usage: node pgboss.js SHAPE N SPREAD_MS LEAD_MS BATCH POSTMASTER_PID; connection from PGHOST,
// PGPORT, PGUSER, PGDATABASE. Prints "key value" lines.
'use strict'
const fs = require('fs')
const { performance } = require('perf_hooks')
const PgBoss = require('pg-boss')

const [shape, nArg, spreadArg, leadArg, batchArg, pmArg] = process.argv.slice(2)
const n = Number(nArg)
const spreadMs = shape === 'storm' ? 0 : Number(spreadArg)
const leadMs = Number(leadArg)
const batch = Number(batchArg)
const postmaster = Number(pmArg)
const workers = Number(process.env.PGBOSS_WORKERS || 4)
const fetchBatch = Number(process.env.PGBOSS_BATCH_FETCH || 1000)
const queue = 'deadline'
if (!(n > 0 && leadMs > 0 && batch > 0 && postmaster > 0) || !['spread', 'storm'].includes(shape)) {
  console.error('usage: node pgboss.js spread|storm N SPREAD_MS LEAD_MS BATCH POSTMASTER_PID')
  process.exit(2)
}

const nowMs = () => performance.timeOrigin + performance.now()
const cpuSelf = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6 }
const CLK_TCK = 100 // Linux USER_HZ
function cpuCluster () {
  let ticks = 0
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    let s
    try { s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8') } catch { continue }
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    // f[0] state, f[1] ppid, f[11] utime, f[12] stime, f[13] cutime, f[14] cstime
    if (Number(pid) === postmaster) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])
    else if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12])
  }
  return ticks / CLK_TCK
}
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]

async function main () {
  const boss = new PgBoss({
    host: process.env.PGHOST,
    port: Number(process.env.PGPORT),
    user: process.env.PGUSER,
    database: process.env.PGDATABASE,
    max: 10,
    newJobCheckInterval: 100,
    noSupervisor: true,
    noScheduling: true
  })
  boss.on('error', err => console.error('pg-boss error:', err.message))
  await boss.start()

  // the handler's invocation, and pg-boss's own completion of the batch (the method its workers
  // call once the handler resolved), timed when its statement has committed
  const lags = []
  const doneLags = []
  const dueById = new Map()
  let fired = 0
  let completed = 0
  let lastDone = 0
  let resolveAll
  const allDone = new Promise(resolve => { resolveAll = resolve })
  const complete = boss.manager.complete.bind(boss.manager)
  boss.manager.complete = async (id, data, options) => {
    const result = await complete(id, data, options)
    const t = nowMs()
    for (const i of Array.isArray(id) ? id : [id]) doneLags.push(t - dueById.get(i))
    completed += result.updated
    lastDone = t
    if (completed >= n) resolveAll()
    return result
  }
  for (let w = 0; w < workers; w++) {
    await boss.work(queue, { batchSize: fetchBatch, newJobCheckInterval: 100 }, async jobs => {
      const t = nowMs()
      for (const job of jobs) {
        lags.push(t - job.data.due)
        dueById.set(job.id, job.data.due)
      }
      fired += jobs.length
    })
  }

  // schedule
  const self0 = cpuSelf(); const pg0 = cpuCluster()
  const start = Date.now()
  const base = start + leadMs
  const t0 = performance.now()
  for (let from = 0; from < n; from += batch) {
    const jobs = []
    for (let i = from; i < Math.min(n, from + batch); i++) {
      const due = base + (spreadMs > 0 ? Math.floor(spreadMs * i / n) : 0)
      jobs.push({ name: queue, data: { due, i }, startAfter: new Date(due), onComplete: false })
    }
    await boss.insert(jobs)
  }
  const scheduleS = (performance.now() - t0) / 1000
  const self1 = cpuSelf(); const pg1 = cpuCluster()
  const schedEnd = Date.now()

  // fire: CPU at the first due instant, then wait for every completion
  let atDue = null
  const dueTimer = new Promise(resolve => setTimeout(() => {
    atDue = { self: cpuSelf(), pg: cpuCluster() }
    resolve()
  }, Math.max(0, base - schedEnd)))
  const giveUp = new Promise(resolve => setTimeout(resolve, leadMs + spreadMs + 600000).unref())
  await Promise.race([Promise.all([dueTimer, allDone]), giveUp])
  const self2 = cpuSelf(); const pg2 = cpuCluster()
  await boss.stop({ graceful: false, wait: true, timeout: 5000 })

  lags.sort((a, b) => a - b)
  doneLags.sort((a, b) => a - b)
  const out = {
    system: 'pg-boss',
    shape,
    jobs: n,
    schedule_seconds: scheduleS.toFixed(3),
    schedule_rate: (n / scheduleS).toFixed(0),
    schedule_late: schedEnd > base ? 1 : 0,
    schedule_cpu_self_s: (self1 - self0).toFixed(2),
    schedule_cpu_pg_s: (pg1 - pg0).toFixed(2),
    handler_invoked: fired,
    fired: completed,
    lag_p50_ms: doneLags.length ? pct(doneLags, 0.5).toFixed(1) : 'NaN',
    lag_p99_ms: doneLags.length ? pct(doneLags, 0.99).toFixed(1) : 'NaN',
    lag_max_ms: doneLags.length ? doneLags[doneLags.length - 1].toFixed(1) : 'NaN',
    handler_lag_p50_ms: lags.length ? pct(lags, 0.5).toFixed(1) : 'NaN',
    handler_lag_p99_ms: lags.length ? pct(lags, 0.99).toFixed(1) : 'NaN',
    fire_window_seconds: ((lastDone - base) / 1000).toFixed(3),
    fire_cpu_self_s: atDue ? (self2 - atDue.self).toFixed(2) : 'NaN',
    fire_cpu_pg_s: atDue ? (pg2 - atDue.pg).toFixed(2) : 'NaN',
    workers,
    fetch_batch: fetchBatch
  }
  for (const [k, v] of Object.entries(out)) console.log(`${k} ${v}`)
  process.exit(fired >= n && completed >= n ? 0 : 1)
}

main().catch(err => { console.error(err); process.exit(1) })
