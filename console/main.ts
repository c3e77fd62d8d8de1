// The console process (PM2, docker compose, `npm run dev`): a file of its own that always starts, because
// under PM2 the first argument is PM2's container, not this file, so a "run only when main" check never fires.
import { loadConfigOrExit } from '../core/config/index.js';
import { startConsole } from './server.js';

const env = loadConfigOrExit();
const server = await startConsole({ env, port: env.CONSOLE_PORT, host: '0.0.0.0' });
const stop = () => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
