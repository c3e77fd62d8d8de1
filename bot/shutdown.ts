import type { Logger } from '../core/observability/logger.js';

/**
 * Runs `steps` in order on the first SIGTERM or SIGINT, then exits 0; a second signal exits at once.
 * Each step is awaited so a worker's drain finishes before its connections close. The returned function runs
 * the same steps from within (e.g. when no platform is left) and exits with `code`.
 */
export function onShutdown(
  logger: Logger,
  steps: (() => Promise<unknown> | unknown)[],
): (code: number, reason: string) => Promise<void> {
  let stopping = false;
  const stop = async (code: number, reason: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal: reason }, 'shutting down');
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        logger.warn({ err }, 'shutdown step failed');
      }
    }
    logger.info('stopped');
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop(0, 'SIGTERM'));
  process.on('SIGINT', () => void stop(0, 'SIGINT'));
  return stop;
}
