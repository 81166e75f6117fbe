/**
 * The script each guest runs at boot from its configuration disk (see
 * guest-config.ts): accounts, host keys, names, pool and datasets, and the
 * testbed's image once Docker runs. Kept here rather than in the image so a
 * change to it never forces the image to be rebuilt.
 */
export const GUEST_SETUP_SCRIPT = String.raw`#!/bin/sh
# docker-mcp testbed guest set-up: run by the image's boot hook at every boot,
# from this guest's configuration disk. "early" runs before sshd and Docker,
# "late" once Docker answers. Values come from guest.env beside this file.
set -eu
[ $# -eq 1 ] || set -- usage
cfg=/run/docker-mcp-config
. "$cfg/guest.env"

early() {
  echo "$GUEST_NAME" >/etc/hostname
  hostname "$GUEST_NAME"
  # The peer's name leads to QEMU's forward, which reaches the peer's sshd on
  # the controller's loopback: the same name works here and on the controller.
  printf '127.0.0.1 localhost\n127.0.1.1 %s %s\n%s %s %s\n' \
    "$GUEST_DNS" "$GUEST_NAME" "$PEER_ADDRESS" "$PEER_DNS" "$PEER_NAME" >/etc/hosts

  install -m 600 "$cfg/ssh_host_ed25519_key" /etc/ssh/ssh_host_ed25519_key
  install -m 644 "$cfg/ssh_host_ed25519_key.pub" /etc/ssh/ssh_host_ed25519_key.pub
  install -m 644 "$cfg/sshd.conf" /etc/ssh/sshd_config.d/docker-mcp.conf
  install -d -m 700 /root/.ssh
  install -m 600 "$cfg/authorized_keys" /root/.ssh/authorized_keys

  if [ "$LOGIN_USER" != root ]; then
    id "$LOGIN_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$LOGIN_USER"
    usermod --shell /bin/sh -a -G docker "$LOGIN_USER"
    home=$(getent passwd "$LOGIN_USER" | cut -d: -f6)
    install -d -m 700 -o "$LOGIN_USER" -g "$LOGIN_USER" "$home/.ssh"
    install -m 600 -o "$LOGIN_USER" -g "$LOGIN_USER" "$cfg/authorized_keys" "$home/.ssh/authorized_keys"
    if [ "$LOGIN_SUDO" = yes ]; then
      # Every command of the tool runs through sudo here. Logging each one to
      # the journal cost a third of sudo's emulated CPU (measured, 20 runs):
      # the testbed's sudo does not log what it allows; refusals still are.
      printf '%s ALL=(root) NOPASSWD: ALL\nDefaults:%s !log_allowed\n' "$LOGIN_USER" "$LOGIN_USER" >/etc/sudoers.d/docker-mcp
      chmod 440 /etc/sudoers.d/docker-mcp
    fi
  fi

  # No standing trust between the guests, as between a user's hosts: the
  # direct route works only with a migration's own key. Earlier testbeds put
  # the controller's identity here; it goes.
  rm -rf "$TESTBED_DIR"

  modprobe zfs
  if ! zpool list -H -o name "$POOL" >/dev/null 2>&1; then
    if ! zpool import -f "$POOL" >/dev/null 2>&1; then
      zpool create -f -o ashift=12 -O xattr=sa -O acltype=posixacl -O compression=lz4 \
        -O mountpoint="$POOL_MOUNTPOINT" "$POOL" /dev/vdb
    fi
  fi
  if ! zfs list -H -o name "$DATASET" >/dev/null 2>&1; then
    if [ -n "$DATASET_MOUNTPOINT" ]; then
      zfs create -o mountpoint="$DATASET_MOUNTPOINT" "$DATASET"
    else
      zfs create "$DATASET"
    fi
  fi
  zfs mount -a
  mkdir -p "$COMPOSE"
  chown "$LOGIN_USER" "$COMPOSE"
}

late() {
  # The testbed's one image, made from the guest's static busybox (no registry is reachable).
  if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    root=$(mktemp -d)
    mkdir -p "$root/bin" "$root/tmp" "$root/data" "$root/etc"
    cp /bin/busybox "$root/bin/busybox"
    # One process for the ~270 links: an ln each made this step 23 s of a boot under emulation, now 7 s.
    /bin/busybox --list | python3 -c 'import os, sys
for applet in sys.stdin.read().split():
    if applet != "busybox": os.symlink("busybox", os.path.join(sys.argv[1], applet))' "$root/bin"
    tar -C "$root" -cf - . | docker import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$IMAGE" >/dev/null
    rm -rf "$root"
  fi
  touch /run/docker-mcp-ready
}

case "$1" in
  early) early ;;
  late) late ;;
  *) echo "usage: $0 early|late" >&2; exit 2 ;;
esac
`;
