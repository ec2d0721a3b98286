#!/usr/bin/env bats
# ctrbox images: the records in the store, lock-free, as a table, JSON or IDs.

setup() {
	load ../helpers
	sandbox
}

@test "images: an empty store lists only the heading" {
	ctrbox images
	assert_success
	assert_output --regexp '^REPOSITORY +TAG +IMAGE ID +PLATFORM +CREATED +SIZE +UNPACKED$'
	ctrbox images --format json
	assert_success
	assert_output "[]"
}

@test "images: a pulled image shows repository, tag, a 12-digit ID and its platform" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	assert_success
	ctrbox images
	assert_success
	assert_line --index 1 --regexp "^$REGISTRY/ctrbox/busybox +latest +[0-9a-f]{12} +linux/"
	ctrbox images --format json
	id=$(jq -r '.[0].id' <<<"$output")
	ctrbox images -q
	assert_output "$id"
	ctrbox images --digests
	assert_line --index 0 --regexp "DIGEST"
	ctrbox images "$REGISTRY/ctrbox/busybox"
	assert_equal "${#lines[@]}" 2
	ctrbox images "$REGISTRY/ctrbox/other"
	assert_equal "${#lines[@]}" 1
}

@test "images: an image pulled by digest has the tag <none>" {
	skopeo inspect --raw --tls-verify=false "docker://$BUSYBOX_IMAGE" >"$BATS_TEST_TMPDIR/raw"
	d=$(sha256sum "$BATS_TEST_TMPDIR/raw" | cut -d' ' -f1)
	ctrbox pull -q --plain-http "$REGISTRY/ctrbox/busybox@sha256:$d"
	assert_success
	ctrbox images --format json
	assert_equal "$(jq -r '.[0].tag' <<<"$output")" "<none>"
	assert_equal "$(jq -r '.[0].digest' <<<"$output")" "sha256:$d"
}

@test "images: an unreadable record is reported and the rest are listed" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	echo '{"name": 5' >"$CTRBOX_ROOT/images/broken.json"
	ctrbox images
	assert_failure 1
	[[ $stderr == *"1 record(s) cannot be read"* ]] || fail "$stderr"
	assert_line --partial "ctrbox/busybox"
}

@test "images: extra arguments are a usage error" {
	ctrbox images a b
	assert_failure 2
}

@test "images: UNPACKED shows the snapshots' size once the image is unpacked" {
	ctrbox pull -q --plain-http --no-unpack "$BUSYBOX_IMAGE"
	ctrbox images --format json
	assert_equal "$(jq -r '.[0].unpacked' <<<"$output")" "-"
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	ctrbox images --format json
	[ "$(jq -r '.[0].unpacked_bytes' <<<"$output")" -gt 1000000 ]
	[[ $(jq -r '.[0].unpacked' <<<"$output") == *MB ]]
}
