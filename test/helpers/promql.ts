// Just enough of PromQL to list the metric names an expression reads, so the dashboard and the alert rules can
// be checked against the names the code registers (test/deploy/ops.test.ts).

const NOT_METRICS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless']);
const NOT_METRICS_TOO = new Set(['bool', 'offset', 'inf', 'nan']);

/** Every metric name in `expr`: what is left once strings, label matchers, ranges, label lists and calls are gone. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w:.])[a-zA-Z_:][\w:]*/g)) {
    const word = m[0];
    const calls = bare
      .slice(m.index + word.length)
      .trimStart()
      .startsWith('(');
    if (calls || NOT_METRICS.has(word) || NOT_METRICS_TOO.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names].sort();
}
