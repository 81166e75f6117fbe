import { describe, expect, it } from 'vitest';
import { checkReceiveAllowed } from '../../src/transfer/zfs-transfer.js';
import { zfsCommands } from '../../src/zfs/commands.js';
import { DivergedTargetError, RefusingToOverwriteError } from '../../src/zfs/errors.js';
import { parseDatasetListing, parseResumeToken, parseSendEstimate, parseSnapshotList } from '../../src/zfs/parse.js';
import { decideSend, type SnapshotInfo } from '../../src/zfs/snapshot-diff.js';
import { datasetForPath, pathForDataset } from '../../src/zfs/service-dataset.js';

const snap = (name: string, guid: string, createtxg: number): SnapshotInfo => ({ name, guid, createtxg });

describe('parseSnapshotList', () => {
  it('keeps 64-bit guids exact and orders by creation', () => {
    const text = [
      'tank/app\ttype\tfilesystem',
      'tank/app\tguid\t1',
      'tank/app@b\ttype\tsnapshot',
      'tank/app@b\tguid\t17206267576155199738',
      'tank/app@b\tcreatetxg\t49',
      'tank/app@a\ttype\tsnapshot',
      'tank/app@a\tguid\t6058564311876528494',
      'tank/app@a\tcreatetxg\t44',
      'tank/app/child@x\ttype\tsnapshot',
    ].join('\n');
    expect(parseSnapshotList(text, 'tank/app')).toEqual([
      snap('a', '6058564311876528494', 44),
      snap('b', '17206267576155199738', 49),
    ]);
  });
});

describe('parseSendEstimate (sample output in the format of OpenZFS `zfs send -nvP`, typed by hand: zfs-fuse has no -n)', () => {
  it('reads the size line of a full and an incremental estimate', () => {
    expect(parseSendEstimate('full\ttank/app@s1\t1076098056\nsize\t1076098056\n')).toBe(1076098056);
    expect(parseSendEstimate('incremental\ts1\ttank/app@s2\t104944\nsize\t104944\n')).toBe(104944);
    expect(parseSendEstimate('cannot open: dataset does not exist\n')).toBeNull();
  });
});

describe('zfs command lines', () => {
  it('asks for a resumable receive only when told, and resumes a send from a token (OpenZFS only)', () => {
    expect(zfsCommands.receive('tank/app', { force: false, resumable: true }).text).toBe('zfs receive -s tank/app');
    expect(zfsCommands.receive('tank/app', { force: true, resumable: false }).text).toBe('zfs receive -F tank/app');
    expect(zfsCommands.send({ snapshot: 'tank/app@s2', resumeToken: '1-abc-def' }).text).toBe('zfs send -t 1-abc-def');
    expect(zfsCommands.send({ snapshot: 'tank/app@s2', from: 'tank/app@s1' }).text).toBe('zfs send -i tank/app@s1 tank/app@s2');
  });

  it('never builds a command from a hostile dataset name', () => {
    expect(() => zfsCommands.snapshot('tank/app@x;rm -rf /')).toThrow(/snapshot name/);
    expect(() => zfsCommands.receive('tank/$(reboot)', { force: false, resumable: false })).toThrow(/dataset name/);
  });
});

describe('decideSend', () => {
  const s1 = snap('docker-mcp-1', '100', 10);
  const s2 = snap('docker-mcp-2', '200', 20);
  const s3 = snap('docker-mcp-3', '300', 30);

  it('sends in full to a missing target, nothing to one that has the snapshot', () => {
    expect(decideSend([s1], null, s1)).toEqual({ kind: 'full', to: s1 });
    expect(decideSend([s1, s2], [s1, snap('docker-mcp-2', '200', 7)], s2)).toMatchObject({ kind: 'up-to-date' });
  });

  it('sends incrementally from the newest common snapshot, matched by guid not name', () => {
    const targetCopyOfS1 = snap('docker-mcp-1', '100', 3);
    expect(decideSend([s1, s2, s3], [targetCopyOfS1], s3)).toEqual({ kind: 'incremental', from: s1, to: s3 });
    const sameNameOtherData = snap('docker-mcp-1', '999', 3);
    expect(decideSend([s1, s3], [sameNameOtherData], s3).kind).toBe('no-common-snapshot');
  });

  it('reports snapshots only the target has after the common one', () => {
    const targetS1 = snap('docker-mcp-1', '100', 3);
    const local = snap('manual-backup', '555', 9);
    expect(decideSend([s1, s2], [targetS1, local], s2)).toEqual({ kind: 'diverged', common: s1, targetOnly: ['manual-backup'] });
  });
});

describe('checkReceiveAllowed: -F only on what the tool owns', () => {
  const common = snap('docker-mcp-1', '100', 10);
  it('refuses a foreign dataset with no common snapshot, naming its snapshots', () => {
    expect(() =>
      checkReceiveAllowed({ kind: 'no-common-snapshot', sourceSnapshots: ['docker-mcp-2'], targetSnapshots: ['daily'] }, 'beta', 'tank/app', false, [snap('daily', '9', 1)]),
    ).toThrow(RefusingToOverwriteError);
  });
  it('overwrites a dataset it created that holds none of its snapshots yet', () => {
    expect(checkReceiveAllowed({ kind: 'no-common-snapshot', sourceSnapshots: ['docker-mcp-2'], targetSnapshots: [] }, 'beta', 'tank/app', true, [])).toBe(true);
  });
  it('rolls back only its own newer snapshots, never a user snapshot', () => {
    expect(checkReceiveAllowed({ kind: 'diverged', common, targetOnly: ['docker-mcp-9'] }, 'beta', 'tank/app', true, [])).toBe(true);
    expect(() => checkReceiveAllowed({ kind: 'diverged', common, targetOnly: ['before-upgrade'] }, 'beta', 'tank/app', true, [])).toThrow(DivergedTargetError);
    expect(() => checkReceiveAllowed({ kind: 'diverged', common, targetOnly: ['docker-mcp-9'] }, 'beta', 'tank/app', false, [])).toThrow(DivergedTargetError);
  });
  it('uses -F for an incremental receive into its own dataset, or back to its own snapshot, never to a user snapshot of a foreign dataset', () => {
    const userSnapshot = snap('before-upgrade', '100', 10);
    expect(checkReceiveAllowed({ kind: 'incremental', from: userSnapshot, to: common }, 'beta', 'tank/app', true, [])).toBe(true);
    expect(checkReceiveAllowed({ kind: 'incremental', from: common, to: common }, 'alpha', 'tank/app', false, [])).toBe(true);
    expect(checkReceiveAllowed({ kind: 'incremental', from: userSnapshot, to: common }, 'beta', 'tank/app', false, [])).toBe(false);
  });
  it('never uses -F on a marked dataset that the migration journal says was there before it', () => {
    expect(() => checkReceiveAllowed({ kind: 'no-common-snapshot', sourceSnapshots: ['docker-mcp-2'], targetSnapshots: [] }, 'beta', 'tank/app', true, [], false)).toThrow(RefusingToOverwriteError);
    expect(() => checkReceiveAllowed({ kind: 'diverged', common, targetOnly: ['docker-mcp-9'] }, 'beta', 'tank/app', true, [], false)).toThrow(DivergedTargetError);
  });
});

describe('listings read with their source column', () => {
  it('counts a property as set on the dataset only when its source is local, not inherited', () => {
    const text = ['tank/a/b\ttype\tfilesystem\t-', 'tank/a/b\tdocker-mcp:managed\tyes\tinherited from tank/a', 'tank/a/c\tdocker-mcp:managed\tyes\tlocal', ''].join('\n');
    const inherited = parseDatasetListing(text, 'tank/a/b');
    expect(inherited.properties?.get('docker-mcp:managed')).toBe('yes');
    expect(inherited.localProperties.has('docker-mcp:managed')).toBe(false);
    expect(parseDatasetListing(text, 'tank/a/c').localProperties.has('docker-mcp:managed')).toBe(true);
  });

  it('reads what a resume token continues from zfs send -nvt (OpenZFS 2.3.9 output), the guid as zfs get prints it', () => {
    const output = 'resume token contents:\nnvlist version: 0\n\tobject = 0x2\n\toffset = 0x760000\n\tbytes = 0x785320\n\ttoguid = 0x935959522a23ee02\n\ttoname = tank/appdata/exp@s1\nfull\ttank/appdata/exp@s1\t12248392\n';
    expect(parseResumeToken(output)).toEqual({ toguid: '10617615805931843074', toname: 'tank/appdata/exp@s1' });
    expect(parseResumeToken('cannot resume send: kaboom')).toBeNull();
  });

  it('refuses anything but a resume token where a token goes', () => {
    expect(zfsCommands.resumeSend('1-cb93937e1-c8-789c63').text).toBe('zfs send -t 1-cb93937e1-c8-789c63');
    expect(() => zfsCommands.resumeSend('1-ab; rm -rf /')).toThrow(/not a receive_resume_token/);
  });
});

describe('service path ↔ dataset', () => {
  const layout = { appdataPath: '/mnt/appdata', appdataDataset: 'rpool/appdata' };
  it('maps a service path to its own dataset under zfs_dataset, and back', () => {
    expect(datasetForPath(layout, '/mnt/appdata/authelia-mariadb')).toBe('rpool/appdata/authelia-mariadb');
    expect(pathForDataset({ appdataPath: '/srv/beta/appdata', appdataDataset: 'beta/appdata' }, 'beta/appdata/authelia')).toBe('/srv/beta/appdata/authelia');
  });
  it('maps names OpenZFS takes as it takes them: a space, a leading "."', () => {
    expect(datasetForPath(layout, '/mnt/appdata/my app')).toBe(`${layout.appdataDataset}/my app`);
    expect(datasetForPath(layout, '/mnt/appdata/n8n/.n8n')).toBe(`${layout.appdataDataset}/n8n/.n8n`);
  });

  it('refuses the appdata root itself, paths outside it and names ZFS cannot hold', () => {
    expect(() => datasetForPath(layout, '/mnt/appdata')).toThrow(/inside/);
    expect(() => datasetForPath(layout, '/etc/passwd')).toThrow(/inside/);
    expect(() => datasetForPath(layout, '/mnt/appdata/café')).toThrow(/dataset name/);
    expect(() => datasetForPath(layout, '/mnt/appdata/50%')).toThrow(/dataset name/);
  });
});
