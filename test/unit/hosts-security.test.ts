/**
 * What an MCP client (or a hostile hosts.yml) must not be able to do through
 * the hosts file: smuggle lines into it, make the tool feed it to `ssh -G`,
 * read the controller's environment through it, or pass options to ssh.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigInvalidError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load.js';
import { setHostFields } from '../../src/config/write.js';
import { InvalidInputError } from '../../src/errors.js';
import { McpContext } from '../../src/mcp/context.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { validateSshHostname, validateSshUser } from '../../src/names/validate.js';
import { sshConfigFileForImport } from '../../src/ssh/ssh-config.js';

const BASE = 'hosts:\n  nas:\n    hostname: nas.lan\n    user: root\n';

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}) {
  try {
    parseConfigText(text, '/etc/hosts.yml', env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    return (error as ConfigInvalidError).problems;
  }
  throw new Error('expected the config to be refused');
}

describe('control characters in hosts.yml', () => {
  it('refuses a newline, tab, CR, NUL or DEL in any host string, naming host, field and line', () => {
    for (const escaped of ['\\n', '\\t', '\\r', '\\0', '\\x7f', '\\x1b']) {
      const problems = problemsOf(`${BASE}    description: "x${escaped}Match exec \\"id\\""\n`);
      expect(problems).toEqual([expect.objectContaining({ host: 'nas', field: 'description', line: 5, message: expect.stringMatching(/control character/) })]);
    }
    expect(problemsOf(`${BASE}    tags: [ok, "a\\nb"]\n`)).toEqual([expect.objectContaining({ field: 'tags.1' })]);
    expect(problemsOf(`${BASE}    notes: "a\\nb"\n`)).toEqual([expect.objectContaining({ field: 'notes' })]);
    expect(problemsOf(`${BASE}    identity_file: "/k\\n"\n`)).toEqual([expect.objectContaining({ field: 'identity_file' })]);
  });
});

describe('import_ssh and the docker_hosts tool over MCP', () => {
  let client: Client;
  let dir: string;
  let hostsFile: string;
  const canary = path.join(os.tmpdir(), `docker-mcp-unit-canary-${process.pid}`);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-hosts-security-'));
    hostsFile = path.join(dir, 'hosts.yml');
    writeFileSync(hostsFile, BASE);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer(new McpContext(hostsFile), 'test').connect(serverSide);
    client = new Client({ name: 'unit', version: '1' });
    await client.connect(clientSide);
  });

  afterAll(async () => {
    await client.close();
  });

  const call = async (args: Record<string, unknown>) => (await client.callTool({ name: 'docker_hosts', arguments: args })) as CallToolResult;
  const text = (result: CallToolResult) => (result.content[0] as { text: string }).text;

  it('refuses an add whose description holds new lines, and leaves hosts.yml as it was', async () => {
    const result = await call({ action: 'add', host_id: 'zzz', ssh_host: 'zzz.lan', ssh_user: 'root', description: `\nMatch exec "touch ${canary}"\nHost zzz` });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/host "zzz", field "description": .*control character/);
    expect(readFileSync(hostsFile, 'utf8')).toBe(BASE);
  });

  it('refuses an ssh_config_path other than ~/.ssh/config, hosts.yml above all, and runs nothing', async () => {
    for (const file of [hostsFile, '/etc/passwd', path.join(dir, 'other-config')]) {
      const result = await call({ action: 'import_ssh', ssh_config_path: file });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/ssh_config_path.*only ~\/\.ssh\/config/);
    }
    expect(existsSync(canary)).toBe(false);
  });

  it('stores what a client wrote literally: no environment variable is expanded in it', async () => {
    process.env.DOCKER_MCP_UNIT_SECRET = 's3cret';
    // edit, not add: add stores a host only once it connects, and no host here does.
    const edited = await call({ action: 'edit', host_id: 'nas', description: 'token=${DOCKER_MCP_UNIT_SECRET} home=$HOME', confirm: true });
    expect(edited.isError, text(edited)).toBeFalsy();
    const listed = JSON.stringify((await call({ action: 'list' })).structuredContent);
    expect(listed).toContain('token=${DOCKER_MCP_UNIT_SECRET} home=$HOME');
    expect(listed).not.toContain('s3cret');
  });
});

describe('which ssh config import_ssh may read', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-home-'));
  const hostsFile = path.join(home, '.config/docker-mcp/hosts.yml');
  mkdirSync(path.dirname(hostsFile), { recursive: true });
  writeFileSync(hostsFile, BASE);
  mkdirSync(path.join(home, '.ssh'));
  const env = { HOME: home };

  it('is the user own ~/.ssh/config when the caller names none or names that one', () => {
    writeFileSync(path.join(home, '.ssh/config'), 'Host nas\n');
    expect(sshConfigFileForImport(undefined, { caller: 'mcp', hostsFile, env })).toBe(path.join(home, '.ssh/config'));
    expect(sshConfigFileForImport('~/.ssh/config', { caller: 'mcp', hostsFile, env })).toBe(path.join(home, '.ssh/config'));
  });

  it('lets the CLI name another file, but never one the tool wrote, even through a symlink', () => {
    const other = path.join(home, 'other-ssh-config');
    writeFileSync(other, 'Host nas\n');
    expect(sshConfigFileForImport(other, { caller: 'cli', hostsFile, env })).toBe(other);
    expect(() => sshConfigFileForImport(other, { caller: 'mcp', hostsFile, env })).toThrow(InvalidInputError);
    for (const file of [hostsFile, `${hostsFile}.bak`, path.join(home, '.config/docker-mcp/anything')]) {
      expect(() => sshConfigFileForImport(file, { caller: 'cli', hostsFile, env })).toThrow(/written by docker-mcp/);
    }
    const link = path.join(home, 'link-config');
    symlinkSync(hostsFile, link);
    expect(() => sshConfigFileForImport(link, { caller: 'cli', hostsFile, env })).toThrow(/written by docker-mcp/);
  });

  it('refuses even ~/.ssh/config when it is hosts.yml in disguise', () => {
    const sneaky = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-home-'));
    mkdirSync(path.join(sneaky, '.ssh'));
    symlinkSync(hostsFile, path.join(sneaky, '.ssh/config'));
    expect(() => sshConfigFileForImport(undefined, { caller: 'mcp', hostsFile, env: { HOME: sneaky } })).toThrow(/written by docker-mcp/);
  });
});

describe('environment variables in hosts.yml', () => {
  const env = { HOME: '/home/me', USER: 'me', DOCKER_MCP_TOKEN: 's3cret', AWS_SECRET_ACCESS_KEY: 'AKIAXX' };

  it('expands only harmless variables such as HOME and USER; others stay as written', () => {
    const { hosts } = parseConfigText(
      'hosts:\n  nas:\n    hostname: ${AWS_SECRET_ACCESS_KEY}.example\n    user: $USER\n    identity_file: ${HOME}/.ssh/id\n    description: token=${DOCKER_MCP_TOKEN} $DOCKER_MCP_TOKEN\n',
      'f',
      env,
    );
    expect(hosts[0]).toMatchObject({
      hostname: '${AWS_SECRET_ACCESS_KEY}.example',
      user: 'me',
      identity_file: '/home/me/.ssh/id',
      description: 'token=${DOCKER_MCP_TOKEN} $DOCKER_MCP_TOKEN',
    });
  });

  it('stores values the tool writes literally, so they read back exactly as given', () => {
    const document = parseDocument(BASE);
    setHostFields(document, 'nas', { description: 'costs $5, ${HOME} and $USER and $$' });
    const { hosts } = parseConfigText(document.toString(), 'f', env);
    expect(hosts[0]?.description).toBe('costs $5, ${HOME} and $USER and $$');
  });
});

describe('ssh hostnames and users', () => {
  it('refuses a leading dash, whitespace and control characters', () => {
    expect(validateSshHostname('nas.lan')).toBe('nas.lan');
    expect(validateSshUser('deploy')).toBe('deploy');
    for (const bad of ['-oProxyCommand=touch /tmp/x', 'a b', 'a\tb', 'a\nb', '', '\u007f']) {
      expect(() => validateSshHostname(bad)).toThrow(InvalidInputError);
      expect(() => validateSshUser(bad)).toThrow(InvalidInputError);
    }
  });

  it('hosts.yml refuses them too, with a located error', () => {
    expect(problemsOf('hosts:\n  nas:\n    hostname: -oProxyCommand=id\n    user: root\n')).toEqual([expect.objectContaining({ field: 'hostname', line: 3 })]);
    expect(problemsOf('hosts:\n  nas:\n    hostname: nas\n    user: "-lroot"\n')).toEqual([expect.objectContaining({ field: 'user', line: 4 })]);
  });
});

describe('key and known_hosts files under /proc', () => {
  it('are refused: /proc/self/cwd is whatever folder the tool runs in', () => {
    for (const [field, value] of [
      ['known_hosts_file', '/proc/self/cwd/known_hosts'],
      ['known_hosts_file', '/proc'],
      ['identity_file', '/proc/self/cwd/id_ed25519'],
      ['identity_file', '/proc/1/root/root/.ssh/id_ed25519'],
    ] as const) {
      const problems = problemsOf(`${BASE}    ${field}: ${value}\n`);
      expect(problems, `${field}: ${value}`).toEqual([expect.objectContaining({ host: 'nas', field, message: expect.stringMatching(/is under \/proc/) })]);
    }
    expect(parseConfigText(`${BASE}    identity_file: ~/.ssh/id_ed25519\n    known_hosts_file: /etc/ssh/known_hosts\n`, '/etc/hosts.yml', {}).hosts[0]).toMatchObject({ identity_file: '~/.ssh/id_ed25519' });
  });
});
