// Types for the plain-Node local-servers script, so TypeScript tools (the research CLI) can read its LOCAL URLs.
export declare const LOCAL: {
  postgres: { port: number; url: string };
  redis: { port: number; url: string };
  mongo: { port: number; url: string };
};
