// PM2 process file (`npm start` uses it; `pm2 start ecosystem.config.js` works too). PM2 loads it with
// require(); Node 20 returns this ES module's namespace, so the apps are a named export.
const drainMs = Number(process.env.WORKER_DRAIN_TIMEOUT_MS ?? 60_000);
const logDir = process.env.PMF_LOG_DIR ?? '.data/logs';
// One /health and /metrics port per process, all derived from HEALTH_PORT (0 = off): the bot listens on
// HEALTH_PORT, worker n (PM2's NODE_APP_INSTANCE, 0-based) on HEALTH_PORT + 1 + n, which the worker adds
// itself (core/observability/ports.ts). The console serves both on CONSOLE_PORT. Decision 081.
const healthBase = Number(process.env.HEALTH_PORT ?? 0);
export const HEALTH_PORT_OFFSETS = { bot: 0, worker: 1 };
const healthEnv = (app) => ({ HEALTH_PORT: String(healthBase > 0 ? healthBase + HEALTH_PORT_OFFSETS[app] : 0) });

// 8 MB young-generation semi-spaces instead of Node 24's larger default: a worker running 100 researches
// peaks at 409–445 MB instead of 500–531, for no measurable CPU (decision 113). The Dockerfile and the
// benchmarks use the same flags, so what the benchmarks measure is what runs.
export const NODE_HEAP_FLAGS = '--max-semi-space-size=8';

const common = {
  interpreter: 'node',
  node_args: `--import tsx ${NODE_HEAP_FLAGS}`,
  time: false,
  merge_logs: true,
  autorestart: true,
  max_restarts: 20,
  restart_delay: 2000,
  // Exit 78 (EX_CONFIG) means "fix the configuration first": bad credentials or no platform left. Restarting
  // would only loop; the other processes keep running.
  stop_exit_codes: [78],
  env: { NODE_ENV: 'production' },
};

export const apps = [
  {
    ...common,
    name: 'bot',
    script: 'bot/main.ts',
    env: { ...common.env, ...healthEnv('bot') },
    out_file: `${logDir}/bot.log`,
    error_file: `${logDir}/bot.log`,
    kill_timeout: 10_000,
  },
  {
    ...common,
    name: 'worker',
    script: 'bot/worker.ts',
    env: { ...common.env, ...healthEnv('worker') },
    instances: Number(process.env.WORKER_INSTANCES ?? 1),
    exec_mode: 'fork',
    out_file: `${logDir}/worker.log`,
    error_file: `${logDir}/worker.log`,
    // PM2 must wait for the drain (running researches finish or are unlocked) before it kills a worker.
    kill_timeout: drainMs + 5_000,
  },
  {
    ...common,
    name: 'console',
    script: 'console/main.ts',
    out_file: `${logDir}/console.log`,
    error_file: `${logDir}/console.log`,
    kill_timeout: 10_000,
  },
];

export default { apps };
