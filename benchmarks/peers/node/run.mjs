// Times @cloud-copilot/iam-simulate INSIDE node over the requests of a JSON file, so that
// process start-up and module loading are excluded. Input: {"sets": [simulation without
// request], "requests": [{"set": i, "request": {...}}]}. Output (JSON on stdout): decisions,
// per-request latencies (ns), load time and RSS/heap deltas.
import { readFileSync } from 'node:fs'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const map = { Allowed: 'allowed', ExplicitlyDenied: 'explicitDeny', ImplicitlyDenied: 'implicitDeny' }
const rss0 = process.memoryUsage().rss
const heap0 = process.memoryUsage().heapUsed
const decisions = []
const latencies = []
const errors = {}
const t0 = process.hrtime.bigint()
for (const item of input.requests) {
  const sim = { ...input.sets[item.set], request: item.request }
  const s = process.hrtime.bigint()
  let decision
  try {
    const out = await runSimulation(sim, {})
    if (out.resultType === 'error') {
      const msg = (out.errors && out.errors.message) || 'error'
      errors[msg] = (errors[msg] || 0) + 1
      decision = 'error'
    } else {
      decision = map[out.overallResult] || String(out.overallResult)
    }
  } catch (e) {
    const msg = String(e && e.message ? e.message : e).slice(0, 120)
    errors[msg] = (errors[msg] || 0) + 1
    decision = 'error'
  }
  latencies.push(Number(process.hrtime.bigint() - s))
  decisions.push(decision)
}
const total = Number(process.hrtime.bigint() - t0)
const mem = process.memoryUsage()
process.stdout.write(JSON.stringify({
  decisions, latencies, total_ns: total, errors,
  rss_delta: mem.rss - rss0, heap_delta: mem.heapUsed - heap0,
}))
