/**
 * MCP over Streamable HTTP. One session per client (its own server instance,
 * so progress and cancellation reach the right request). Bound to loopback
 * by default; bound elsewhere it needs a bearer token. Host, Origin and token
 * are checked before anything is built for a request, and the sessions kept
 * are bounded in number and closed when idle.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { InvalidInputError } from '../errors.js';
import { log } from '../log.js';
import { refuseRequest } from './http-guard.js';
import { SessionTable } from './session-table.js';

export const MCP_HTTP_PATH = '/mcp';
const MAX_BODY_BYTES = 4 * 1024 * 1024;
export const METRICS_PATH = '/metrics';
export const DEFAULT_MAX_SESSIONS = 32;
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

export interface HttpServeOptions {
  readonly host: string;
  readonly port: number;
  /** Required when `host` is not a loopback address. */
  readonly token?: string | undefined;
  /** Extra Host header values to accept (names this machine is reached by). */
  readonly allowedHosts?: readonly string[];
  /** Sessions kept at once; an initialize beyond them closes the one idle longest (503 only when all are busy). Default 32. */
  readonly maxSessions?: number;
  /** A session with no request for this long is closed. Default 5 min. */
  readonly idleTimeoutMs?: number;
  /** Served at GET /metrics, behind the same Host, Origin and token checks as the MCP endpoint. */
  readonly metrics?: { readonly contentType: string; render(): Promise<string> };
}

export interface RunningHttpServer {
  readonly url: string;
  /** How many sessions are open now. */
  sessions(): number;
  close(): Promise<void>;
}

interface Session {
  readonly transport: StreamableHTTPServerTransport;
  close(): Promise<void>;
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export async function serveHttp(newServer: () => McpServer, options: HttpServeOptions): Promise<RunningHttpServer> {
  if (!isLoopbackHost(options.host) && !options.token) {
    throw new InvalidInputError('--host', options.host, 'is not a loopback address: serving there needs a bearer token (--token-file or $DOCKER_MCP_TOKEN)');
  }
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new InvalidInputError('--max-sessions', String(maxSessions), 'must be a whole number of at least 1');
  if (!Number.isFinite(idleTimeoutMs) || idleTimeoutMs <= 0) throw new InvalidInputError('--session-idle-timeout', String(idleTimeoutMs / 1000), 'must be a positive number of seconds');
  const sessions = new SessionTable<Session>(maxSessions, idleTimeoutMs);
  let allowedHosts: string[] = [];
  const http = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log.error({ error }, 'MCP HTTP request failed');
      if (!response.headersSent) reply(response, 500, 'internal error');
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const refusal = refuseRequest(request.headers, { allowedHosts, token: options.token });
    if (refusal) {
      if (refusal.status === 401) response.setHeader('WWW-Authenticate', 'Bearer');
      return reply(response, refusal.status, refusal.message);
    }
    const url = new URL(request.url ?? '/', 'http://placeholder');
    if (url.pathname === METRICS_PATH && options.metrics) {
      if (request.method !== 'GET') return reply(response, 405, 'GET /metrics only');
      const text = await options.metrics.render();
      response.writeHead(200, { 'Content-Type': options.metrics.contentType });
      response.end(text);
      return;
    }
    if (url.pathname !== MCP_HTTP_PATH) return reply(response, 404, `not found: the MCP endpoint is ${MCP_HTTP_PATH}`);
    const body = request.method === 'POST' ? await readJsonBody(request, response) : undefined;
    if (body === INVALID_BODY) return;
    const sessionId = request.headers['mcp-session-id'];
    if (sessionId !== undefined) {
      const used = typeof sessionId === 'string' ? sessions.use(sessionId) : undefined;
      if (!used) return reply(response, 404, 'unknown or expired session: initialize again');
      response.once('close', used.done);
      return used.session.transport.handleRequest(request, response, body);
    }
    if (request.method !== 'POST' || !isInitializeRequest(body)) return reply(response, 400, 'no session: the first request must be initialize');

    const slot = sessions.reserve();
    if (!slot) {
      response.setHeader('Retry-After', String(Math.ceil(Math.min(idleTimeoutMs, 60_000) / 1000)));
      return reply(
        response,
        503,
        `this server keeps at most ${maxSessions} sessions and every one of them has a request in flight. Try again when one is done, or start the server with a higher --max-sessions`,
      );
    }
    try {
      const server = newServer();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => slot.bind(id, { transport, close: () => server.close() }),
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      await transport.handleRequest(request, response, body);
    } finally {
      slot.release();
    }
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as { port: number }).port;
  const names = ['127.0.0.1', 'localhost', '[::1]', options.host.includes(':') ? `[${options.host}]` : options.host, ...(options.allowedHosts ?? [])];
  allowedHosts = [...new Set(names)].map((name) => `${name}:${port}`);
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}${MCP_HTTP_PATH}`,
    sessions: () => sessions.size,
    close: () => closeAll(http, sessions),
  };
}

const INVALID_BODY = Symbol('invalid body');

async function readJsonBody(request: IncomingMessage, response: ServerResponse): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      reply(response, 413, `request body over ${MAX_BODY_BYTES} bytes`);
      return INVALID_BODY;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    reply(response, 400, 'the body is not JSON');
    return INVALID_BODY;
  }
}

function reply(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

async function closeAll(http: Server, sessions: SessionTable<Session>): Promise<void> {
  await sessions.closeAll();
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
}
