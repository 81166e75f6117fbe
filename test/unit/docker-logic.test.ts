import { describe, expect, it } from 'vitest';
import { composeCommand } from '../../src/docker/compose-cli.js';
import { summarizeContainer, type InspectedContainer } from '../../src/docker/inspect.js';

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
