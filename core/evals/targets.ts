// The targets with real providers (README "Evaluate a model before switching to it", decision 090).
export const TARGETS = { citationPrecision: 0.85, figureFidelity: 0.95, tokensPerReport: 60_000 } as const;
