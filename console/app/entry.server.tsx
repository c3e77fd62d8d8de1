// Remix's default Node entry, plus two things: the CSP nonce on every script Remix renders, and bodies sent
// once. A route may name loader fields (`handle.documentOnce`) that its page already renders into the HTML
// (a report body can be megabytes); they are left out of the hydration data of a document request, and the
// component keeps the server-rendered markup instead of rendering them again (decision 084).
import { PassThrough } from 'node:stream';
import type { AppLoadContext, EntryContext } from '@remix-run/node';
import { createReadableStreamFromReadable } from '@remix-run/node';
import { RemixServer } from '@remix-run/react';
import { isbot } from 'isbot';
import { renderToPipeableStream } from 'react-dom/server';
import { NonceContext } from './nonce.js';

const ABORT_DELAY = 5_000;

export type DocumentOnceHandle = { documentOnce?: string[] };

/** The same escaping Remix applies to its hand-off script (serverHandoff.js): no `</script>` can close it. */
function escapeHtml(s: string): string {
  return s.replace(/[&><\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function sendOnce(context: EntryContext): void {
  const routes = context.staticHandlerContext.matches
    .map((m) => m.route.id)
    .filter((id) => (context.routeModules[id]?.handle as DocumentOnceHandle | undefined)?.documentOnce?.length);
  if (routes.length === 0 || !context.serverHandoffString) return;
  const handoff = JSON.parse(context.serverHandoffString) as {
    state?: { loaderData?: Record<string, Record<string, unknown> | null> };
  };
  for (const id of routes) {
    const data = handoff.state?.loaderData?.[id];
    if (!data) continue;
    for (const field of (context.routeModules[id]!.handle as DocumentOnceHandle).documentOnce!)
      if (field in data) data[field] = null;
  }
  context.serverHandoffString = escapeHtml(JSON.stringify(handoff));
}

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  sendOnce(remixContext);
  const nonce = loadContext.cspNonce ?? '';
  const waitForAll = isbot(request.headers.get('user-agent') ?? '') || remixContext.isSpaMode;
  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false;
    const ready = () => {
      shellRendered = true;
      const body = new PassThrough();
      responseHeaders.set('Content-Type', 'text/html');
      resolve(
        new Response(createReadableStreamFromReadable(body), { headers: responseHeaders, status: responseStatusCode }),
      );
      pipe(body);
    };
    const { pipe, abort } = renderToPipeableStream(
      <NonceContext.Provider value={nonce}>
        <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} nonce={nonce} />
      </NonceContext.Provider>,
      {
        nonce,
        ...(waitForAll ? { onAllReady: ready } : { onShellReady: ready }),
        onShellError(error: unknown) {
          reject(error);
        },
        onError(error: unknown) {
          responseStatusCode = 500;
          // Errors inside the shell are logged here; a shell error rejects and Remix logs it.
          if (shellRendered) console.error(error);
        },
      },
    );
    setTimeout(abort, ABORT_DELAY);
  });
}
