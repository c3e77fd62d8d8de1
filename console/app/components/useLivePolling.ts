import { useRevalidator } from '@remix-run/react';
import { useEffect } from 'react';

/**
 * Re-runs the page's loaders every `ms` while `active` (a research is queued or running) and the tab is
 * visible. Polling the loader, rather than a stream, keeps one code path for the first render and every
 * update, works behind any proxy, and costs one indexed read per second (decision 074).
 */
export function useLivePolling(active: boolean, ms = 1000): void {
  const { revalidate, state } = useRevalidator();
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible' && state === 'idle') revalidate();
    }, ms);
    return () => clearInterval(timer);
  }, [active, ms, revalidate, state]);
}
