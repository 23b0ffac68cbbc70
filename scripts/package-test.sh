#!/usr/bin/env bash
# Release checks (run by scripts/test.sh; needs root for the throwaway root):
#  1. build the release with a throwaway ed25519 key; verify SHA256SUMS and
#     its signature with sha256sum and ssh-keygen -Y verify, and the SBOM;
#  2. lintian (no errors) on the .debs, rpm -qpi/-qpl on the .rpms;
#  3. systemd-analyze verify and security (exposure <= 2.0) on the unit;
#  4. reproducibility: a second build from a copy of the tree elsewhere with
#     an empty Go build cache (beside 5.) gives identical binaries and packages;
#  5. in a minimal Debian made by debootstrap: install, edit the config,
#     start the service's command as user xdr, upgrade to a higher version,
#     remove (data kept), purge (data gone); then the .rpm's scriptlets with
#     rpm --root in the same root.
# KEEP=1 keeps the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d /tmp/xdr-package-test.XXXXXX)
chroot_dir=$work/root
cleanup() {
  wait || true # the background build and debootstrap write into $work
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

step() { printf '\n== package test: %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_stat PATH MODE OWNER:GROUP (inside the throwaway root)
expect_stat() {
  local got
  got=$(in_root stat -c '%a %U:%G' "$1" 2>/dev/null) || fail "$1 is missing"
  [ "$got" = "$2 $3" ] || fail "$1 is $got, want $2 $3"
}
in_root() { chroot "$chroot_dir" "$@"; }

step "tools"
need=()
for tool in lintian:lintian rpm:rpm debootstrap:debootstrap systemd-analyze:systemd ssh-keygen:openssh-client; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

step "packaging program"
go -C packaging vet ./...
go -C packaging test -count=1 ./...

# The throwaway root downloads while the release builds.
step "debootstrap a minimal Debian (in the background)"
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || fail "no Debian mirror in the apt sources"
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
(time debootstrap --variant=minbase "$suite" "$chroot_dir" "$mirror") >"$work/debootstrap.log" 2>&1 &
debootstrap_pid=$!

step "build the release (signed with a throwaway key)"
ssh-keygen -q -t ed25519 -N '' -C release@test -f "$work/release-key"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
VERSION=${VERSION:-$(bash scripts/version.sh)}
COMMIT=$(git rev-parse HEAD)
export VERSION COMMIT
start=$SECONDS
XDR_SIGNING_KEY=$work/release-key DIST=dist bash scripts/package.sh
echo "release built in $((SECONDS - start)) s"
deb=$(ls dist/xdr_*_amd64.deb)

step "checksums, signature, SBOM"
(cd dist && sha256sum --check --strict SHA256SUMS)
[ "$(wc -l <dist/SHA256SUMS)" -eq 5 ] || fail "SHA256SUMS should list 4 packages and the SBOM"
echo "release@test namespaces=\"xdr-release\" $(cat "$work/release-key.pub")" >"$work/allowed_signers"
ssh-keygen -Y verify -f "$work/allowed_signers" -I release@test -n xdr-release -s dist/SHA256SUMS.sig <dist/SHA256SUMS
sed 's/^./0/' dist/SHA256SUMS >"$work/SHA256SUMS.tampered"
if ssh-keygen -Y verify -f "$work/allowed_signers" -I release@test -n xdr-release -s dist/SHA256SUMS.sig <"$work/SHA256SUMS.tampered" 2>/dev/null; then
  fail "a tampered SHA256SUMS verified"
fi
go -C packaging run . check-sbom -sbom "$root/dist/xdr_$VERSION.cdx.json" -binary "$root/dist/build/linux_amd64/xdr"

step "lintian"
lintian --fail-on error --tag-display-limit 0 dist/*.deb

step "rpm -qpi / -qpl"
for r in dist/*.rpm; do
  rpm -qpi "$r"
  files=$(rpm -qpl "$r")
  echo "$files"
  for f in /usr/bin/xdr /etc/xdr/xdr.toml /usr/lib/systemd/system/xdr.service /usr/share/doc/xdr/third-party-licenses.txt; do
    grep -qx "$f" <<<"$files" || fail "$r lacks $f"
  done
  rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' "$r" |
    grep -qx 'cn -rw-r----- root:xdr /etc/xdr/xdr.toml' || fail "$r: /etc/xdr/xdr.toml is not a noreplace config 0640 root:xdr"
  rpm -qp --scripts "$r" | grep -q 'useradd --system' || fail "$r: no %pre creating the xdr user"
done

step "systemd unit"
# verify needs ExecStart to exist: check a copy pointing at the built binary.
sed "s#^ExecStart=/usr/bin/xdr #ExecStart=$root/dist/build/linux_amd64/xdr #" systemd/xdr.service >"$work/xdr.service"
systemd-analyze verify "$work/xdr.service" 2>"$work/verify.err" || { cat "$work/verify.err"; fail "systemd-analyze verify"; }
[ ! -s "$work/verify.err" ] || { cat "$work/verify.err"; fail "systemd-analyze verify warned"; }
systemd-analyze security --offline=true systemd/xdr.service | tail -3
exposure=$(systemd-analyze security --offline=true systemd/xdr.service | sed -n 's/.*Overall exposure level for xdr.service: \([0-9.]*\).*/\1/p')
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }' || fail "exposure $exposure, want <= 2.0"
systemd-analyze security --offline=true --threshold=20 systemd/xdr.service >/dev/null

# The second build runs beside the checks below; it is compared at the end.
step "reproducible: build again elsewhere with an empty build cache (in the background)"
mkdir -p "$work/tree"
git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$work/tree"
(
  start=$SECONDS
  cd "$work/tree" && GOCACHE=$work/gocache DIST=$work/dist2 bash scripts/package.sh >/dev/null
  echo "second build in $((SECONDS - start)) s"
) >"$work/rebuild.log" 2>&1 &
rebuild_pid=$!

step "a higher version for the upgrade"
upgrade_version=$VERSION.1
(VERSION=$upgrade_version DIST=$work/dist-up bash scripts/package.sh >/dev/null)
deb_up=$(ls "$work"/dist-up/xdr_*_amd64.deb)
dpkg --compare-versions "$(dpkg-deb -f "$deb_up" Version)" gt "$(dpkg-deb -f "$deb" Version)" || fail "upgrade version is not higher"

step "throwaway root"
wait "$debootstrap_pid" || { cat "$work/debootstrap.log"; fail "debootstrap"; }
tail -3 "$work/debootstrap.log"
cp "$deb" "$chroot_dir/tmp/xdr.deb"
cp "$deb_up" "$chroot_dir/tmp/xdr-up.deb"

step "install"
in_root dpkg -i /tmp/xdr.deb
expect_stat /usr/bin/xdr 755 root:root
expect_stat /etc/xdr/xdr.toml 640 root:xdr
expect_stat /var/lib/xdr 750 xdr:xdr
expect_stat /usr/lib/systemd/system/xdr.service 644 root:root
expect_stat /usr/share/doc/xdr/copyright 644 root:root
expect_stat /usr/share/doc/xdr/changelog.Debian.gz 644 root:root
[ -L "$chroot_dir/etc/systemd/system/multi-user.target.wants/xdr.service" ] || fail "the service is not enabled"
in_root dpkg-query -W -f='${Conffiles}\n' xdr | grep -q '/etc/xdr/xdr.toml' || fail "xdr.toml is not a conffile"
in_root getent passwd xdr | grep -q ':/var/lib/xdr:/usr/sbin/nologin$' || fail "user xdr: $(in_root getent passwd xdr)"
uid=$(in_root id -u xdr)
[ "$uid" -lt 1000 ] || fail "user xdr has uid $uid: not a system user"
in_root /usr/bin/xdr config example --data-dir /var/lib/xdr | cmp - "$chroot_dir/etc/xdr/xdr.toml" ||
  fail "/etc/xdr/xdr.toml is not the installed binary's config example"
in_root /usr/bin/xdr version | tee "$work/version.txt"
grep -q "^xdr $VERSION (commit $COMMIT, built " "$work/version.txt" || fail "xdr version: $(cat "$work/version.txt")"

step "the service's command runs as xdr with the packaged config"
# In its own network namespace: no port clashes with anything on the host.
sed -i 's/^# log_level = "info"$/log_level = "warn"/' "$chroot_dir/etc/xdr/xdr.toml"
grep -qx 'log_level = "warn"' "$chroot_dir/etc/xdr/xdr.toml" || fail "could not edit the config"
unshare --net sh -c "ip link set lo up && exec chroot --userspec=xdr:xdr '$chroot_dir' /usr/bin/xdr serve --config /etc/xdr/xdr.toml" >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 600); do
  grep -q 'Mini-XDR is running' "$work/serve.log" && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log"; fail "xdr serve exited"; }
  sleep 0.1
done
grep -q 'Mini-XDR is running' "$work/serve.log" || { cat "$work/serve.log"; fail "xdr serve did not start in 60 s"; }
kill -TERM "$serve_pid"
wait "$serve_pid" || { cat "$work/serve.log"; fail "xdr serve did not stop cleanly"; }
if grep -q '"level":"INFO"' "$work/serve.log"; then fail "log_level = \"warn\" from the config was not applied"; fi
expect_stat /var/lib/xdr/node-id 600 xdr:xdr
expect_stat /var/lib/xdr/initial-admin-password 600 xdr:xdr

step "upgrade keeps config edits and data"
in_root dpkg -i /tmp/xdr-up.deb
grep -qx 'log_level = "warn"' "$chroot_dir/etc/xdr/xdr.toml" || fail "the config edit was lost on upgrade"
[ ! -e "$chroot_dir/etc/xdr/xdr.toml.dpkg-new" ] || fail "upgrade left xdr.toml.dpkg-new"
expect_stat /etc/xdr/xdr.toml 640 root:xdr
expect_stat /var/lib/xdr 750 xdr:xdr
expect_stat /var/lib/xdr/node-id 600 xdr:xdr
in_root /usr/bin/xdr version | grep -q "^xdr $upgrade_version " || fail "after upgrade: $(in_root /usr/bin/xdr version)"

step "remove keeps data and config"
in_root dpkg -r xdr
[ ! -e "$chroot_dir/usr/bin/xdr" ] || fail "/usr/bin/xdr left after remove"
expect_stat /var/lib/xdr/node-id 600 xdr:xdr
grep -qx 'log_level = "warn"' "$chroot_dir/etc/xdr/xdr.toml" || fail "remove lost the config"

step "purge removes data and config"
in_root dpkg -P xdr
for p in /var/lib/xdr /etc/xdr /usr/lib/systemd/system/xdr.service /etc/systemd/system/multi-user.target.wants/xdr.service; do
  [ ! -e "$chroot_dir$p" ] || fail "$p left after purge"
done
if in_root dpkg -s xdr >/dev/null 2>&1; then fail "xdr still installed after purge"; fi

step "rpm scriptlets (rpm --root in the same root)"
in_root userdel xdr
in_root groupdel xdr 2>/dev/null || true
rpm_file=$(ls dist/xdr-*.x86_64.rpm)
rpm_up=$(ls "$work"/dist-up/xdr-*.x86_64.rpm)
rpm --root "$chroot_dir" --initdb
rpm --root "$chroot_dir" --nodeps -i "$rpm_file"
expect_stat /usr/bin/xdr 755 root:root
expect_stat /etc/xdr/xdr.toml 640 root:xdr
expect_stat /var/lib/xdr 750 xdr:xdr
echo '# edited' >>"$chroot_dir/etc/xdr/xdr.toml"
rpm --root "$chroot_dir" --nodeps -U "$rpm_up"
grep -qx '# edited' "$chroot_dir/etc/xdr/xdr.toml" || fail "rpm upgrade replaced the edited config"
in_root /usr/bin/xdr version | grep -q "^xdr $upgrade_version " || fail "after rpm upgrade: $(in_root /usr/bin/xdr version)"
rpm --root "$chroot_dir" --nodeps -e xdr
[ ! -e "$chroot_dir/usr/bin/xdr" ] || fail "/usr/bin/xdr left after rpm -e"
expect_stat /var/lib/xdr 750 xdr:xdr

step "reproducible: compare the two builds"
wait "$rebuild_pid" || { cat "$work/rebuild.log"; fail "second build"; }
cat "$work/rebuild.log"
for b in linux_amd64/xdr linux_arm64/xdr xdr.toml; do
  cmp "dist/build/$b" "$work/dist2/build/$b" || fail "$b differs between two builds"
done
diff dist/SHA256SUMS "$work/dist2/SHA256SUMS" || fail "packages differ between two builds"
sha256sum dist/build/linux_*/xdr
cat dist/SHA256SUMS

echo
echo "package test: all checks passed"
