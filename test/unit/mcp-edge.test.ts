import fc from 'fast-check';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpContext } from '../../src/mcp/context.js';
import { DEFAULT_IDLE_TIMEOUT_MS, MCP_HTTP_PATH, isLoopbackHost, serveHttp, type RunningHttpServer } from '../../src/mcp/http.js';
import { readToken } from '../../src/cli/token-source.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { validateEnvironmentVariable, validateImageRef } from '../../src/names/validate.js';
import { sshConfigAliases } from '../../src/ssh/ssh-config.js';

describe('MCP input checks, before any host is touched', () => {
  let client: Client;
  // No hosts.yml at all: a call that got past input validation would fail with "does not exist yet".
  const missingConfig = '/nonexistent/docker-mcp-unit/hosts.yml';

  beforeAll(async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer(new McpContext(missingConfig), 'test').connect(serverSide);
    client = new Client({ name: 'unit', version: '1' });
    await client.connect(clientSide);
  });

  afterAll(async () => {
    await client.close();
  });

  it('refuses every stack_name that is not a DNS label, before reading hosts.yml', async () => {
    const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.constantFrom('a;b', '$(id)', '`id`', 'a b', '../x', '-rf', 'A', 'a'.repeat(64), 'x\ny', "a'b")).filter((s) => s !== '' && !(label.test(s) && s.length <= 63)), // "" means absent, as in the Python tool
        async (stackName) => {
          const result = (await client.callTool({ name: 'docker_compose', arguments: { action: 'up', host_id: 'alpha', stack_name: stackName } })) as CallToolResult;
          expect(result.isError).toBe(true);
          const text = (result.content[0] as { text: string }).text;
          expect(text).toMatch(/^bad-input: input validation error for docker_compose: invalid stack_name /s);
          expect(text).not.toMatch(/does not exist|hosts\.yml/);
          // The same failure for programs, as every failure: success false, its kind and message.
          expect(result.structuredContent).toEqual({ success: false, action: 'up', host_id: 'alpha', kind: 'bad-input', error: text.slice('bad-input: '.length) });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('migrate refuses a bad bwlimit with the reason, before reading hosts.yml', async () => {
    for (const bwlimit of ['5X', 'fast', '0', '-2M']) {
      const result = (await client.callTool({
        name: 'docker_compose',
        arguments: { action: 'migrate', host_id: 'alpha', target_host_id: 'beta', stack_name: 'web', bwlimit, confirm: true },
      })) as CallToolResult;
      expect(result.isError, bwlimit).toBe(true);
      const text = (result.content[0] as { text: string }).text;
      expect(text).toContain(`bad-input: invalid bwlimit ${JSON.stringify(bwlimit)}`);
      expect(text).toMatch(/500K, 50M or 1G/);
      expect(text).not.toMatch(/does not exist|hosts\.yml/);
    }
    // A good rate goes on to the hosts (none here).
    const good = (await client.callTool({
      name: 'docker_compose',
      arguments: { action: 'migrate', host_id: 'alpha', target_host_id: 'beta', stack_name: 'web', bwlimit: '50M', confirm: true },
    })) as CallToolResult;
    expect((good.content[0] as { text: string }).text).toMatch(/unknown host "alpha"/);
  });

  it('a valid call reaches the engine, whose typed error comes back as a tool error without a stack trace', async () => {
    const result = (await client.callTool({ name: 'docker_compose', arguments: { action: 'up', host_id: 'alpha', stack_name: 'web' } })) as CallToolResult;
    expect(result.isError).toBe(true);
    const text = (result.content[0] as { text: string }).text;
    expect(text).toMatch(/^bad-input: unknown host "alpha"; configured hosts: \(none\) \(.*hosts.yml does not exist yet: add a host to create it\)$/);
    expect(text).not.toMatch(/\n\s+at /);
  });
});

describe('MCP edge helpers', () => {
  it('tells loopback addresses from others', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '192.168.1.10', '::', 'server.lan', '128.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });

  it('reads concrete Host aliases from an ssh config, skipping patterns', () => {
    const text = 'Host *\n  ServerAliveInterval 30\nHost nas nas-backup\n  HostName 10.0.0.5\nhost=web\nMatch host x\nHost !bad *.lan "quoted"\n';
    expect(sshConfigAliases(text)).toEqual(['nas', 'nas-backup', 'web', 'quoted']);
  });

  it('accepts image references and refuses shell text', () => {
    for (const image of ['nginx', 'nginx:1.27', 'library/redis:7-alpine', 'ghcr.io/owner/app:v1.2.3', 'registry.lan:5000/team/app', `alpine@sha256:${'a'.repeat(64)}`]) {
      expect(validateImageRef(image)).toBe(image);
    }
    for (const image of ['nginx; rm -rf /', '$(id)', 'Nginx', 'a b', '', '-x', 'nginx:', 'a//b', 'a'.repeat(256)]) expect(() => validateImageRef(image), image).toThrow(/invalid image/);
  });

  it('checks .env variables: portable names, one-line values', () => {
    expect(() => validateEnvironmentVariable('TZ', 'Europe/Paris')).not.toThrow();
    expect(() => validateEnvironmentVariable('1X', 'v')).toThrow(/name/);
    expect(() => validateEnvironmentVariable('A-B', 'v')).toThrow(/name/);
    expect(() => validateEnvironmentVariable('X', 'a\nB=evil')).toThrow(/single line/);
  });
});

describe('MCP over HTTP: what a request may cost before it is trusted, and how many sessions are kept', () => {
  // A real HTTP server on loopback; the tools are never called, so no host is needed.
  const context = new McpContext('/nonexistent/docker-mcp-unit/hosts.yml');
  const token = 'unit-token-0123456789abcdef';
  let built = 0;
  const newServer = () => {
    built += 1;
    return createMcpServer(context, 'test');
  };
  const running: RunningHttpServer[] = [];
  const start = async (options: Partial<Parameters<typeof serveHttp>[1]> = {}) => {
    const server = await serveHttp(newServer, { host: '127.0.0.1', port: 0, token, ...options });
    running.push(server);
    return server;
  };

  afterAll(async () => {
    await Promise.all(running.map((server) => server.close()));
  });

  /** One raw request (node:http, so Host can be set as a rebinding browser would), body read to the end. */
  function send(url: string, headers: Record<string, string>, body: unknown = initialize) {
    const target = new URL(url);
    return new Promise<{ status: number; sessionId: string | undefined; text: string }>((resolve, reject) => {
      const request = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { host: target.host, authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, sessionId: response.headers['mcp-session-id'] as string | undefined, text }));
        },
      );
      request.on('error', reject);
      request.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }
  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'unit', version: '1' } } };
  const listTools = (sessionId: string) => ({ body: { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }, headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' } });
  /** A GET stream (server-sent events) held open on the session: a request in flight for as long as it lasts. */
  function openStream(url: string, sessionId: string) {
    const target = new URL(url);
    return new Promise<import('node:http').ClientRequest>((resolve, reject) => {
      const request = httpRequest(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'GET', headers: { host: target.host, authorization: `Bearer ${token}`, accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' } },
        (response) => {
          expect(response.statusCode).toBe(200);
          response.on('error', () => undefined);
          resolve(request);
        },
      );
      request.on('error', () => undefined);
      request.on('error', reject);
      request.end();
    });
  }

  it('a refused Host, Origin or token builds no server and keeps no session', async () => {
    const server = await start();
    const port = new URL(server.url).port;
    built = 0;
    expect((await send(server.url, { host: `rebound.example:${port}` })).status).toBe(403);
    expect((await send(server.url, { origin: 'http://rebound.example' })).status).toBe(403);
    expect((await send(server.url, { authorization: 'Bearer wrong-token-0123456789ab' })).status).toBe(401);
    expect((await send(server.url, { authorization: '' })).status).toBe(401);
    expect(built).toBe(0);
    expect(server.sessions()).toBe(0);
    const accepted = await send(server.url, { origin: `http://127.0.0.1:${port}` });
    expect(accepted.status).toBe(200);
    expect(built).toBe(1);
    expect(server.sessions()).toBe(1);
  });

  it('keeps at most maxSessions sessions: one more closes the one idle longest, as clients that never send DELETE need', async () => {
    const server = await start({ maxSessions: 3 });
    const opened: string[] = [];
    for (let i = 0; i < 3; i++) opened.push((await send(server.url, {})).sessionId!);
    // The first two are used again, so the third is the one idle longest.
    for (const id of opened.slice(0, 2)) expect((await send(server.url, listTools(id).headers, listTools(id).body)).status).toBe(200);
    const fourth = await send(server.url, {});
    expect(fourth.status).toBe(200);
    expect(server.sessions()).toBe(3);
    const statusOf = async (id: string) => (await send(server.url, listTools(id).headers, listTools(id).body)).status;
    expect(await statusOf(opened[2]!)).toBe(404);
    expect([await statusOf(opened[0]!), await statusOf(opened[1]!), await statusOf(fourth.sessionId!)]).toEqual([200, 200, 200]);
  });

  it('answers 503, saying why, only when every session has a request in flight', async () => {
    const server = await start({ maxSessions: 2 });
    const streams = await Promise.all([1, 2].map(async () => openStream(server.url, (await send(server.url, {})).sessionId!)));
    built = 0;
    const refused = await send(server.url, {});
    expect(refused.status).toBe(503);
    expect(refused.text).toMatch(/at most 2 sessions and every one of them has a request in flight.*--max-sessions/);
    expect(built).toBe(0);
    // Concurrent initializations cannot slip past the bound either.
    expect((await Promise.all([1, 2, 3].map(() => send(server.url, {})))).map((r) => r.status)).toEqual([503, 503, 503]);
    streams[0]!.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await send(server.url, {})).status).toBe(200);
    expect(server.sessions()).toBe(2);
    streams[1]!.destroy();
  });

  it('expires a session idle for longer than the idle timeout; one in use stays', async () => {
    const server = await start({ idleTimeoutMs: 300 });
    const idle = (await send(server.url, {})).sessionId!;
    const busy = (await send(server.url, {})).sessionId!;
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { body, headers } = listTools(busy);
      expect((await send(server.url, headers, body)).status).toBe(200);
    }
    const { body, headers } = listTools(idle);
    const expired = await send(server.url, headers, body);
    expect(expired.status).toBe(404);
    expect(expired.text).toMatch(/expired/);
    expect(server.sessions()).toBe(1);
  });

  it('serves the endpoint it names', async () => {
    expect(new URL((await start()).url).pathname).toBe(MCP_HTTP_PATH);
  });
});

describe('the bearer token', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'b-token-'));
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is read only from a file no one but its owner can read: 0600 or stricter, refused otherwise saying so', async () => {
    const file = path.join(dir, 'token');
    await writeFile(file, 'file-token-0123456789abcdef\n');
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      await chmod(file, mode);
      expect(() => readToken(file), mode.toString(8)).toThrow(new RegExp(`has mode 0${mode.toString(8)}: group and others may read it; it must be 0600 or stricter \\(chmod 600 `));
    }
    for (const mode of [0o600, 0o400]) {
      await chmod(file, mode);
      expect(readToken(file)).toBe('file-token-0123456789abcdef');
    }
  });

  it('a session idle for minutes is closed by default, not after half an hour', () => {
    expect(DEFAULT_IDLE_TIMEOUT_MS).toBeLessThanOrEqual(5 * 60_000);
  });
});

describe('MCP prompts', () => {
  it('are listed, and each one, filled in, names the tools to call', async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer(new McpContext('/nonexistent/docker-mcp-unit/hosts.yml'), 'test').connect(serverSide);
    const client = new Client({ name: 'unit', version: '1' });
    await client.connect(clientSide);
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual(['move-stack', 'why-is-stack-down']);
    const move = await client.getPrompt({ name: 'move-stack', arguments: { stack_name: 'web', host_id: 'alpha', target_host_id: 'beta' } });
    expect((move.messages[0]!.content as { text: string }).text).toMatch(/web from alpha to beta[\s\S]*docker_compose migrate with dry_run: true/);
    const down = await client.getPrompt({ name: 'why-is-stack-down', arguments: { stack_name: 'web', host_id: 'alpha' } });
    expect((down.messages[0]!.content as { text: string }).text).toMatch(/docker_compose_read ps[\s\S]*docker_hosts_read test_connection/);
    await client.close();
  });

  it('on a read-only server, only the one that changes nothing, naming the tools as that server has them', async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer(new McpContext('/nonexistent/docker-mcp-unit/hosts.yml', { readOnly: true }), 'test').connect(serverSide);
    const client = new Client({ name: 'unit', version: '1' });
    await client.connect(clientSide);
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['why-is-stack-down']);
    const down = await client.getPrompt({ name: 'why-is-stack-down', arguments: { stack_name: 'web', host_id: 'alpha' } });
    expect((down.messages[0]!.content as { text: string }).text).not.toMatch(/_read/);
    await client.close();
  });
});
