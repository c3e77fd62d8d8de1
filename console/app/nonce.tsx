// The per-request Content-Security-Policy nonce (console/server.ts mints it), handed from entry.server to
// the scripts Remix renders. In the browser it reads as '' — browsers hide nonces from the page.
import { createContext, useContext } from 'react';

export const NonceContext = createContext('');
export const useNonce = () => useContext(NonceContext);
