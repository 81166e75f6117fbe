/**
 * The checks every HTTP request passes before anything is built for it:
 * Host and Origin (DNS rebinding: a web page the user opens must not reach
 * this server through a name it controls), then the bearer token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface RequestGuard {
  /** `name:port` values the Host header may carry. */
  readonly allowedHosts: readonly string[];
  readonly token?: string | undefined;
}

export interface Refusal {
  readonly status: 401 | 403;
  readonly message: string;
}

/** Why this request is refused, or undefined when it may proceed. */
export function refuseRequest(headers: IncomingHttpHeaders, guard: RequestGuard): Refusal | undefined {
  const host = headers.host;
  if (!host || !guard.allowedHosts.includes(host)) {
    return { status: 403, message: `Host header ${JSON.stringify(host ?? '')} is not one this server answers to (add names with --allowed-host)` };
  }
  // Browsers send Origin on cross-site requests; other clients usually send none.
  const origin = headers.origin;
  if (origin !== undefined && !guard.allowedHosts.some((allowed) => origin === `http://${allowed}` || origin === `https://${allowed}`)) {
    return { status: 403, message: `Origin ${JSON.stringify(origin)} is not allowed` };
  }
  if (guard.token && !bearerMatches(headers.authorization, guard.token)) {
    return { status: 401, message: 'missing or wrong bearer token' };
  }
  return undefined;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  // Digests have one length whatever was sent, so the time taken tells nothing of the token's length.
  return timingSafeEqual(digest(match?.[1] ?? ''), digest(token)) && match?.[1] !== undefined;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
