/**
 * `testbed up --guests`: the OpenZFS guests delta and epsilon beside the
 * container hosts. Boot both at once (each takes about a minute under
 * software emulation); `down` powers them off by pid file.
 */
import { rm } from 'node:fs/promises';
import { ensurePackages, GUEST_HOST_PACKAGES } from '../install.js';
import { ensureGuestImage } from './guest-image.js';
import { addGuestNames, removeGuestNames } from './etc-hosts.js';
import { GUESTS, guestPaths } from './guest-layout.js';
import { ensureGuest, guestReady, guestRunning, stopGuest } from './guest-vm.js';

export interface GuestsUpResult {
  /** Seconds spent building the image; 0 when the cached one was used. */
  readonly imageBuildSeconds: number;
  /** Per guest started by this run, seconds from QEMU's start to ready. */
  readonly bootSeconds: Readonly<Record<string, number>>;
}

export async function guestsUp(note: (items: readonly string[]) => void): Promise<GuestsUpResult> {
  const installed = await ensurePackages(GUEST_HOST_PACKAGES);
  if (installed.length > 0) note([`installed ${installed.join(' ')}`]);
  const { image, buildSeconds } = await ensureGuestImage((line) => note([line]));
  if (await addGuestNames()) note(['added delta.vm and epsilon.vm to /etc/hosts']);
  const bootSeconds: Record<string, number> = {};
  await Promise.all(
    GUESTS.map(async (guest) => {
      const boot = await ensureGuest(guest, image);
      if (boot.bootSeconds !== null) {
        bootSeconds[guest.name] = boot.bootSeconds;
        note([`booted ${guest.name} (OpenZFS guest) in ${boot.bootSeconds.toFixed(0)} s`]);
      }
    }),
  );
  return { imageBuildSeconds: buildSeconds, bootSeconds };
}

export async function guestsDown(note: (item: string) => void): Promise<void> {
  await Promise.all(
    GUESTS.map(async (guest) => {
      if (await stopGuest(guest)) note(`${guest.name} guest`);
      await rm(guestPaths(guest).dir, { recursive: true, force: true });
    }),
  );
  if (await removeGuestNames()) note('guest names in /etc/hosts');
}

export interface GuestStatus {
  readonly host: string;
  readonly address: string;
  readonly running: boolean;
  readonly ready: boolean;
}

export async function guestsStatus(): Promise<GuestStatus[]> {
  return Promise.all(
    GUESTS.map(async (guest) => {
      const running = await guestRunning(guest);
      return { host: guest.name, address: guest.address, running, ready: running && (await guestReady(guest)) };
    }),
  );
}

/** The guests that run: they go into the testbed's hosts.yml. */
export async function runningGuests(): Promise<typeof GUESTS> {
  const running = await Promise.all(GUESTS.map((guest) => guestRunning(guest)));
  return GUESTS.filter((_, index) => running[index]);
}
