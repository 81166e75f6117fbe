import fc from 'fast-check';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpContext } from '../../src/mcp/context.js';
import { isLoopbackHost } from '../../src/mcp/http.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { validateEnvironmentVariable, validateImageRef } from '../../src/names/validate.js';
import { sshConfigAliases } from '../../src/ssh/ssh-config.js';

describe('MCP input checks, before any host is touched', () => {
  let client: Client;
  // No hosts.yml at all: a call that got past input validation would fail with "names a file that does not exist".
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
        fc.oneof(fc.string(), fc.constantFrom('a;b', '$(id)', '`id`', 'a b', '../x', '-rf', 'A', 'a'.repeat(64), 'x\ny', "a'b")).filter((s) => !(label.test(s) && s.length <= 63)),
        async (stackName) => {
          const result = (await client.callTool({ name: 'docker_compose', arguments: { action: 'up', host_id: 'alpha', stack_name: stackName } })) as CallToolResult;
          expect(result.isError).toBe(true);
          const text = (result.content[0] as { text: string }).text;
          expect(text).toMatch(/Input validation error.*stack_name/s);
          expect(text).not.toMatch(/does not exist|hosts\.yml/);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a valid call reaches the engine, whose typed error comes back as a tool error without a stack trace', async () => {
    const result = (await client.callTool({ name: 'docker_compose', arguments: { action: 'up', host_id: 'alpha', stack_name: 'web' } })) as CallToolResult;
    expect(result.isError).toBe(true);
    const text = (result.content[0] as { text: string }).text;
    expect(text).toMatch(/^config: .*names a file that does not exist/);
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
