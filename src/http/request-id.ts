import { randomUUID } from 'node:crypto';

/** An incoming `x-request-id` is echoed only when it is short and plain; anything else is replaced. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SAFE_REQUEST_ID.test(header)
    ? header
    : `req_${randomUUID()}`;
}
