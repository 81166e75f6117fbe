import { describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import { hasImage, pullImage, saveImagesCommand } from '../../src/docker/images.js';
import { InvalidInputError } from '../../src/errors.js';
import type { ShellCommand } from '../../src/ssh/quote.js';
import type { SshTransport } from '../../src/ssh/transport.js';

/** A transport that runs nothing and remembers what it was asked to run. */
function recordingTransport(): { transport: SshTransport; ran: string[] } {
  const ran: string[] = [];
  const transport = { hostId: 'alpha', exec: async (cmd: ShellCommand) => (ran.push(cmd.text), { exitCode: 0, stdout: '', stderr: '' }) } as unknown as SshTransport;
  return { transport, ran };
}

const hostile = ['--output=/etc/passwd', '-q', 'x;touch /tmp/canary', '$(id)', '`id`', 'a\nb', 'a\tb', ''];

describe('image names reaching docker', () => {
  it('come after "--" in pull, image inspect and save', async () => {
    const { transport, ran } = recordingTransport();
    await pullImage({ host: { id: 'alpha' } as HostConfig, transport }, 'nginx:1.27');
    await hasImage(transport, 'ghcr.io/team/app:2');
    expect(ran).toEqual([expect.stringMatching(/^docker pull -- nginx:1\.27/), 'docker image inspect --format \'{{.Id}}\' -- ghcr.io/team/app:2']);
    expect(saveImagesCommand(['a:1', 'b']).text).toBe('docker save -- a:1 b');
  });

  it('are validated like those given to pull, wherever they come from (a compose file too)', async () => {
    const { transport, ran } = recordingTransport();
    for (const image of hostile) {
      await expect(hasImage(transport, image)).rejects.toThrow(InvalidInputError);
      expect(() => saveImagesCommand(['nginx', image])).toThrow(InvalidInputError);
    }
    expect(ran).toEqual([]);
  });
});
