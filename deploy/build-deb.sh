#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# make deb: builds .output/deb/greywall_VERSION_ARCH.deb with
# dpkg-buildpackage (-us -uc -b) in a copy of the tree under .output/deb/,
# so the source tree stays clean. The packaging files are deploy/debian/,
# copied to debian/ there; the version comes from the file VERSION (the
# changelog is written from it, dated as the last commit), the
# Build-Depends from the Makefile's BUILD_DEPS (the argument list).
# DEB_BUILD_OPTIONS is passed on (default "parallel=<CPUs> nocheck").
# The build's output goes to .output/deb/build.log; its tail is printed
# when it fails.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(cat "$top/VERSION")
case "$version" in
'' | *[!0-9A-Za-z.+~-]*)
	echo "build-deb.sh: VERSION '$version' is not a Debian version" >&2
	exit 1
	;;
esac
out=$top/.output/deb
src=$out/greywall-$version
rm -rf "$out"
mkdir -p "$src"

# The tree as it is, uncommitted changes too, without what a build made.
tar -C "$top" --exclude=./.output --exclude=./.git --exclude=./greywalld \
	--exclude=./greywallctl -cf - . | tar -C "$src" -xf -
cp -R "$top/deploy/debian" "$src/debian"
build_depends=$(echo "$*" | sed 's/ \+/, /g')
sed -i "s/@BUILD_DEPS@/$build_depends/" "$src/debian/control"

# dpkg-buildpackage dates the build (SOURCE_DATE_EPOCH) from the changelog:
# the last commit's date keeps two builds of one commit alike.
date=$(git -C "$top" log -1 --format=%aD 2>/dev/null || date -R)
maintainer=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
cat >"$src/debian/changelog" <<EOF
greywall ($version) unstable; urgency=medium

  * greywall $version, built from the source tree by make deb.

 -- $maintainer  $date
EOF

log=$out/build.log
echo "  DEB     $out (log: $log)"
if ! (cd "$src" && DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc) nocheck} \
	dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
	tail -40 "$log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed (all of it in $log)" >&2
	exit 1
fi
deb=$(ls "$out"/greywall_"$version"_*.deb)
echo "  DEB     ${deb#"$top"/}"
