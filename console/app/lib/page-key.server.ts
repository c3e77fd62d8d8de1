import { randomUUID } from 'node:crypto';

/** A fresh idempotency key for the mutation forms of one rendered page (see ActionForm). */
export function pageKey(): string {
  return randomUUID();
}
