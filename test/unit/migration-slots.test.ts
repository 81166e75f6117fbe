/**
 * At most MAX_CONCURRENT_MIGRATIONS migrations run at once in one process:
 * each holds SSH sessions, transfer pipes and journal locks on two hosts.
 * This is bookkeeping of one process; showing it on real hosts would need
 * that many real migrations held open at a known point, so the hosts here
 * are fakes whose every command fails (a migration then ends at its plan).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { McpContext } from '../../src/mcp/context.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { migrateStacks } from '../../src/migration/migrate-many.js';
import { MAX_CONCURRENT_MIGRATIONS, migrationSlots } from '../../src/migration/migration-slots.js';

const held: Array<() => void> = [];
function fillSlots(): void {
  for (let i = 0; i < MAX_CONCURRENT_MIGRATIONS; i++) {
    const release = migrationSlots.tryAcquire();
    if (!release) throw new Error('a slot was already taken');
    held.push(release);
  }
}

afterEach(() => {
  for (const release of held.splice(0)) release();
});

function fakeHost(id: string, commands: string[]): DockerHost {
  const fail = async (cmd: { text: string }) => {
    commands.push(cmd.text);
    throw new Error(`fake host ${id}: no commands here`);
  };
  const host = { id, hostname: id, user: 'root', port: 22, identity_file: null, known_hosts_file: null, compose_path: '/srv/compose', appdata_path: '/srv/appdata' };
  return { host, transport: { hostId: id, exec: fail, execBytes: fail, stream: fail, connect: async () => undefined, close: async () => undefined } } as unknown as DockerHost;
}

describe('migrations running at once in one process', () => {
  it('the MCP migrate action refuses one more, saying how many run and that nothing was done', async () => {
    fillSlots();
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer(new McpContext('/nonexistent/docker-mcp-unit/hosts.yml'), 'test').connect(serverSide);
    const client = new Client({ name: 'unit', version: '1' });
    await client.connect(clientSide);
    const result = (await client.callTool({
      name: 'docker_compose',
      arguments: { action: 'migrate', host_id: 'alpha', target_host_id: 'beta', stack_name: 'web', confirm: true },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    const text = (result.content[0] as { text: string }).text;
    expect(text).toMatch(new RegExp(`${MAX_CONCURRENT_MIGRATIONS} migrations are running.*nothing was done`, 's'));
    await client.close();
  });

  it('migrateStacks waits for a free slot before touching a host', async () => {
    fillSlots();
    const commands: string[] = [];
    const results = migrateStacks(fakeHost('src', commands), fakeHost('dst', commands), ['web'], { concurrency: 2 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(commands).toEqual([]);
    held.pop()!();
    const [only] = await results;
    expect(only).toMatchObject({ stack: 'web', ok: false });
    expect(commands.length).toBeGreaterThan(0);
    // Its slot was given back when it ended.
    const again = migrationSlots.tryAcquire();
    expect(again).toBeDefined();
    held.push(again!);
  });
});
