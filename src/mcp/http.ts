/**
 * MCP over Streamable HTTP. One session per client (its own server instance,
 * so progress and cancellation reach the right request). Bound to loopback
 * by default; bound elsewhere it needs a bearer token and rejects requests
 * without it. Host and Origin headers are checked (DNS rebinding) by the SDK.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { InvalidInputError } from '../errors.js';
import { log } from '../log.js';

export const MCP_HTTP_PATH = '/mcp';
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface HttpServeOptions {
  readonly host: string;
  readonly port: number;
  /** Required when `host` is not a loopback address. */
  readonly token?: string | undefined;
  /** Extra Host header values to accept (names this machine is reached by). */
  readonly allowedHosts?: readonly string[];
}

export interface RunningHttpServer {
  readonly url: string;
  close(): Promise<void>;
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export async function serveHttp(newServer: () => McpServer, options: HttpServeOptions): Promise<RunningHttpServer> {
  if (!isLoopbackHost(options.host) && !options.token) {
    throw new InvalidInputError('--host', options.host, 'is not a loopback address: serving there needs a bearer token (--token or $DOCKER_MCP_TOKEN)');
  }
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let allowedHosts: string[] = [];
  const http = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log.error({ error }, 'MCP HTTP request failed');
      if (!response.headersSent) reply(response, 500, 'internal error');
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://placeholder');
    if (url.pathname !== MCP_HTTP_PATH) return reply(response, 404, `not found: the MCP endpoint is ${MCP_HTTP_PATH}`);
    if (options.token && !bearerMatches(request.headers.authorization, options.token)) {
      response.setHeader('WWW-Authenticate', 'Bearer');
      return reply(response, 401, 'missing or wrong bearer token');
    }
    const body = request.method === 'POST' ? await readJsonBody(request, response) : undefined;
    if (body === INVALID_BODY) return;
    const sessionId = request.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing) return existing.handleRequest(request, response, body);
    if (sessionId !== undefined) return reply(response, 404, 'unknown or expired session: initialize again');
    if (request.method !== 'POST' || !isInitializeRequest(body)) return reply(response, 400, 'no session: the first request must be initialize');

    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
      enableDnsRebindingProtection: true,
      allowedHosts,
      allowedOrigins: allowedHosts.flatMap((host) => [`http://${host}`, `https://${host}`]),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await newServer().connect(transport);
    await transport.handleRequest(request, response, body);
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
    close: () => closeAll(http, sessions),
  };
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1]);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
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

async function closeAll(http: Server, sessions: Map<string, StreamableHTTPServerTransport>): Promise<void> {
  await Promise.all([...sessions.values()].map((transport) => transport.close()));
  sessions.clear();
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
}
