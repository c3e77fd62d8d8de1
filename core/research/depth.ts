// The three depth profiles (the product notes, shared/DESIGN.md, "The research"). A research costs exactly the
// Tavily credits it may spend.

export const DEPTHS = ['essential', 'standard', 'deep'] as const;
export type Depth = (typeof DEPTHS)[number];
export const DEFAULT_DEPTH: Depth = 'standard';

export type DepthProfile = {
  depth: Depth;
  label: string;
  credits: number;
  searchDepth: 'basic' | 'advanced';
  extractDepth: 'basic' | 'advanced';
  urlsPerAgent: number;
  maxResults: number;
  targetSeconds: number;
};

export const DEPTH_PROFILES: Record<Depth, DepthProfile> = {
  essential: {
    depth: 'essential',
    label: 'Essential',
    credits: 6,
    searchDepth: 'basic',
    extractDepth: 'basic',
    urlsPerAgent: 5,
    maxResults: 20,
    targetSeconds: 60,
  },
  standard: {
    depth: 'standard',
    label: 'Standard',
    credits: 12,
    searchDepth: 'advanced',
    extractDepth: 'advanced',
    urlsPerAgent: 5,
    maxResults: 20,
    targetSeconds: 120,
  },
  deep: {
    depth: 'deep',
    label: 'Deep',
    credits: 18,
    searchDepth: 'advanced',
    extractDepth: 'advanced',
    urlsPerAgent: 10,
    maxResults: 20,
    targetSeconds: 180,
  },
};

export function isDepth(value: unknown): value is Depth {
  return typeof value === 'string' && (DEPTHS as readonly string[]).includes(value);
}

export const MAX_IDEA_LENGTH = 2000;
