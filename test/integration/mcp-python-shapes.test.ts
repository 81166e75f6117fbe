/**
 * The Python docker-mcp's clients read its answers by key (`result.data[...]`
 * in its tests: the structured content). Each call below is one of its tests'
 * calls, made as that test makes it through the official SDK client, and
 * reads the keys that test reads. The server runs in this process behind the
 * SDK's in-memory transport (the wire protocol is the real one); the hosts
 * are the testbed's container hosts alpha, beta and gamma.
 *
 * Where ours answers otherwise on purpose, the test says so: down needs
 * confirm (or the user's yes), and a missing host_id lists every host.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { readAudit } from '../../src/mcp/audit.js';
import { McpContext } from '../../src/mcp/context.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

// Runs beside other work on the same testbed can give their stacks a prefix of their own.
const prefix = `${process.env.DOCKER_MCP_TEST_PREFIX ?? 'shapes'}-py${process.pid}`;
const stack = `${prefix}-web`;
const HOST = 'gamma';
const COMPOSE = `version: '3.8'
services:
  test-web:
    image: local/busybox:test
    command: ["sh", "-c", "echo python-shapes-ready; sleep 3600"]
    network_mode: none
    init: true
    labels:
      - "test=mcp-validation-integration"
`;

let workDir: string;
let gamma: DockerHost;
let context: McpContext;
let client: Client;
const previousStateDir = process.env.DOCKER_MCP_STATE_DIR;
let calls = 0;

/** `result.data` of the Python tool's client: the structured content of the answer, success or failure. */
async function data(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  calls += 1;
  const result = (await client.callTool({ name, arguments: args }, undefined, { timeout: 300_000 })) as CallToolResult;
  expect(result.structuredContent, JSON.stringify(result.content)).toBeDefined();
  // A failure is also a tool error, for clients that read isError.
  expect(result.isError === true).toBe((result.structuredContent as { success: boolean }).success === false);
  return result.structuredContent as Record<string, unknown>;
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'mcp-python-shapes-'));
  // The audit trail of this file's calls goes to a state directory of its own.
  process.env.DOCKER_MCP_STATE_DIR = workDir;
  const file = path.join(workDir, 'hosts.yml');
  const document = parseDocument(await readFile(testbedHostsFile(), 'utf8'));
  for (const guest of ['delta', 'epsilon']) document.deleteIn(['hosts', guest]);
  await writeFile(file, document.toString());
  gamma = { host: await testbedHost(HOST), transport: new SshTransport(await testbedHost(HOST)) };
  context = new McpContext(file);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createMcpServer(context, 'test').connect(serverSide);
  client = new Client({ name: 'python-shapes', version: '1' });
  await client.connect(clientSide);
});

afterAll(async () => {
  await client?.close();
  await context?.close();
  await cleanUpPrefix(gamma, HOST, prefix);
  await gamma.transport.close();
  await rm(workDir, { recursive: true, force: true });
  if (previousStateDir === undefined) delete process.env.DOCKER_MCP_STATE_DIR;
  else process.env.DOCKER_MCP_STATE_DIR = previousStateDir;
});

describe("the Python docker-mcp's call shapes, read by the keys its tests read", () => {
  let containerName: string;

  it('test_list_docker_hosts / test_integration_simplified: docker_hosts list → hosts (each with host_id), count', async () => {
    const result = await data('docker_hosts', { action: 'list' });
    expect(result.success).toBe(true);
    expect(result).toHaveProperty('hosts');
    expect(result).toHaveProperty('count');
    const hosts = result.hosts as { host_id: string; enabled: boolean }[];
    expect(hosts.length).toBeGreaterThan(0);
    expect(hosts.filter((h) => h.enabled).map((h) => h.host_id)).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('test_deploy_stack: docker_compose deploy → stack_name, compose_file', async () => {
    const result = await data('docker_compose', { action: 'deploy', host_id: HOST, stack_name: stack, compose_content: COMPOSE, pull_images: false });
    expect(result.success).toBe(true);
    expect(result.stack_name).toBe(stack);
    expect(result).toHaveProperty('compose_file');
  });

  it('test_manage_stack ps: docker_compose ps → success, action', async () => {
    const result = await data('docker_compose', { action: 'ps', host_id: HOST, stack_name: stack });
    expect(result.success).toBe(true);
    expect(result.action).toBe('ps');
    expect(result.stack_name).toBe(stack);
    containerName = (result.containers as { name: string }[])[0]!.name;
  });

  it('test_list_stacks: docker_compose list → stacks, a list of objects with name', async () => {
    const result = await data('docker_compose', { action: 'list', host_id: HOST });
    expect(result.success).toBe(true);
    expect(Array.isArray(result.stacks)).toBe(true);
    expect((result.stacks as { name: string }[]).map((s) => s.name)).toContain(stack);
  });

  it('test_docker_compose_logs_new_functionality: docker_compose logs → logs', async () => {
    const result = await data('docker_compose', { action: 'logs', host_id: HOST, stack_name: stack, lines: 50 });
    expect(result.success).toBe(true);
    expect(result).toHaveProperty('logs');
    expect((result.logs as string[]).some((line) => line.includes('python-shapes-ready'))).toBe(true);
  });

  it('test_list_containers: docker_container list → containers, pagination.limit 20', async () => {
    const result = await data('docker_container', { action: 'list', host_id: HOST });
    expect(result.success).toBe(true);
    expect(result).toHaveProperty('containers');
    expect((result.pagination as { limit: number }).limit).toBe(20);
  });

  it('test_list_containers_with_pagination: limit 5, offset 0 → pagination.limit 5', async () => {
    const result = await data('docker_container', { action: 'list', host_id: HOST, limit: 5, offset: 0 });
    expect(result.success).toBe(true);
    expect(result.pagination).toMatchObject({ limit: 5, offset: 0 });
    expect((result.containers as unknown[]).length).toBeLessThanOrEqual(5);
  });

  it('test_get_container_info: docker_container info → container_id as asked', async () => {
    const result = await data('docker_container', { action: 'info', host_id: HOST, container_id: containerName });
    expect(result.success).toBe(true);
    expect(result.container_id).toBe(containerName);
  });

  it('test_get_container_logs: docker_container logs, lines 10 → logs is a list', async () => {
    const result = await data('docker_container', { action: 'logs', host_id: HOST, container_id: containerName, lines: 10 });
    expect(result.success).toBe(true);
    expect(Array.isArray(result.logs)).toBe(true);
    expect(result.logs).toContain('python-shapes-ready');
  });

  it('test_list_host_ports: docker_hosts ports → port_mappings', async () => {
    const result = await data('docker_hosts', { action: 'ports', host_id: HOST });
    expect(result.success).toBe(true);
    expect(Array.isArray(result.port_mappings)).toBe(true);
  });

  it('test_discover_compose_paths: docker_compose discover → success', async () => {
    const result = await data('docker_compose', { action: 'discover', host_id: HOST });
    expect(result.success).toBe(true);
    expect((result.stacks as { stack: string }[]).map((s) => s.stack)).toContain(stack);
  });

  it('test_invalid_host_id: docker_container list on an unknown host → success false, error', async () => {
    const result = await data('docker_container', { action: 'list', host_id: 'invalid-host-id' });
    expect(result.success).toBe(false);
    expect(result).toHaveProperty('error');
    expect(result.kind).toBe('bad-input');
  });

  it('test_invalid_container_id: docker_container info of a missing container → success false, error', async () => {
    const result = await data('docker_container', { action: 'info', host_id: HOST, container_id: 'invalid-container-id' });
    expect(result.success).toBe(false);
    expect(result.error).toMatch(/no container "invalid-container-id"/);
  });

  it('test_docker_container_invalid_action and test_docker_compose_invalid_action: success false, "invalid action" in error', async () => {
    for (const [tool, args] of [
      ['docker_container', { action: 'invalid_action', host_id: HOST, container_id: 'any-container' }],
      ['docker_compose', { action: 'invalid_action', host_id: HOST }],
    ] as const) {
      const result = await data(tool, args);
      expect(result.success).toBe(false);
      expect(String(result.error).toLowerCase()).toContain('invalid action');
    }
  });

  it('test_invalid_parameter_types (negative offset) and test_missing_required_parameters (pull with container_id ""): success false, error', async () => {
    const negative = await data('docker_container', { action: 'list', host_id: HOST, offset: -1 });
    expect(negative).toMatchObject({ success: false, kind: 'bad-input' });
    expect(negative.error).toMatch(/offset/);
    const pull = await data('docker_container', { action: 'pull', host_id: HOST, container_id: '' });
    expect(pull).toMatchObject({ success: false, kind: 'bad-input' });
    expect(pull.error).toMatch(/image_name .*is required for action pull/);
  });

  it('test_stack_name_validation: an invalid stack name → success false', async () => {
    const result = await data('docker_compose', { action: 'deploy', host_id: HOST, stack_name: 'Invalid Stack!', compose_content: COMPOSE });
    expect(result.success).toBe(false);
    expect(result.error).toMatch(/stack_name/);
  });

  it("down (the Python tests' clean-up): ours asks for confirm first, success false saying so; with confirm: true it goes", async () => {
    const refused = await data('docker_compose', { action: 'down', host_id: HOST, stack_name: stack, options: { volumes: true } });
    expect(refused).toMatchObject({ success: false, kind: 'bad-input' });
    expect(refused.error).toMatch(/confirm: true/);
    const done = await data('docker_compose', { action: 'down', host_id: HOST, stack_name: stack, options: { volumes: true }, confirm: true });
    expect(done).toMatchObject({ success: true, action: 'down', stack_name: stack });
  });

  it('the audit trail holds a record of every call above, and no secret sent in one', async () => {
    const secret = `canary-secret-${process.pid}-4e1d`;
    const preview = await data('docker_compose', { action: 'deploy', host_id: HOST, stack_name: `${prefix}-secret`, compose_content: `${COMPOSE}# ${secret}\n`, environment: { API_TOKEN: secret }, dry_run: true });
    expect(preview.success).toBe(true);
    const records = await readAudit();
    expect(records).toHaveLength(calls);
    expect(records.filter((r) => r.outcome === 'ok').length).toBeGreaterThan(10);
    expect(records.at(-1)).toMatchObject({ tool: 'docker_compose', action: 'deploy', host_id: HOST, stack_name: `${prefix}-secret`, outcome: 'ok', confirmed_by: 'none' });
    expect(records.find((r) => r.action === 'down' && r.outcome === 'ok')).toMatchObject({ confirmed_by: 'model' });
    expect(await readFile(path.join(workDir, 'audit.jsonl'), 'utf8')).not.toContain(secret);
  });
});
