/**
 * How many bytes of text the MCP tools answer (what a model reads) for the
 * reading calls, this build beside another one, against the same hosts:
 *
 *   node --import tsx bench/mcp-answer-bytes.ts --config HOSTS.yml [--before OLD/dist/src/cli/bin.js] [--host alpha] [--container NAME]
 *
 * Each call is made on both servers one right after the other, so the two
 * answers describe (nearly) the same state of the hosts. Figures, not a test.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const { values } = parseArgs({
  options: { config: { type: 'string' }, before: { type: 'string' }, host: { type: 'string', default: 'alpha' }, container: { type: 'string' } },
});
if (!values.config) {
  process.stderr.write('usage: bench/mcp-answer-bytes.ts --config HOSTS.yml [--before OLD/dist/src/cli/bin.js] [--host alpha] [--container NAME]\n');
  process.exit(2);
}
const host = values.host ?? 'alpha';
const thisBuild = fileURLToPath(new URL('../dist/src/cli/bin.js', import.meta.url));

async function connect(bin: string): Promise<Client> {
  const client = new Client({ name: 'answer-bytes', version: '1' });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [bin, 'serve', '--read-only'], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DOCKER_MCP_CONFIG: values.config as string }, stderr: 'ignore' }),
  );
  return client;
}

function textBytes(result: CallToolResult): number {
  return result.content.reduce((sum, part) => sum + (part.type === 'text' ? Buffer.byteLength(part.text) : 0), 0);
}

/** The container to ask `info` about: --container, else the first one the host's list shows (another program may remove it meanwhile). */
async function someContainer(client: Client): Promise<string> {
  const result = (await client.callTool({ name: 'docker_container', arguments: { action: 'list', host_id: host, limit: 1 } })) as CallToolResult;
  const text = (result.content[0] as { text: string }).text;
  const name = /"name":\s*"([^"]+)"/.exec(text)?.[1];
  if (!name) throw new Error(`no running container on ${host} to ask info about: ${text.slice(0, 300)}`);
  return name;
}

const clients = { after: await connect(thisBuild), ...(values.before ? { before: await connect(values.before) } : {}) };
const container = values.container ?? (await someContainer(clients.after));
const calls: [string, string, Record<string, unknown>][] = [
  ['docker_hosts list', 'docker_hosts', { action: 'list' }],
  ['docker_hosts discover (every host)', 'docker_hosts', { action: 'discover' }],
  [`docker_container list ${host} (all, 20)`, 'docker_container', { action: 'list', host_id: host, all_containers: true, limit: 20 }],
  ['docker_container list (every host, 20)', 'docker_container', { action: 'list', limit: 20 }],
  [`docker_container info ${host}`, 'docker_container', { action: 'info', host_id: host, container_id: container }],
  [`docker_compose list ${host}`, 'docker_compose', { action: 'list', host_id: host }],
  [`docker_compose discover ${host}`, 'docker_compose', { action: 'discover', host_id: host }],
];

const rows: string[] = ['| call | before (bytes) | after (bytes) | change |', '|---|---:|---:|---:|'];
let totals = { before: 0, after: 0 };
for (const [label, name, args] of calls) {
  const after = textBytes((await clients.after.callTool({ name, arguments: args }, undefined, { timeout: 300_000 })) as CallToolResult);
  const before = clients.before ? textBytes((await clients.before.callTool({ name, arguments: args }, undefined, { timeout: 300_000 })) as CallToolResult) : undefined;
  totals = { before: totals.before + (before ?? 0), after: totals.after + after };
  rows.push(`| ${label} | ${before ?? '-'} | ${after} | ${before ? `${Math.round((100 * (after - before)) / before)}%` : '-'} |`);
}
if (clients.before) rows.push(`| total | ${totals.before} | ${totals.after} | ${Math.round((100 * (totals.after - totals.before)) / totals.before)}% |`);
process.stdout.write(`${rows.join('\n')}\n`);
await Promise.all(Object.values(clients).map((client) => client.close()));
