import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.js';
import {
  relativePathInside,
  validateAbsolutePath,
  validateDataPath,
  validateDatasetName,
  normaliseHostPath,
  validateEnvironmentVariable,
  validateHostId,
  validateSnapshotName,
  validateStackName,
} from '../../src/names/validate.js';

describe('stack names', () => {
  it('accepts DNS labels', () => {
    for (const name of ['authelia', 'a', 'my-stack-2', 'x'.repeat(63)]) expect(validateStackName(name)).toBe(name);
  });

  it('refuses anything else with a clear error', () => {
    for (const name of ['', 'Authelia', '-a', 'a-', 'a_b', 'a;rm -rf /', '$(id)', 'a b', '../x', 'x'.repeat(64), 'a\nb']) {
      expect(() => validateStackName(name)).toThrow(InvalidInputError);
    }
    expect(() => validateStackName('a;b')).toThrow(/stack name "a;b": must be a DNS label/);
  });

  it('never lets a shell metacharacter through', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        let accepted = true;
        try {
          validateStackName(s);
        } catch {
          accepted = false;
        }
        if (accepted) expect(s).toMatch(/^[a-z0-9-]+$/);
      }),
    );
  });
});

describe('dataset and snapshot names', () => {
  it('accepts pool/child paths', () => {
    expect(validateDatasetName('alpha/appdata/authelia-mariadb')).toBe('alpha/appdata/authelia-mariadb');
    expect(validateSnapshotName('alpha/appdata/x@docker-mcp-0123-seed')).toBe('alpha/appdata/x@docker-mcp-0123-seed');
  });

  it('accepts every component OpenZFS accepts: a leading "." or "-", a space (n8n keeps its data in .n8n)', () => {
    for (const name of ['tank/appdata/n8n/.n8n', 'tank/appdata/-x', 'tank/appdata/my app', 'tank/appdata/a:b_c.d']) expect(validateDatasetName(name)).toBe(name);
  });

  it('says the rule exactly, with the component it refuses', () => {
    expect(() => validateDatasetName('tank/appdata/x;id')).toThrow(/component "x;id" must be non-empty, not "\." or "\.\.", and hold only ASCII letters, digits, space, "_", "\.", ":" and "-" \(in any place, a leading "\." included/);
  });

  it('refuses empty components, traversal, snapshots as datasets and bad pools', () => {
    for (const name of ['', 'alpha//x', 'alpha/../x', 'alpha/x@s', '1pool/x', 'mirror/x', 'alpha/x%y', 'alpha/./x', 'alpha/x;id', `a/${'x'.repeat(300)}`]) {
      expect(() => validateDatasetName(name)).toThrow(InvalidInputError);
    }
    for (const name of ['alpha/x', 'alpha/x@', 'alpha/x@a@b', 'alpha/x@a b']) {
      expect(() => validateSnapshotName(name)).toThrow(InvalidInputError);
    }
  });
});

describe('paths', () => {
  it('normalises a host path as compose and Docker take it', () => {
    expect(normaliseHostPath('/root/n8n//.n8n')).toBe('/root/n8n/.n8n');
    expect(normaliseHostPath('/srv/appdata/app/')).toBe('/srv/appdata/app');
    expect(normaliseHostPath('/srv/./appdata/x/../y')).toBe('/srv/appdata/y');
    expect(normaliseHostPath('/')).toBe('/');
    expect(normaliseHostPath('./data')).toBe('./data');
  });

  it('accepts absolute normalised paths and strips a trailing slash', () => {
    expect(validateAbsolutePath('/srv/alpha/appdata/')).toBe('/srv/alpha/appdata');
    expect(validateAbsolutePath('/')).toBe('/');
  });

  it('refuses relative paths, traversal, doubled slashes and control characters', () => {
    for (const p of ['srv/x', '/srv/../etc', '/srv/./x', '/srv//x', '/srv/x\ny', '']) {
      expect(() => validateAbsolutePath(p)).toThrow(InvalidInputError);
    }
  });

  it('keeps service paths inside appdata_path', () => {
    expect(relativePathInside('/srv/alpha/appdata', '/srv/alpha/appdata/authelia')).toBe('authelia');
    expect(() => relativePathInside('/srv/alpha/appdata', '/srv/alpha/appdata')).toThrow(/inside/);
    expect(() => relativePathInside('/srv/alpha/appdata', '/srv/alpha/appdata-other/x')).toThrow(/inside/);
    expect(() => relativePathInside('/srv/alpha/appdata', '/etc')).toThrow(/inside/);
  });
});

describe('host ids', () => {
  it('accepts the usual and refuses the odd', () => {
    expect(validateHostId('squirts')).toBe('squirts');
    expect(validateHostId('nas-01.home')).toBe('nas-01.home');
    for (const id of ['', '-x', 'a b', 'a/b', 'a;b']) expect(() => validateHostId(id)).toThrow(InvalidInputError);
  });
});

describe('data paths', () => {
  it('accepts the paths people use', () => {
    for (const p of ['/srv/appdata/app', '/srv/appdata/My Data/db-1.0', '/mnt/a/b+c@d=e:f,g_h']) expect(validateDataPath(p)).toBe(p);
  });

  it('refuses shell syntax, naming each offending character', () => {
    expect(() => validateDataPath('/srv/appdata/q$(touch /tmp/PWNED);x')).toThrow(/contains "\$", "\(", "\)", ";": data paths may hold only/);
    for (const p of ['/srv/a`id`', '/srv/a\nb', "/srv/it's", '/srv/a"b', '/srv/a*', '/srv/a\\b', '/srv/caf\u00e9', '/srv/a~b']) {
      expect(() => validateDataPath(p)).toThrow(InvalidInputError);
    }
  });

  it('never lets a shell metacharacter through', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }).map((s) => `/srv/${s}`), (p) => {
        let accepted = true;
        try {
          validateDataPath(p);
        } catch {
          accepted = false;
        }
        if (accepted) expect(p).toMatch(/^[A-Za-z0-9._+@=:,/ -]+$/);
      }),
    );
  });
});

describe('.env values', () => {
  it('take quotes, "$" and lone backslashes', () => {
    for (const v of [`a'b$HOME"c`, 'C:\\dir\\x', '${X} $$ #']) expect(() => validateEnvironmentVariable('A', v)).not.toThrow();
  });

  it('refuse the backslashes compose v1 and v2 read differently', () => {
    for (const v of ['a\\\\b', "a\\'b", 'a\\']) expect(() => validateEnvironmentVariable('A', v)).toThrow(/backslash/);
  });
});
