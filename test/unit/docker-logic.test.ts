import { describe, expect, it } from 'vitest';
import { composeCommand } from '../../src/docker/compose-cli.js';
import { parseComposeFile } from '../../src/docker/compose-file.js';
import { summarizeContainer, type InspectedContainer } from '../../src/docker/inspect.js';

const AUTHELIA = `
services:
  authelia:
    image: authelia/authelia:4
    volumes:
      - /mnt/appdata/authelia:/config
  authelia-mariadb:
    image: mariadb:11
    volumes:
      - type: bind
        source: /mnt/appdata/authelia-mariadb
        target: /var/lib/mysql
  authelia-redis:
    image: redis:7
    volumes:
      - redis-data:/data
      - ./redis.conf:/usr/local/etc/redis/redis.conf:ro
      - \${APPDATA:-/mnt/appdata}/authelia-redis/extra:/extra
      - /tmp/anonymous-not
      - scratch:/scratch
volumes:
  redis-data:
    driver: local
    driver_opts: { type: none, o: bind, device: /mnt/appdata/authelia-redis }
  scratch: {}
`;

describe('parseComposeFile', () => {
  const summary = parseComposeFile(AUTHELIA, '/mnt/compose/authelia', '/mnt/appdata');

  it('finds every service and its image', () => {
    expect(summary.services).toEqual(['authelia', 'authelia-mariadb', 'authelia-redis']);
    expect(summary.images['authelia-redis']).toBe('redis:7');
  });

  it('finds bind mounts in short and long syntax, and named volumes that are binds in disguise', () => {
    const binds = summary.dataPaths.filter((p) => p.kind === 'bind' && p.underAppdata).map((p) => [p.service, p.source]);
    expect(binds).toEqual([
      ['authelia', '/mnt/appdata/authelia'],
      ['authelia-mariadb', '/mnt/appdata/authelia-mariadb'],
      ['authelia-redis', '/mnt/appdata/authelia-redis'],
    ]);
    expect(summary.dataPaths.find((p) => p.volumeName === 'redis-data')).toMatchObject({ kind: 'bind', target: '/data' });
  });

  it('resolves relative binds against the stack folder, flags ${VAR} sources and keeps plain named volumes apart', () => {
    expect(summary.dataPaths.find((p) => p.target === '/usr/local/etc/redis/redis.conf')).toMatchObject({
      source: '/mnt/compose/authelia/redis.conf',
      underAppdata: false,
      readOnly: true,
    });
    expect(summary.dataPaths.find((p) => p.target === '/extra')).toMatchObject({ hasVariables: true, underAppdata: false });
    expect(summary.dataPaths.find((p) => p.target === '/scratch')).toMatchObject({ kind: 'volume', source: 'scratch' });
    expect(summary.dataPaths.some((p) => p.source === '/tmp/anonymous-not')).toBe(false);
  });

  it('says what is wrong with a file that is not a compose file', () => {
    expect(() => parseComposeFile('services: [1, 2', '/x', null)).toThrow(/compose file/);
    expect(() => parseComposeFile('version: "3"\n', '/x', null)).toThrow(/no "services"/);
  });
});

describe('composeCommand', () => {
  it('builds the same request for compose v2 (docker compose) and v1 (docker-compose)', () => {
    expect(composeCommand({ command: ['docker', 'compose'] }, 'authelia', '/srv/c/authelia/docker-compose.yml', ['up', '-d']).text).toBe(
      'docker compose --project-name authelia --file /srv/c/authelia/docker-compose.yml up -d',
    );
    expect(composeCommand({ command: ['docker-compose'] }, 'authelia', '/srv/c/my stack.yml', ['down']).text).toBe(
      "docker-compose --project-name authelia --file '/srv/c/my stack.yml' down",
    );
  });

  it('refuses a stack name with shell metacharacters before any command exists', () => {
    expect(() => composeCommand({ command: ['docker-compose'] }, 'a;rm -rf /', '/f', ['up'])).toThrow(/stack name/);
  });
});

describe('summarizeContainer (docker inspect JSON)', () => {
  it('reads name, state, health, published ports and the compose labels', () => {
    const container = {
      Id: '48cd661cac8e0123456789',
      Name: '/authelia_redis_1',
      Created: '2026-11-24T21:06:14Z',
      State: { Status: 'running', Running: true, Health: { Status: 'healthy' } },
      Config: { Image: 'redis:7', Labels: { 'com.docker.compose.project': 'authelia', 'com.docker.compose.service': 'redis' } },
      NetworkSettings: { Ports: { '6379/tcp': [{ HostIp: '0.0.0.0', HostPort: '6379' }], '9121/tcp': null } },
      Mounts: [{ Type: 'bind', Source: '/mnt/appdata/authelia-redis', Destination: '/data' }],
    } satisfies InspectedContainer;
    expect(summarizeContainer(container)).toMatchObject({
      id: '48cd661cac8e',
      name: 'authelia_redis_1',
      state: 'running',
      health: 'healthy',
      ports: ['6379->6379/tcp', '9121/tcp'],
      stack: 'authelia',
      service: 'redis',
    });
  });
});
