/**
 * The audit trail of the MCP server: a record per call, refusals included, who
 * confirmed, and never a secret. The server runs behind the SDK's in-memory
 * transport with a hosts.yml that names no host but one at 127.0.0.99, where
 * nothing listens, so nothing reaches a host.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSince } from '../../src/cli/commands/audit.js';
import { auditFile, readAudit } from '../../src/mcp/audit.js';
import { McpContext } from '../../src/mcp/context.js';
import { createMcpServer } from '../../src/mcp/server.js';

const CANARIES = ['canary-env-5b1f0e7d', 'canary-compose-93c2aa41', 'canary-bad-args-77d0c1e2'];

describe('the audit trail', () => {
  let dir: string;
  const previous = process.env.DOCKER_MCP_STATE_DIR;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-audit-'));
    process.env.DOCKER_MCP_STATE_DIR = dir;
  });

  afterAll(async () => {
    if (previous === undefined) delete process.env.DOCKER_MCP_STATE_DIR;
    else process.env.DOCKER_MCP_STATE_DIR = previous;
    await rm(dir, { recursive: true, force: true });
  });

  async function connect(config: string, answer?: 'accept' | 'decline' | 'cancel') {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer(new McpContext(config), 'test').connect(serverSide);
    const client = new Client({ name: 'audit', version: '1' }, { capabilities: answer ? { elicitation: {} } : {} });
    if (answer) client.setRequestHandler(ElicitRequestSchema, () => (answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: answer }));
    await client.connect(clientSide);
    return client;
  }

  it('records every call and refusal with what was acted on, the outcome and who confirmed; no secret; 0600', async () => {
    const config = path.join(dir, 'hosts.yml');
    const model = await connect(config);
    await model.callTool({ name: 'docker_compose', arguments: { action: 'deploy', host_id: 'alpha', stack_name: 'web', compose_content: `services: {x: {image: "nginx", environment: [T=${CANARIES[1]}]}}`, environment: { API_TOKEN: CANARIES[0] } } });
    await model.callTool({ name: 'docker_compose', arguments: { action: 'deploy', host_id: 'alpha', stack_name: 'Bad Name', compose_content: CANARIES[2] } });
    await model.callTool({ name: 'docker_hosts', arguments: { action: 'add', host_id: 'h1', ssh_host: '127.0.0.99', ssh_user: 'nobody', ssh_key_path: '/nonexistent/key' } });
    // Confirmed by the model, then refused: nothing listens at 127.0.0.99, and a host that does not connect is not added.
    await model.callTool({ name: 'docker_hosts', arguments: { action: 'add', host_id: 'h1', ssh_host: '127.0.0.99', ssh_user: 'nobody', ssh_key_path: '/nonexistent/key', confirm: true } });
    await model.close();
    expect(existsSync(config)).toBe(false);
    await writeFile(config, 'hosts:\n  h1:\n    hostname: 127.0.0.99\n    user: nobody\n');
    for (const answer of ['decline', 'cancel', 'accept'] as const) {
      const user = await connect(config, answer);
      await user.callTool({ name: 'docker_hosts', arguments: { action: 'remove', host_id: 'h1' } });
      await user.close();
    }

    const records = await readAudit();
    expect(records.map(({ at: _at, duration_ms: _ms, ...r }) => r)).toEqual([
      { tool: 'docker_compose', action: 'deploy', host_id: 'alpha', stack_name: 'web', outcome: 'bad-input', confirmed_by: 'none' },
      { tool: 'docker_compose', action: 'deploy', host_id: 'alpha', stack_name: 'Bad Name', outcome: 'bad-input', confirmed_by: 'none' },
      { tool: 'docker_hosts', action: 'add', host_id: 'h1', outcome: 'bad-input', confirmed_by: 'none' },
      { tool: 'docker_hosts', action: 'add', host_id: 'h1', outcome: 'unreachable', confirmed_by: 'model' },
      { tool: 'docker_hosts', action: 'remove', host_id: 'h1', outcome: 'declined', confirmed_by: 'none' },
      { tool: 'docker_hosts', action: 'remove', host_id: 'h1', outcome: 'cancelled', confirmed_by: 'none' },
      { tool: 'docker_hosts', action: 'remove', host_id: 'h1', outcome: 'ok', confirmed_by: 'user' },
    ]);
    for (const record of records) expect(Number.isInteger(record.duration_ms) && !Number.isNaN(Date.parse(record.at))).toBe(true);
    const text = await readFile(auditFile(), 'utf8');
    for (const canary of CANARIES) expect(text).not.toContain(canary);
    expect((await stat(auditFile())).mode & 0o777).toBe(0o600);
    expect(await readAudit(new Date(Date.now() + 60_000))).toEqual([]);
  });

  it('--since takes a date, a time or a time ago, and refuses anything else saying what it takes', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    expect(parseSince('30m', now).toISOString()).toBe('2026-12-06T11:30:00.000Z');
    expect(parseSince('2d', now).toISOString()).toBe('2026-12-04T12:00:00.000Z');
    expect(parseSince('2026-12-06T10:00Z', now).toISOString()).toBe('2026-12-06T10:00:00.000Z');
    for (const bad of ['yesterday', '5', '1w', '']) expect(() => parseSince(bad, now), bad).toThrow(/--since .*ISO date or time .*time ago/);
  });
});
