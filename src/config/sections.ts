/**
 * The `server:` and `transfer:` sections of the Python tool's hosts.yml. What
 * means something here is honoured (`server` gives `serve` its defaults);
 * everything else is named in one warning per key and process, never
 * silently ignored.
 */
import { log } from '../log.js';
import type { ServerSection, TransferSection } from './schema.js';

/** Keys of `server:` that `serve` honours, and what they set. */
export const HONOURED_SERVER_KEYS = {
  host: 'the address of serve --http',
  port: 'the port of serve --http',
  log_level: 'the log level, unless LOG_LEVEL is set',
  max_connections: 'serve --http --max-sessions',
} as const;

/** Every key of the two sections that has no effect here, with the reason. */
export function unsupportedSettings(server: ServerSection, transfer: TransferSection): { key: string; reason: string }[] {
  const unsupported: { key: string; reason: string }[] = [];
  for (const key of Object.keys(server)) {
    if (!(key in HONOURED_SERVER_KEYS)) unsupported.push({ key: `server.${key}`, reason: 'not a setting of docker-mcp' });
  }
  for (const [key, value] of Object.entries(transfer)) {
    if (key === 'method' && value === 'ssh') continue; // every transfer here runs over SSH already
    unsupported.push({ key: `transfer.${key}`, reason: TRANSFER_REASONS[key] ?? 'not a setting of docker-mcp' });
  }
  return unsupported;
}

const TRANSFER_REASONS: Record<string, string> = {
  method: 'only "ssh": data moves by zfs send/receive or the hosts\' own rsync, over SSH, never in a helper container',
  docker_image: 'no rsync container is used: data moves by zfs send/receive or the hosts\' own rsync',
};

const warned = new Set<string>();

/** Log each unsupported key once per process, naming the file. */
export function warnUnsupportedSettingsOnce(file: string, unsupported: readonly { key: string; reason: string }[]): void {
  for (const { key, reason } of unsupported) {
    const id = `${file}\0${key}`;
    if (warned.has(id)) continue;
    warned.add(id);
    log.warn(`${file}: ${key} is ignored: ${reason}`);
  }
}
