#!/usr/bin/env bats
# ctrbox rm: records, state, log and upper dir removed without following symlinks, a running
# container refused without -f; against hand-made records, then real containers.

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

@test "rm: an unknown container fails with the exact message" {
	ctrbox rm nosuch
	assert_failure 1
	assert_equal "$stderr" "ctrbox rm: nosuch: no such container"
	ctrbox rm
	assert_failure 2
}

@test "rm: a running container is refused without -f and left whole" {
	start_init
	fake_container "$ID" web "$INIT_PID"
	ctrbox rm web
	assert_failure 1
	assert_equal "$stderr" "ctrbox rm: web: container is running: stop it first, or use rm -f"
	[ -f "$CTRBOX_ROOT/containers/$ID/container.json" ]
	[ -f "$CTRBOX_STATE/containers/$ID/state.json" ]
	kill -0 "$INIT_PID"
}

@test "rm: -f kills and removes everything, following no symlink out of the upper dir" {
	start_init
	fake_container "$ID" web "$INIT_PID"
	dir=$CTRBOX_ROOT/containers/$ID
	mkdir -p "$dir/upper/etc" "$dir/work" "$SANDBOX/outside"
	echo keep >"$SANDBOX/outside/file"
	ln -s "$SANDBOX/outside" "$dir/upper/escape"
	ln -s "$SANDBOX/outside/file" "$dir/upper/etc/passwd"
	echo '{}' >"$dir/config.json"
	echo x >"$dir/log"
	echo x >"$dir/log.1"
	ctrbox rm -f web
	assert_success
	assert_output web
	rc=0
	wait "$INIT_PID" || rc=$?
	assert_equal "$rc" 137
	[ ! -e "$dir" ] && [ ! -e "$CTRBOX_STATE/containers/$ID" ]
	assert_equal "$(cat "$SANDBOX/outside/file")" keep
	run jq -r 'select(.reason == "Removed") | .object.id + " " + .object.name' \
		"$CTRBOX_ROOT/events/journal.jsonl"
	assert_output "$ID web"
	ctrbox rm web
	assert_failure 1
}

@test "rm: an exited container goes without -f, also with its state gone (a reboot)" {
	fake_container "$ID" web 0 exited
	other=$(fake_id db)
	fake_container "$other" db 0 exited
	rm -r "$CTRBOX_STATE/containers/$other"
	ctrbox rm "${ID:0:6}" db
	assert_success
	assert_line "${ID:0:6}"
	assert_line db
	[ ! -e "$CTRBOX_ROOT/containers/$ID" ] && [ ! -e "$CTRBOX_ROOT/containers/$other" ]
}

@test "rm: a real container: refused while running, -f removes records, upper dir and cgroup" {
	real_container t1 sh -c 'echo data >/written; sleep 1000'
	dir=$CTRBOX_ROOT/containers/$CID
	retry 50 0.05 test -e "$dir/upper/written"
	ctrbox rm t1
	assert_failure 1
	ctrbox rm -f t1
	assert_success
	[ ! -e "$dir" ] && [ ! -e "$CTRBOX_STATE/containers/$CID" ]
	[ -z "$(find /sys/fs/cgroup -maxdepth 3 -name "$CID")" ]
	ctrbox inspect t1
	assert_failure 1
	# The name is free again.
	real_container t1 true
}

@test "rm: a removal that fails (a mount left in the container dir) leaves it findable for a retry" {
	requires root
	fake_container "$ID" web 0 exited
	dir=$CTRBOX_ROOT/containers/$ID
	mkdir -p "$dir/rootfs"
	mount -t tmpfs none "$dir/rootfs"
	echo x >"$dir/rootfs/inside"
	ctrbox rm web
	umount "$dir/rootfs"
	assert_failure 1
	[[ $stderr == "ctrbox rm: web: "*"rootfs"* ]] || fail "$stderr"
	[ -f "$dir/container.json" ]
	ctrbox rm web
	assert_success
	[ ! -e "$dir" ]
}
