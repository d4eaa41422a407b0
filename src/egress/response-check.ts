/**
 * What the egress boundary checks in a response before the tool sees it:
 * the whole response (status line, headers, body) as one text, so a value
 * split between the reason phrase, a header and the body is found too, for
 * every credential of the run (LeakScanner's forms); then the reflection
 * policy of the lanes whose credential the request carried.
 */
import { STATUS_CODES } from 'node:http';
import { LeakScanner } from '../validation/leak-scan.ts';
import type { Target } from './allowlist.ts';
import { EgressError } from './errors.ts';

export interface ResponseToCheck {
  target: Target;
  status: number;
  statusText: string;
  headers: ReadonlyArray<[string, string]>;
  body: string;
  /** Every credential value of the run (injected or exposed). */
  secrets: readonly string[];
  /** The random probe header value sent with the request, if a lane asked for one. */
  probe: string | undefined;
  /** The lanes whose credential the request carried. */
  lanes: ReadonlyArray<{ lane: string; reflection?: 'scan' | 'strip' | 'refuse' | undefined }>;
}

/** Throws `leak` when the response must be withheld; returns 'strip' when it must be stripped. */
export function checkResponse(r: ResponseToCheck): 'strip' | undefined {
  const whole = `${r.status} ${r.statusText}\n${r.headers.map(([k, v]) => `${k}: ${v}`).join('\n')}\n${r.body}`;
  const where = `${r.target.host}:${r.target.port}`;
  if (r.secrets.length > 0 && new LeakScanner(r.secrets).found(whole))
    throw new EgressError(
      'leak',
      `The response from ${where} carried a credential of this run; it was withheld from the tool.`,
    );
  if (r.probe === undefined || !new LeakScanner([r.probe]).found(whole)) return undefined;
  const refusing = r.lanes.find((g) => g.reflection === 'refuse');
  if (refusing)
    throw new EgressError(
      'leak',
      `The response from ${where} echoed the request's headers, and lane ${refusing.lane} refuses such responses; it was withheld from the tool.`,
    );
  return 'strip';
}

/** A reflecting response reduced to what cannot carry an echo: the status, its standard phrase and the content type. */
export function stripped(
  status: number,
  headers: ReadonlyArray<[string, string]>,
): { status: number; statusText: string; headers: Array<[string, string]>; body: string } {
  return {
    status,
    statusText: STATUS_CODES[status] ?? '',
    headers: [
      ...headers.filter(([k]) => k === 'content-type').slice(0, 1),
      ['x-toolcage-egress', 'reflection-stripped'],
    ],
    body: '',
  };
}
