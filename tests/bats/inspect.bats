#!/usr/bin/env bats
# ctrbox inspect: containers (records, state, paths) and images (record, manifest, config) as
# one JSON array; a name that is both is the container unless --type says otherwise.

setup() {
	load ../helpers
	load ../handmade
	sandbox
	ID=$(fake_id web)
}

teardown() {
	kill_inits
	remove_all
}

@test "inspect: an unknown name fails with the exact message and prints an empty array" {
	ctrbox inspect nosuch
	assert_failure 1
	assert_equal "$stderr" "ctrbox inspect: nosuch: no such container or image"
	assert_output "[]"
	ctrbox inspect --type container nosuch
	assert_failure 1
	assert_equal "$stderr" "ctrbox inspect: nosuch: no such container"
	ctrbox inspect --type volume x
	assert_failure 2
	ctrbox inspect
	assert_failure 2
}

@test "inspect: a container's records, live state and paths" {
	start_init
	fake_container "$ID" web "$INIT_PID"
	ctrbox inspect web
	assert_success
	run jq -r '.[0] | [.type, .id, .name, .image, (.command | join(" ")), .state.status,
		(.state.pid | tostring), (.state.running | tostring), .config_path, .log_path] | .[]' \
		<<<"$output"
	assert_output "$(printf '%s\n' container "$ID" web busybox "sleep 1000" running "$INIT_PID" \
		true "$CTRBOX_ROOT/containers/$ID/config.json" "$CTRBOX_ROOT/containers/$ID/log")"
	# Its init gone, the record still says running but running is false.
	kill -9 "$INIT_PID"
	wait "$INIT_PID" || true
	ctrbox inspect "${ID:0:5}"
	assert_equal "$(jq '.[0].state.running' <<<"$output")" false
}

@test "inspect: several names, one missing: the others are printed, exit 1" {
	fake_container "$ID" web 0 exited
	other=$(fake_id db)
	fake_container "$other" db 0 created
	rm -r "$CTRBOX_STATE/containers/$other"
	ctrbox inspect db nosuch web
	assert_failure 1
	assert_equal "$(jq -r '.[] | .name + " " + (.state.status // "null")' <<<"$output")" \
		"$(printf 'db null\nweb exited')"
}

@test "inspect: an image's record, manifest and config; a container of the same name wins" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	assert_success
	ctrbox inspect "$BUSYBOX_IMAGE"
	assert_success
	run jq -r '.[0] | [.type, .name, (.manifest.layers | length > 0 | tostring),
		.config.rootfs.type, (.id | startswith("sha256:") | tostring)] | .[]' <<<"$output"
	assert_output "$(printf '%s\n' image "$BUSYBOX_IMAGE" true layers true)"
	ctrbox images -q --no-trunc
	imgid=$output
	ctrbox inspect "${imgid:7:10}"
	assert_success
	assert_equal "$(jq -r '.[0].name' <<<"$output")" "$BUSYBOX_IMAGE"
	fake_container "$ID" "${imgid:7:10}" 0 exited
	ctrbox inspect "${imgid:7:10}"
	assert_equal "$(jq -r '.[0].type' <<<"$output")" container
	ctrbox inspect --type image "${imgid:7:10}"
	assert_equal "$(jq -r '.[0].type' <<<"$output")" image
}

@test "inspect: a real container: its config.json, image digest and live state" {
	real_container t1 sh -c 'exec sleep 1000'
	ctrbox inspect t1
	assert_success
	run jq -r '.[0] | [.id, .state.status, (.state.running | tostring),
		(.state.shim_pid > 0 | tostring), (.image_digest | startswith("sha256:") | tostring),
		.config_path] | .[]' <<<"$output"
	assert_output "$(printf '%s\n' "$CID" running true true true \
		"$CTRBOX_ROOT/containers/$CID/config.json")"
	jq -e .ociVersion "$CTRBOX_ROOT/containers/$CID/config.json"
	ctrbox kill t1
	retry 50 0.1 container_status_is "$CID" exited
	ctrbox inspect t1
	assert_equal "$(jq -r '.[0].state | [.status, .running, .exit_code] | join(" ")' <<<"$output")" \
		"exited false 137"
}
