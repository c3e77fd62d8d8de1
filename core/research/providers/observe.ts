import { metrics } from '../../observability/metrics.js';
import { AbortedError, type FailureClass } from './retry.js';

/** Times one provider attempt into pmf_provider_seconds and counts its failure by kind (transient, permanent, aborted). */
export async function observed<T>(
  provider: 'tavily' | 'llm',
  operation: string,
  classify: (err: unknown) => FailureClass,
  attempt: () => Promise<T>,
): Promise<T> {
  const end = metrics.providerSeconds.startTimer({ provider, operation });
  try {
    return await attempt();
  } catch (err) {
    const kind = err instanceof AbortedError ? 'aborted' : classify(err).retryable ? 'transient' : 'permanent';
    metrics.providerErrors.inc({ provider, kind });
    throw err;
  } finally {
    end();
  }
}
