import type { Logger } from '../core/observability/logger.js';

/**
 * Runs `steps` in order on the first SIGTERM or SIGINT, then exits 0; a second signal exits at once.
 * Each step is awaited so a worker's drain finishes before its connections close.
 */
export function onShutdown(logger: Logger, steps: (() => Promise<unknown> | unknown)[]): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        logger.warn({ err }, 'shutdown step failed');
      }
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
