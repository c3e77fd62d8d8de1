// Per-run accounting of what the providers spent. One meter per research run; the engine copies
// `snapshot()` into ResearchUsage and the report's Methodology.

export type NodeUsage = { promptTokens: number; completionTokens: number; ms: number };

export type UsageSnapshot = {
  tavilyCalls: number;
  tavilyCredits: number;
  cacheHits: number;
  promptTokens: number;
  completionTokens: number;
  /** Some token counts were estimated (characters / 4) because the server sent no `usage`. */
  tokensEstimated: boolean;
  perNode: Record<string, NodeUsage>;
};

export class UsageMeter {
  private tavilyCalls = 0;
  private tavilyCredits = 0;
  private cacheHits = 0;
  private tokensEstimated = false;
  private readonly perNode = new Map<string, NodeUsage>();

  /** A cached answer is neither a Tavily call nor a credit: it counts only as a cache hit. */
  recordTavily(credits: number, cached: boolean): void {
    if (cached) {
      this.cacheHits += 1;
      return;
    }
    this.tavilyCalls += 1;
    this.tavilyCredits += credits;
  }

  /** `estimated`: the server sent no `usage`, so the counts are characters / 4 (the report shows "≈"). */
  recordTokens(node: string, prompt: number, completion: number, estimated = false): void {
    if (estimated) this.tokensEstimated = true;
    const n = this.node(node);
    n.promptTokens += prompt;
    n.completionTokens += completion;
  }

  recordTime(node: string, ms: number): void {
    this.node(node).ms += ms;
  }

  snapshot(): UsageSnapshot {
    const perNode: Record<string, NodeUsage> = {};
    let promptTokens = 0;
    let completionTokens = 0;
    for (const [name, n] of this.perNode) {
      perNode[name] = { ...n };
      promptTokens += n.promptTokens;
      completionTokens += n.completionTokens;
    }
    return {
      tavilyCalls: this.tavilyCalls,
      tavilyCredits: this.tavilyCredits,
      cacheHits: this.cacheHits,
      promptTokens,
      completionTokens,
      tokensEstimated: this.tokensEstimated,
      perNode,
    };
  }

  private node(name: string): NodeUsage {
    let n = this.perNode.get(name);
    if (!n) {
      n = { promptTokens: 0, completionTokens: 0, ms: 0 };
      this.perNode.set(name, n);
    }
    return n;
  }
}
