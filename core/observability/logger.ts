import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

// Paths of any object we log that may hold secrets or signing material; pino replaces them.
const REDACT = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'appToken',
  'signingSecret',
  '*.signingSecret',
  'clientSecret',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers["x-slack-signature"]',
  'interactionToken',
  '*.interactionToken',
  'responseUrl',
  '*.responseUrl',
  'cookie',
  '*.cookie',
];

/** Structured JSON logs; callers add what a line is about (`taskId`, `workspaceId`, `interactionId`) through children. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { pid: process.pid, service: name },
  });
}
