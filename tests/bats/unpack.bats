#!/usr/bin/env bats
# ctrbox unpack: layers into snapshots reused across images, the overlay of the snapshots (mounted
# in a private mount namespace) and the flattened rootfs both identical to `umoci unpack` of the
# same fixture, --verify rebuilding a damaged snapshot, a bundle runc can run, and clear errors.

setup() {
	load ../helpers
	sandbox
}

# Pulls the fixture layout's TAG into the store without unpacking; prints nothing.
pull_fixture() {
	ctrbox pull -q --no-unpack "oci:$CTRBOX_FIXTURES/oci:$1"
	assert_success
}

# The snapshot numbers of IMAGE, bottom first, from `unpack --format json`.
snapshots_of() {
	"$CTRBOX_BIN" unpack --format json "$1" | jq -r '.[0].snapshots[]'
}

# tree_list DIR: one line per object below DIR with what the comparison covers: name, type,
# mode, owner, size and content hash of files, symlink target, device numbers.
tree_list() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 -printf '%P|%y|%m|%U:%G|%l\n' | LC_ALL=C sort
		find . -mindepth 1 -type f -printf '%P|%s\n' | LC_ALL=C sort
		find . -mindepth 1 -type f -print0 | xargs -0r sha256sum | LC_ALL=C sort -k2
		find . -mindepth 1 \( -type c -o -type b \) -exec stat -c '%n|%t:%T' {} + | LC_ALL=C sort
		# xattrs, but not overlay's own (the merged view hides them anyway)
		python3 -c 'import os, sys
for root, dirs, files in os.walk("."):
    for n in sorted(dirs + files):
        p = os.path.join(root, n)
        for a in sorted(os.listxattr(p, follow_symlinks=False)):
            if not a.startswith("trusted.overlay."):
                print(p, a, os.getxattr(p, a, follow_symlinks=False).hex())' | LC_ALL=C sort
	)
}

# overlay_list IMAGE OUT: mounts the image's snapshots as one overlay in a private mount
# namespace and lists it into OUT.
overlay_list() {
	local lower= n t=$BATS_TEST_TMPDIR/ovl
	for n in $(snapshots_of "$1"); do
		lower=$CTRBOX_ROOT/snapshots/$n/fs${lower:+:$lower}
	done
	# An empty upper (the kernel wants one, or two lowers); the listing reads only.
	rm -rf "$t" && mkdir -p "$t/merged" "$t/upper" "$t/work"
	unshare -m bash -c "mount -t overlay overlay -o 'lowerdir=$lower,upperdir=$t/upper,workdir=$t/work' '$t/merged' &&
		$(declare -f tree_list); tree_list '$t/merged'" >"$2"
}

umoci_list() {
	umoci unpack --image "$(umoci_image "$1")" "$BATS_TEST_TMPDIR/umoci-$1" >/dev/null
	tree_list "$BATS_TEST_TMPDIR/umoci-$1/rootfs" >"$2"
}

# The layout:tag umoci unpacks for a fixture. umoci takes no index, so for "multi" a copy of the
# layout (blobs hardlinked) tags the host's manifest, the one ctrbox pull picks.
umoci_image() {
	local lay=$CTRBOX_FIXTURES/oci idx arch
	if [ "$1" != multi ]; then
		echo "$lay:$1"
		return
	fi
	arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
	idx=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "multi") | .digest' \
		"$lay/index.json")
	mkdir -p "$BATS_TEST_TMPDIR/multi-layout/blobs"
	cp -al "$lay/blobs/sha256" "$BATS_TEST_TMPDIR/multi-layout/blobs/"
	cp "$lay/oci-layout" "$BATS_TEST_TMPDIR/multi-layout/"
	jq --arg a "$arch" '{schemaVersion: 2, manifests: [.manifests[] | select(.platform.architecture == $a)
		| .annotations = {"org.opencontainers.image.ref.name": "multi"}]}' \
		"$lay/blobs/sha256/${idx#sha256:}" >"$BATS_TEST_TMPDIR/multi-layout/index.json"
	echo "$BATS_TEST_TMPDIR/multi-layout:multi"
}

@test "unpack: layers into snapshots, shared layers reused, events journaled" {
	requires root
	pull_fixture busybox
	pull_fixture layers
	ctrbox unpack --format json localhost/oci:busybox
	assert_success
	assert_equal "$(jq -r '.[0].layers, .[0].reused' <<<"$output" | tr '\n' ' ')" "1 0 "
	ctrbox unpack --format json localhost/oci:layers
	assert_success
	n=$(jq -r '.[0].layers' <<<"$output")
	# The layers image starts with the busybox layer: that snapshot is reused.
	assert_equal "$(jq -r '.[0].reused' <<<"$output")" 1
	assert_equal "$(find "$CTRBOX_ROOT/snapshots" -mindepth 1 -maxdepth 1 -name '[1-9]*' | wc -l)" "$n"
	ctrbox unpack --format json localhost/oci:layers
	assert_equal "$(jq -r '.[0].reused' <<<"$output")" "$n"
	run jq -r 'select(.reason == "Unpacked") | .object.name' "$CTRBOX_ROOT/events/journal.jsonl"
	assert_line localhost/oci:layers
	# meta.json says what each snapshot is.
	run jq -r .diff_id "$CTRBOX_ROOT/snapshots/1/meta.json"
	assert_output --regexp '^sha256:[0-9a-f]{64}$'
}

@test "unpack: the overlay of the snapshots equals umoci unpack, for every fixture image" {
	requires root
	requires cmd umoci unshare
	for img in busybox layers multi; do
		pull_fixture "$img"
		overlay_list "localhost/oci:$img" "$BATS_TEST_TMPDIR/ours-$img"
		umoci_list "$img" "$BATS_TEST_TMPDIR/umoci-$img.list"
		[ -s "$BATS_TEST_TMPDIR/ours-$img" ] || fail "empty listing for $img"
		run diff -u "$BATS_TEST_TMPDIR/umoci-$img.list" "$BATS_TEST_TMPDIR/ours-$img"
		assert_success
	done
}

@test "unpack --to: the flattened rootfs equals umoci unpack" {
	requires root
	requires cmd umoci
	pull_fixture layers
	ctrbox unpack --to "$BATS_TEST_TMPDIR/flat" localhost/oci:layers
	assert_success
	tree_list "$BATS_TEST_TMPDIR/flat" >"$BATS_TEST_TMPDIR/ours"
	umoci_list layers "$BATS_TEST_TMPDIR/theirs"
	run diff -u "$BATS_TEST_TMPDIR/theirs" "$BATS_TEST_TMPDIR/ours"
	assert_success
	# No snapshots in this mode.
	[ ! -e "$CTRBOX_ROOT/snapshots/1" ]
}

@test "unpack --bundle: a config.json from the image config that runc runs" {
	requires root
	pull_fixture busybox
	ctrbox unpack --bundle "$BATS_TEST_TMPDIR/b" localhost/oci:busybox
	assert_success
	run jq -r '.process.args[0], .root.path, .process.user.uid, .linux.namespaces[0].type' \
		"$BATS_TEST_TMPDIR/b/config.json"
	assert_output "$(printf 'sh\nrootfs\n0\npid')"
	[ -x "$BATS_TEST_TMPDIR/b/rootfs/bin/busybox" ]
	requires cmd runc
	jq '.process.args = ["/bin/echo", "hello from the bundle"]' "$BATS_TEST_TMPDIR/b/config.json" \
		>"$BATS_TEST_TMPDIR/c.json" && mv "$BATS_TEST_TMPDIR/c.json" "$BATS_TEST_TMPDIR/b/config.json"
	run runc --root "$BATS_TEST_TMPDIR/runc" run --bundle "$BATS_TEST_TMPDIR/b" "ctrbox-unpack-$$"
	assert_success
	assert_output --partial "hello from the bundle"
}

@test "unpack --verify: a damaged snapshot is found and rebuilt" {
	requires root
	pull_fixture busybox
	ctrbox unpack -q localhost/oci:busybox
	assert_success
	truncate -s 10 "$CTRBOX_ROOT/snapshots/1/fs/bin/busybox"
	ctrbox unpack --format json localhost/oci:busybox
	assert_equal "$(jq -r '.[0].rebuilt' <<<"$output")" 0 # without --verify: trusted
	ctrbox unpack --verify --format json localhost/oci:busybox
	assert_success
	assert_equal "$(jq -r '.[0].rebuilt' <<<"$output")" 1
	n=$(jq -r '.[0].snapshots[0]' <<<"$output")
	[ "$(stat -c %s "$CTRBOX_ROOT/snapshots/$n/fs/bin/busybox")" -gt 1000000 ]
	[ ! -e "$CTRBOX_ROOT/snapshots/1" ] || [ "$n" = 1 ]
}

@test "unpack: garbage left by a killed unpack is removed by the next one" {
	requires root
	pull_fixture busybox
	mkdir -p "$CTRBOX_ROOT/snapshots/41/fs/half" "$CTRBOX_ROOT/snapshots/42/fs"
	echo '{"chain_id":"sha256:'"$(printf 'a%.0s' {1..64})"'"}' >"$CTRBOX_ROOT/snapshots/42/meta.json"
	ctrbox unpack localhost/oci:busybox
	assert_success
	[ ! -e "$CTRBOX_ROOT/snapshots/41" ]
	[ ! -e "$CTRBOX_ROOT/snapshots/42" ]
}

@test "unpack: errors are clear and leave nothing behind" {
	pull_fixture busybox
	ctrbox unpack nosuch/image
	assert_failure 1
	assert_equal "$stderr" "ctrbox unpack: nosuch/image: no such image"
	ctrbox unpack
	assert_failure 2
	ctrbox unpack --to a --bundle b localhost/oci:busybox
	assert_failure 2
	ctrbox unpack --to "$BATS_TEST_TMPDIR/x" localhost/oci:busybox localhost/oci:busybox
	assert_failure 2
	mkdir -p "$BATS_TEST_TMPDIR/full" && touch "$BATS_TEST_TMPDIR/full/f"
	ctrbox unpack --to "$BATS_TEST_TMPDIR/full" localhost/oci:busybox
	assert_failure 1
	[[ $stderr == *"full: exists and is not empty" ]] || fail "$stderr"
	assert_equal "$(ls "$BATS_TEST_TMPDIR/full")" f
	ctrbox unpack -j 0 localhost/oci:busybox
	assert_failure 2
}

# hostile_image NAME PYTHON: an OCI layout DIR/NAME whose one layer is the tar that PYTHON (with
# f(name, data) and link(name, target) helpers) writes, committed with umoci; pulled into the store.
hostile_image() {
	local dir=$BATS_TEST_TMPDIR/hostile
	mkdir -p "$dir"
	python3 - "$dir/$1.tar" <<-EOF
		import io, sys, tarfile
		t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
		def f(name, data=b"x"):
		    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
		    t.addfile(ti, io.BytesIO(data))
		def link(name, target, kind=tarfile.LNKTYPE):
		    ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = target; t.addfile(ti)
		$2
		t.close()
	EOF
	[ -d "$dir/oci" ] || umoci init --layout "$dir/oci"
	umoci new --image "$dir/oci:$1"
	umoci raw add-layer --image "$dir/oci:$1" "$dir/$1.tar"
	ctrbox pull -q --no-unpack "oci:$dir/oci:$1"
	assert_success
}

@test "unpack: hostile layers are contained or refused, naming the entry, nothing outside changes" {
	requires root
	requires cmd umoci python3
	sentinel=$BATS_TEST_TMPDIR/sentinel
	echo keep >"$sentinel"
	hostile_image contained "f('../../../escaped', b'in'); f('$sentinel', b'pwned'); link('ln', '$sentinel', tarfile.SYMTYPE); f('ln', b'replaced')"
	ctrbox unpack --format json localhost/oci:contained
	assert_success
	n=$(jq -r '.[0].snapshots[0]' <<<"$output")
	[ "$(cat "$CTRBOX_ROOT/snapshots/$n/fs/escaped")" = in ]
	[ "$(cat "$CTRBOX_ROOT/snapshots/$n/fs$sentinel")" = pwned ]
	[ "$(cat "$CTRBOX_ROOT/snapshots/$n/fs/ln")" = replaced ]
	[ "$(cat "$sentinel")" = keep ]
	[ ! -e "$BATS_TEST_TMPDIR/escaped" ] && [ ! -e /escaped ]
	hostile_image via-symlink "link('up', '../../..', tarfile.SYMTYPE); f('up/via-up', b'x')"
	ctrbox unpack localhost/oci:via-symlink
	assert_failure 1
	[[ $stderr == *'entry "up/via-up": refused: parent up is a symlink'* ]] || fail "$stderr"
	[ ! -e /via-up ]
	hostile_image refused "f('a'); link('passwd', '../../../etc/passwd')"
	ctrbox unpack localhost/oci:refused
	assert_failure 1
	[[ $stderr == *'entry "passwd": refused: hardlink target "etc/passwd" is not in this layer'* ]] ||
		fail "$stderr"
	# Nothing of the refused images is visible; only the contained image's snapshot exists.
	assert_equal "$(find "$CTRBOX_ROOT/snapshots" -mindepth 1 -maxdepth 1 -name '[1-9]*' | wc -l)" 1
	run jq -r 'select(.reason == "Failed") | .type' "$CTRBOX_ROOT/events/journal.jsonl"
	assert_output "$(printf 'Warning\nWarning')"
}
