/** What users of the Python docker-mcp bring with them: its log level names, options and hosts.yml sections. */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { unsupportedSettings } from '../../src/config/sections.js';
import { logLevelFor } from '../../src/log.js';
import { composeArguments } from '../../src/mcp/tools/compose-options.js';

describe("the Python tool's LOG_LEVEL names", () => {
  it('maps WARNING, CRITICAL and the others, in any case', () => {
    expect(['DEBUG', 'INFO', 'WARNING', 'warning', 'ERROR', 'CRITICAL', 'warn'].map(logLevelFor)).toEqual(['debug', 'info', 'warn', 'warn', 'error', 'fatal', 'warn']);
    expect(logLevelFor('LOUD')).toBeUndefined();
  });

  it('starts with LOG_LEVEL=WARNING, and with an unknown name says so instead of crashing', async () => {
    const run = (level: string) => execa(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', '--version'], { env: { LOG_LEVEL: level }, reject: false });
    const warning = await run('WARNING');
    expect([warning.exitCode, warning.stderr]).toEqual([0, '']);
    const unknown = await run('LOUD');
    expect(unknown.exitCode).toBe(0);
    expect(unknown.stderr).toMatch(/log level \\"LOUD\\" is not one of .*using warn/);
  }, 30_000);
});

describe("docker_compose's options, as the Python tool names them", () => {
  it('become the compose flags they name, services last', () => {
    expect(composeArguments('up', { force_recreate: 'true', build: 'false', pull: 'true', services: 'web, db' })).toEqual({ flags: ['--force-recreate', '--pull', 'always'], services: ['web', 'db'] });
    expect(composeArguments('down', { volumes: true, remove_orphans: 'true' }).flags).toEqual(['--volumes', '--remove-orphans']);
    expect(composeArguments('restart', { timeout: '30' }).flags).toEqual(['--timeout', '30']);
    expect(composeArguments('build', { no_cache: 'true', pull: 'true' }).flags).toEqual(['--no-cache', '--pull']);
    expect(composeArguments('up', { pull_policy: 'missing' }).flags).toEqual(['--pull', 'missing']);
  });

  it('refuse, naming the key and what the action takes, anything they cannot carry', () => {
    expect(() => composeArguments('up', { detach: 'false' })).toThrow(/options.detach .*is not an option of up; it takes: force_recreate, build, pull, pull_policy, services/);
    expect(() => composeArguments('down', { volumes: 'maybe' })).toThrow(/options.volumes "maybe": must be true or false/);
    expect(() => composeArguments('restart', { timeout: '1; rm -rf /' })).toThrow(/must be whole seconds/);
    expect(() => composeArguments('logs', { tail: '10' })).toThrow(/are not taken by logs/);
    expect(() => composeArguments('up', { services: '-rf' })).toThrow(/service name/);
  });
});

describe("hosts.yml's server: and transfer: sections", () => {
  it('reads what serve honours and names every key that has no effect here', () => {
    const text = 'hosts: {}\nserver:\n  host: 127.0.0.1\n  port: 8000\n  log_level: WARNING\n  workers: 4\ntransfer:\n  method: containerized\n  docker_image: instrumentisto/rsync-ssh:latest\n';
    const config = parseConfigText(text, 'hosts.yml', {});
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8000, log_level: 'WARNING' });
    expect(unsupportedSettings(config.server, config.transfer).map((u) => u.key)).toEqual(['server.workers', 'transfer.method', 'transfer.docker_image']);
    const ssh = parseConfigText('transfer:\n  method: ssh\n', 'hosts.yml', {});
    expect(unsupportedSettings(ssh.server, ssh.transfer)).toEqual([]);
  });

  it('refuses a value of the wrong type with its line', () => {
    expect(() => parseConfigText('hosts: {}\nserver:\n  port: eighty\n', 'hosts.yml', {})).toThrow(/line 3.*server\.port|server\.port.*line 3/s);
  });
});
