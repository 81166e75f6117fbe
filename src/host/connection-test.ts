/**
 * `hosts test`: can we reach the host, does it accept our key, does Docker
 * answer? Each question gets its own answer so the user knows which to fix.
 */
import { DockerMcpError, describeError } from '../errors.js';
import { command } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';

export type CheckResult = { readonly ok: true; readonly detail: string } | { readonly ok: false; readonly error: string };

export interface ConnectionTest {
  readonly hostId: string;
  readonly ssh: CheckResult;
  readonly docker: CheckResult | null;
  readonly roundTripMs: number | null;
}

export async function testConnection(transport: SshTransport): Promise<ConnectionTest> {
  const hostId = transport.hostId;
  try {
    await transport.connect();
  } catch (error) {
    const message = describeError(error);
    return { hostId, ssh: { ok: false, error: message }, docker: null, roundTripMs: null };
  }
  const started = Date.now();
  const whoami = await transport.exec(command(['id', '-un']));
  const roundTripMs = Date.now() - started;
  let docker: CheckResult;
  try {
    const result = await transport.exec(command(['docker', 'version', '--format', '{{.Server.Version}}']), {
      timeoutMs: 20_000,
    });
    docker = { ok: true, detail: `Docker ${result.stdout.trim()}` };
  } catch (error) {
    docker = { ok: false, error: error instanceof DockerMcpError ? error.message : describeError(error) };
  }
  return { hostId, ssh: { ok: true, detail: `logged in as ${whoami.stdout.trim()}` }, docker, roundTripMs };
}
