// The sandbox providers in a process of their own, for benchmarks: real Tavily and OpenAI are remote, so
// the CPU spent making their answers must not be charged to the process being measured. Latencies come
// from SANDBOX_LATENCY (JSON); prints one JSON line with the URLs, serves until stdin closes.
import { startSandbox } from '../core/sandbox/index.js';

const sandbox = await startSandbox({ latencyMs: JSON.parse(process.env.SANDBOX_LATENCY ?? '{}') as object });
process.stdout.write(`${JSON.stringify({ tavilyUrl: sandbox.tavilyUrl, openaiUrl: sandbox.openaiUrl })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void sandbox.close().then(() => process.exit(0)));
