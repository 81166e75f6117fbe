import { describe, expect, it } from 'vitest';
import { checkComposeText } from '../../src/docker/compose-file.js';

/** Nine levels of nine aliases each: 9^9 nodes once expanded. */
function billionLaughs(): string {
  const letters = 'abcdefghi';
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < letters.length; i++) levels.push(`${letters[i]}: &${letters[i]} [${Array(9).fill(`*${letters[i - 1]}`).join(', ')}]`);
  return `x-bomb:\n  ${levels.join('\n  ')}\nservices:\n  web:\n    image: nginx\n`;
}

describe('compose files are checked before they reach a host', () => {
  it('refuses an alias bomb, a huge file, broken YAML and a file without services', () => {
    expect(() => checkComposeText(billionLaughs(), 'bomb')).toThrow(/cannot be expanded/);
    expect(() => checkComposeText(`services:\n  web:\n    image: nginx\n#${'x'.repeat(1024 * 1024)}\n`, 'huge')).toThrow(/larger than/);
    expect(() => checkComposeText('services: [\n', 'broken')).toThrow(/invalid compose file "broken"/);
    expect(() => checkComposeText('version: "3"\n', 'empty')).toThrow(/no "services" mapping/);
  });

  it('accepts the anchors and merge keys real files use', () => {
    const services = Array.from({ length: 40 }, (_, i) => `  s${i}:\n    <<: *common\n    image: busybox\n`).join('');
    const root = checkComposeText(`x-common: &common\n  init: true\n  network_mode: none\nservices:\n${services}`, 'anchors');
    expect(Object.keys(root.services)).toHaveLength(40);
    expect(root.services.s39).toEqual({ init: true, network_mode: 'none', image: 'busybox' });
  });

  it('expands a merge key as compose does, so the service it gives a data path to is checked whole', () => {
    const text = 'x-data: &data\n  image: mariadb:11\n  volumes:\n    - /mnt/appdata/db:/var/lib/mysql\nservices:\n  db:\n    <<: *data\n';
    expect(checkComposeText(text, 'merge').services.db).toEqual({ image: 'mariadb:11', volumes: ['/mnt/appdata/db:/var/lib/mysql'] });
  });
});
