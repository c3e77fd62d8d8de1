import { namespacedChannel, type Redis } from '../storage/redis.js';
import type { Delivery } from '../tasks/delivery.js';
import type { Task } from '../tasks/types.js';

// The console has no message to edit: a research started from the playground is shown by a page that
// listens on Redis. Each call publishes one event; the report itself stays in MongoDB (the page loads it).

const CONSOLE_DELIVERY_PREFIX = 'pmf:console:';

export type ConsoleEvent = { kind: 'progress' | 'succeeded' | 'failed'; task: Task };

export function consoleDeliveryChannel(taskId: string, prefix = CONSOLE_DELIVERY_PREFIX): string {
  return `${prefix}${taskId}`;
}

export function createConsoleDelivery(redis: Redis, prefix = CONSOLE_DELIVERY_PREFIX): Delivery {
  const send = async (event: ConsoleEvent): Promise<void> => {
    await redis.publish(namespacedChannel(redis, consoleDeliveryChannel(event.task.id, prefix)), JSON.stringify(event));
  };
  return {
    progress: (task: Task) => send({ kind: 'progress', task }),
    // The report is on the task (MongoDB); the page loads it from there.
    succeeded: (task: Task) => send({ kind: 'succeeded', task }),
    failed: (task: Task) => send({ kind: 'failed', task }),
  };
}
