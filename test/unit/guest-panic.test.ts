import { describe, expect, it } from 'vitest';
import { hasPanicked } from '../../src/testbed/guests/guest-vm.js';

describe('a guest whose kernel panicked', () => {
  it('is told apart by its console log from one that booted', () => {
    expect(hasPanicked('[ 4528.0] ---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---\n')).toBe(true);
    expect(hasPanicked('[    2.1] systemd[1]: Reached target multi-user.target.\ndocker-mcp guest ready\n')).toBe(false);
  });
});
