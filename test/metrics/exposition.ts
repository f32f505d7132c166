// Test helper: a small parser of the Prometheus text exposition format, so tests read what a scraper
// reads (names, labels, values, HELP and TYPE lines) rather than prom-client's objects.

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Exposition {
  samples: Sample[]
  /** Metric name → type, from `# TYPE` lines. */
  types: Map<string, string>
  /** Metric name → help text, from `# HELP` lines. */
  helps: Map<string, string>
  /** The value of the one sample of `name` whose labels include `labels`; throws unless exactly one. */
  value(name: string, labels?: Record<string, string>): number
  /** Like {@link value}, but 0 when there is no such sample. */
  valueOr0(name: string, labels?: Record<string, string>): number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  const helps = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (meta) {
      ;(meta[1] === 'HELP' ? helps : types).set(meta[2]!, meta[3]!)
      continue
    }
    const match = SAMPLE.exec(line)
    if (!match) throw new Error(`not an exposition line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, name, value] of (match[2] ?? '').matchAll(LABEL)) {
      labels[name!] = value!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) })
  }
  const matching = (name: string, labels: Record<string, string>) =>
    samples.filter(
      (sample) =>
        sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
  return {
    samples,
    types,
    helps,
    value(name, labels = {}) {
      const found = matching(name, labels)
      if (found.length !== 1) {
        throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}, expected exactly 1`)
      }
      return found[0]!.value
    },
    valueOr0(name, labels = {}) {
      const found = matching(name, labels)
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`)
      return found[0]?.value ?? 0
    },
  }
}
