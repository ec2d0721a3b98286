#!/usr/bin/env bats
# ctrbox rmi: records removed by name or ID prefix, images in use refused, blobs collected.

setup() {
	load ../helpers
	sandbox
}

blobs() { find "$CTRBOX_ROOT/content/blobs/sha256" -type f | wc -l; }

@test "rmi: by name removes the record and the blobs only it used" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE" "$LAYERS_IMAGE"
	assert_success
	before=$(blobs)
	ctrbox rmi "$LAYERS_IMAGE"
	assert_success
	assert_line "Untagged: $LAYERS_IMAGE"
	assert_line --partial "Deleted: sha256:"
	# The busybox layer is shared by both images and stays.
	[ "$(blobs)" -lt "$before" ]
	ctrbox images -q
	assert_equal "${#lines[@]}" 1
	run jq -r 'select(.reason == "Removed") | .object.name' "$CTRBOX_ROOT/events/journal.jsonl"
	assert_output "$LAYERS_IMAGE"
}

@test "rmi: by a unique ID prefix; an unknown image fails and the others still go" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	ctrbox images -q
	id=$output
	ctrbox rmi nosuch/image "${id:7:8}"
	assert_failure 1
	[[ $stderr == "ctrbox rmi: nosuch/image: no such image" ]] || fail "$stderr"
	ctrbox images -q
	assert_output ""
	assert_equal "$(blobs)" 0
}

@test "rmi: an image a container uses is refused without -f" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	assert_success
	digest=$output
	id=$(printf 'c%.0s' {1..64})
	mkdir -p "$CTRBOX_ROOT/containers/$id"
	printf '{"id":"%s","name":"web","image":"%s","image_digest":"%s","created":"2026-11-29T10:00:00Z"}' \
		"$id" "$BUSYBOX_IMAGE" "$digest" >"$CTRBOX_ROOT/containers/$id/container.json"
	ctrbox rmi "$BUSYBOX_IMAGE"
	assert_failure 1
	[[ $stderr == *"in use by container web"* ]] || fail "$stderr"
	ctrbox rmi -f "$BUSYBOX_IMAGE"
	assert_success
}

@test "rmi: no argument is a usage error" {
	ctrbox rmi
	assert_failure 2
}
