import { vitePlugin as remix } from '@remix-run/dev';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Remix wants its root to hold package.json, so the Vite root is the repository and the app lives in
// console/app; `remix vite:build --config console/vite.config.ts` builds into console/build (gitignored).
const root = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root,
  clearScreen: false,
  publicDir: false,
  plugins: [
    remix({
      appDirectory: 'console/app',
      buildDirectory: 'console/build',
      ignoredRouteFiles: ['**/*.test.*'],
      future: { v3_fetcherPersist: true, v3_relativeSplatPath: true, v3_throwAbortReason: true },
    }),
  ],
});
