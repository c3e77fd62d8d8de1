import type { REST } from 'discord.js';
import { metrics } from '../../core/observability/metrics.js';

/**
 * Counts Discord's 429 answers as pmf_platform_api_errors_total{platform="discord",code="ratelimited"}, as
 * Slack's are. discord.js waits them out and retries by itself, so they never reach our error handling; its
 * REST client emits every response, and its route (`/channels/:id/messages`) keeps the label set small.
 */
export function count429s(rest: REST): REST {
  rest.on('response', (request, response) => {
    if (response.status !== 429) return;
    metrics.platformApiErrors.inc({
      platform: 'discord',
      method: `${request.method.toUpperCase()} ${request.route}`,
      code: 'ratelimited',
    });
  });
  return rest;
}
