// Local Tavily- and OpenAI-compatible servers: synthetic but deterministic research providers for
// sandbox mode (PMF_SANDBOX=1), tests and benchmarks. The real SDK clients talk to them over HTTP.

export type SandboxTarget = 'search' | 'extract' | 'llm';

export type Fault =
  | { kind: 'rate_limit'; retryAfterSeconds: number }
  | { kind: 'server_error' }
  | { kind: 'hang' }
  | { kind: 'malformed' };

export type SandboxLatency = { search: number; extract: number; llm: number };

export type Sandbox = {
  /** Pass as TAVILY_API_URL / apiBaseURL. Also serves POST /_sandbox/faults. */
  tavilyUrl: string;
  /** Pass as OPENAI_BASE_URL (ends in /v1). */
  openaiUrl: string;
  injectFault(target: SandboxTarget, fault: Fault, times?: number): void;
  clearFaults(): void;
  /** Requests received per target (faulted ones included). */
  calls: { search: number; extract: number; llm: number };
  setLatency(l: Partial<SandboxLatency>): void;
  close(): Promise<void>;
};

export type SandboxOptions = { port?: number; latencyMs?: Partial<SandboxLatency> };

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  void opts;
  throw new Error('not implemented yet');
}
