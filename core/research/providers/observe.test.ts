import { describe, expect, it } from '@jest/globals';
import { registry } from '../../observability/metrics.js';
import { observed } from './observe.js';
import { AbortedError } from './retry.js';

/** A sample's value; histogram samples are named `<metric>_count` etc. inside the metric `<metric>`. */
async function value(sample: string, labels: Record<string, string>): Promise<number> {
  const metrics = await registry.getMetricsAsJSON();
  const metric = metrics.find((m) => m.name === sample || sample.startsWith(`${m.name}_`))!;
  const values = metric.values as { value: number; labels: Record<string, unknown>; metricName?: string }[];
  const match = values.find(
    (v) => (v.metricName ?? metric.name) === sample && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  return match?.value ?? 0;
}

describe('observed provider calls', () => {
  it('times successes and counts failures by kind', async () => {
    const transient = () => ({ retryable: true, reason: 'x' });
    const permanent = () => ({ retryable: false, reason: 'x' });
    const before = {
      count: await value('pmf_provider_seconds_count', { provider: 'tavily', operation: 'search' }),
      transient: await value('pmf_provider_errors_total', { provider: 'tavily', kind: 'transient' }),
      permanent: await value('pmf_provider_errors_total', { provider: 'llm', kind: 'permanent' }),
      aborted: await value('pmf_provider_errors_total', { provider: 'llm', kind: 'aborted' }),
    };
    await expect(observed('tavily', 'search', transient, async () => 42)).resolves.toBe(42);
    await expect(observed('tavily', 'search', transient, async () => Promise.reject(new Error('503')))).rejects.toThrow(
      '503',
    );
    await expect(observed('llm', 'plan', permanent, async () => Promise.reject(new Error('400')))).rejects.toThrow(
      '400',
    );
    await expect(
      observed('llm', 'plan', transient, async () => Promise.reject(new AbortedError('stop'))),
    ).rejects.toBeInstanceOf(AbortedError);

    expect(await value('pmf_provider_seconds_count', { provider: 'tavily', operation: 'search' })).toBe(
      before.count + 2,
    );
    expect(await value('pmf_provider_errors_total', { provider: 'tavily', kind: 'transient' })).toBe(
      before.transient + 1,
    );
    expect(await value('pmf_provider_errors_total', { provider: 'llm', kind: 'permanent' })).toBe(before.permanent + 1);
    expect(await value('pmf_provider_errors_total', { provider: 'llm', kind: 'aborted' })).toBe(before.aborted + 1);
  });
});
