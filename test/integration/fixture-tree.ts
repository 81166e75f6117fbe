/**
 * A directory tree with every kind of file a copy can get wrong: dotfiles,
 * numeric owners, odd modes, old timestamps, symlinks (dangling too), hard
 * links, a sparse file, empty directories, names with spaces and newlines.
 * Built on a testbed host over SSH.
 */
import { command } from '../../src/ssh/quote.js';
import type { SshTransport } from '../../src/ssh/transport.js';

const BUILD_TREE = String.raw`
set -eu
root=$1
mkdir -p "$root/config/empty-dir" "$root/db/deep/er" "$root/.hidden-dir"
printf 'secret\n' > "$root/.env"
printf 'hidden\n' > "$root/.hidden-dir/.also-hidden"
printf 'line one\nline two\n' > "$root/config/app.conf"
head -c 300000 /dev/urandom > "$root/db/data.bin"
printf 'x' > "$root/db/deep/er/leaf"
printf 'spaces\n' > "$root/name with spaces.txt"
printf 'newline\n' > "$root/name
with newline"
ln "$root/db/data.bin" "$root/db/data-hardlink.bin"
ln -s ../config/app.conf "$root/db/link-to-conf"
ln -s /nonexistent/target "$root/dangling-link"
truncate -s 64M "$root/db/sparse.img"
printf 'tail' >> "$root/db/sparse.img"
chown 1234:5678 "$root/config/app.conf"
chown -h 4321:8765 "$root/db/link-to-conf"
chown 999:999 "$root/db"
chmod 0640 "$root/.env"
chmod 4755 "$root/db/deep/er/leaf"
chmod 0700 "$root/.hidden-dir"
chmod 1777 "$root/config/empty-dir"
mkfifo "$root/db/a-fifo"
touch -d '2001-02-03 04:05:06' "$root/config/app.conf" "$root/db/deep"
touch -d '1999-12-31 23:59:59' "$root"
`;

export async function buildFixtureTree(transport: SshTransport, root: string): Promise<void> {
  await transport.exec(command(['sh', '-c', BUILD_TREE, 'build-tree', root]));
}
