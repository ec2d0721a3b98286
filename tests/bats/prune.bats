#!/usr/bin/env bats
# ctrbox prune: unreferenced blobs and abandoned partial downloads go; referenced ones stay.

setup() {
	load ../helpers
	sandbox
}

@test "prune: removes what no image reaches, keeps what one does" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	assert_success
	kept=$(find "$CTRBOX_ROOT/content/blobs/sha256" -type f | sort)
	printf 'orphan' >"$CTRBOX_ROOT/content/blobs/sha256/$(printf 'orphan' | sha256sum | cut -d' ' -f1)"
	printf 'partial' >"$CTRBOX_ROOT/content/ingest/sha256-$(printf 'x' | sha256sum | cut -d' ' -f1)"
	ctrbox prune --dry-run --format json
	assert_success
	assert_equal "$(jq length <<<"$output")" 2
	assert_equal "$(find "$CTRBOX_ROOT/content/ingest" -type f ! -name '*.lock' | wc -l)" 1
	ctrbox prune --keep-partial -q
	assert_success
	assert_output "sha256:$(printf 'orphan' | sha256sum | cut -d' ' -f1)"
	ctrbox prune
	assert_success
	assert_line --partial "content/ingest/sha256-"
	assert_equal "$(find "$CTRBOX_ROOT/content/blobs/sha256" -type f | sort)" "$kept"
	# The image is still whole: pulling again fetches nothing.
	ctrbox pull --format json --plain-http "$BUSYBOX_IMAGE"
	[ "$(jq -r '.[0].fetched_bytes' <<<"$output")" -lt 10000 ]
}

@test "prune: refuses while a pull holds the lease, without waiting" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	exec 9>"$CTRBOX_ROOT/content/gc.lock"
	flock -s 9
	ctrbox prune
	exec 9>&-
	assert_failure 1
	assert_equal "$stderr" "ctrbox prune: a pull is in progress; try again when it is done"
}

@test "prune: an unreadable image record stops the collection" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	echo 'not json' >"$CTRBOX_ROOT/images/broken.json"
	n=$(find "$CTRBOX_ROOT/content/blobs" -type f | wc -l)
	ctrbox prune
	assert_failure 1
	[[ $stderr == *"cannot be read; not collecting"* ]] || fail "$stderr"
	assert_equal "$(find "$CTRBOX_ROOT/content/blobs" -type f | wc -l)" "$n"
}

@test "prune: arguments are a usage error" {
	ctrbox prune something
	assert_failure 2
}

@test "prune: snapshots no image uses go, an image's stay; rmi takes its snapshots with it" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE" "$LAYERS_IMAGE"
	assert_success
	all=$(find "$CTRBOX_ROOT/snapshots/chains" -type f ! -name '*.lock' | wc -l)
	rm "$CTRBOX_ROOT/images/"*layers*.json
	ctrbox prune --keep-partial --format json
	assert_success
	removed=$(jq '[.[] | select(.kind == "snapshot")] | length' <<<"$output")
	[ "$removed" -gt 0 ]
	assert_equal "$(find "$CTRBOX_ROOT/snapshots/chains" -type f ! -name '*.lock' | wc -l)" "$((all - removed))"
	ctrbox rmi "$BUSYBOX_IMAGE"
	assert_success
	assert_equal "$(find "$CTRBOX_ROOT/snapshots" -mindepth 1 -maxdepth 1 -name '[0-9]*' | wc -l)" 0
}
