#!/usr/bin/env bats
# ctrbox run: the container's /etc/hosts, /etc/hostname and /etc/resolv.conf (issue 5,
# ctrbox-run(1) "FILES"): written into ROOT/containers/<id>/ and bind-mounted over the image's,
# with --hostname, --net host, --read-only, the host's loopback resolvers dropped, a bundle whose
# files are symlinks pointing out of its rootfs, and the same files under runc.

setup() {
	load ../helpers
	sandbox
	requires root
	requires cmd jq umoci
	IMG=localhost/oci:busybox
	run "$CTRBOX_BIN" pull -q "oci:$CTRBOX_FIXTURES/oci:busybox"
	assert_success
}

teardown() {
	stop_containers
	[ -n "${RUNC_ROOT:-}" ] && runc --root "$RUNC_ROOT" delete -f ctrbox-files 2>/dev/null
	rm -f "/tmp/ctrbox-escape-$BATS_TEST_NUMBER-$$"
	return 0
}

id_of() { # id_of NAME
	local f
	for f in "$CTRBOX_ROOT"/containers/*/container.json; do
		[ -f "$f" ] && [ "$(jq -r .name "$f")" = "$1" ] && basename "$(dirname "$f")" && return 0
	done
	return 1
}

# A host /etc of our own for the host's hosts and resolv.conf (config host.etc).
fake_etc() { # fake_etc RESOLV_CONF_TEXT
	mkdir -p "$SANDBOX/etc"
	printf '10.1.2.3 node1.example node1\n127.0.0.1 localhost\n' >"$SANDBOX/etc/hosts"
	printf '%b' "$1" >"$SANDBOX/etc/resolv.conf"
	printf 'host:\n  etc: %s\n' "$SANDBOX/etc" >"$CTRBOX_CONFIG"
}

@test "run files: /etc/hosts, /etc/hostname and hostname name the container, by its short ID" {
	ctrbox run --name files1 "$IMG" sh -c 'cat /etc/hosts; echo ---; cat /etc/hostname; hostname'
	assert_success
	id=$(id_of files1)
	short=${id:0:12}
	assert_line --index 0 "$(printf '127.0.0.1\tlocalhost')"
	assert_line "$(printf '::1\tlocalhost ip6-localhost ip6-loopback')"
	assert_line "$(printf '127.0.1.1\t%s' "$short")"
	# hostname file: the name and a newline; hostname(1) agrees.
	[ "$(printf '%s\n' "${lines[@]}" | sed -n '/^---$/,$p' | tail -n +2)" = "$(printf '%s\n%s' "$short" "$short")" ]
	# The files live beside the container's records, and the config.json binds them.
	[ "$(cat "$CTRBOX_ROOT/containers/$id/hostname")" = "$short" ]
	run jq -r '.mounts[] | select(.destination | startswith("/etc/")) | "\(.destination) \(.type) \(.source)"' \
		"$CTRBOX_ROOT/containers/$id/config.json"
	assert_line "/etc/hosts bind $CTRBOX_ROOT/containers/$id/hosts"
	assert_line "/etc/hostname bind $CTRBOX_ROOT/containers/$id/hostname"
	assert_line "/etc/resolv.conf bind $CTRBOX_ROOT/containers/$id/resolv.conf"
}

@test "run files: --hostname names the container in /etc/hosts, /etc/hostname and hostname" {
	ctrbox run --hostname web-1 "$IMG" sh -c 'grep web-1 /etc/hosts; cat /etc/hostname; hostname'
	assert_success
	assert_output "$(printf '127.0.1.1\tweb-1\nweb-1\nweb-1')"
}

@test "run files: resolv.conf is the host's, without loopback nameservers in a private network" {
	fake_etc 'search example.org\nnameserver 10.9.9.9\nnameserver 127.0.0.53\noptions edns0\n'
	ctrbox run "$IMG" cat /etc/resolv.conf
	assert_success
	assert_output "$(printf 'search example.org\nnameserver 10.9.9.9\noptions edns0')"
	# Only loopback resolvers: docker's fallback, for --net none too.
	fake_etc 'nameserver 127.0.0.53\nnameserver ::1\nsearch lan\n'
	ctrbox run --net none "$IMG" cat /etc/resolv.conf
	assert_success
	assert_output "$(printf 'search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4')"
	# No resolv.conf on the host at all: the fallback alone.
	rm "$SANDBOX/etc/resolv.conf"
	ctrbox run "$IMG" cat /etc/resolv.conf
	assert_success
	assert_output "$(printf 'nameserver 8.8.8.8\nnameserver 8.8.4.4')"
}

@test "run files: --net host gets the host's hosts and resolv.conf as they are" {
	fake_etc 'nameserver 127.0.0.53\nsearch lan\n'
	ctrbox run --net host --hostname h1 "$IMG" sh -c 'cat /etc/hosts; echo ---; cat /etc/resolv.conf; cat /etc/hostname'
	assert_success
	assert_output "$(printf '10.1.2.3 node1.example node1\n127.0.0.1 localhost\n---\nnameserver 127.0.0.53\nsearch lan\nh1')"
}

@test "run files: a read-only container has them, mounted read-only; a volume on one wins" {
	ctrbox run --read-only --hostname ro1 "$IMG" sh -c 'cat /etc/hostname; grep -c localhost /etc/hosts; echo x >/etc/hosts && echo wrote'
	assert_failure
	assert_line --index 0 "ro1"
	assert_line --index 1 "2"
	refute_line "wrote"
	[[ $stderr == *"Read-only file system"* ]]
	printf 'mine\n' >"$SANDBOX/myhosts"
	ctrbox run -v "$SANDBOX/myhosts:/etc/hosts:ro" "$IMG" cat /etc/hosts
	assert_success
	assert_output "mine"
}

@test "run files: a bundle whose files are symlinks out of its rootfs writes nothing outside it" {
	local b=$SANDBOX/b escape=/tmp/ctrbox-escape-$BATS_TEST_NUMBER-$$ before
	umoci unpack --image "$CTRBOX_FIXTURES/oci:busybox" "$b" >/dev/null
	jq '.process.args=["sh","-c","cat /etc/hosts /etc/hostname /etc/resolv.conf"] | .process.terminal=false | .hostname="bundled"' \
		"$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	ln -s /../../../../../../../../etc/shadow "$b/rootfs/etc/hosts"
	ln -s "../../../../../../../../..$escape" "$b/rootfs/etc/hostname"
	ln -s /etc/deep/er/resolv.conf "$b/rootfs/etc/resolv.conf"
	before=$(sha256sum /etc/shadow)
	ctrbox run --bundle "$b"
	assert_success
	assert_line "$(printf '127.0.1.1\tbundled')"
	assert_line "bundled"
	# The host's files are untouched; the links were followed inside the rootfs only.
	[ "$(sha256sum /etc/shadow)" = "$before" ]
	[ ! -e "$escape" ]
	[ -f "$b/rootfs/etc/shadow" ] && [ -f "$b/rootfs$escape" ] && [ -f "$b/rootfs/etc/deep/er/resolv.conf" ]
	# A link into /proc is refused, not followed.
	rm "$b/rootfs/etc/hosts"
	ln -s /proc/sys/kernel/core_pattern "$b/rootfs/etc/hosts"
	before=$(cat /proc/sys/kernel/core_pattern)
	ctrbox run --bundle "$b"
	assert_failure 125
	[[ $stderr == *"mount /etc/hosts: resolves into /proc or /sys, refusing"* ]]
	[ "$(cat /proc/sys/kernel/core_pattern)" = "$before" ]
}

@test "run files: runc running the same config.json sees the same files" {
	requires cmd runc
	fake_etc 'nameserver 127.0.0.53\nnameserver 10.7.7.7\n'
	cmd='cat /etc/hosts /etc/hostname /etc/resolv.conf; hostname'
	ctrbox run --name twin --hostname twin "$IMG" sh -c "$cmd"
	assert_success
	ours=$output
	id=$(id_of twin)
	umoci unpack --image "$CTRBOX_FIXTURES/oci:busybox" "$SANDBOX/rb" >/dev/null
	cp "$CTRBOX_ROOT/containers/$id/config.json" "$SANDBOX/rb/config.json"
	export RUNC_ROOT=$SANDBOX/runc
	run runc --root "$RUNC_ROOT" run --bundle "$SANDBOX/rb" ctrbox-files
	echo "$output" >&2
	assert_success
	[ "$output" = "$ours" ]
	[[ $ours == *"nameserver 10.7.7.7"* ]] && [[ $ours != *127.0.0.53* ]]
}

@test "run files: a name's lock file goes with the container (rm, --rm), and the name is free again" {
	names=$CTRBOX_ROOT/containers/names
	ctrbox run --name keep1 "$IMG" true
	assert_success
	[ -f "$names/keep1.lock" ]
	ctrbox rm keep1
	assert_success
	[ ! -e "$names/keep1.lock" ]
	ctrbox run --name keep1 "$IMG" true
	assert_success
	ctrbox rm keep1
	assert_success
	ctrbox run --rm --name gone1 "$IMG" true
	assert_success
	retry 50 0.1 test ! -e "$CTRBOX_ROOT/containers/names/gone1.lock"
	# Generated names too: many containers leave no file behind.
	for i in 1 2 3; do
		ctrbox run --rm "$IMG" true
		assert_success
	done
	retry 50 0.1 bash -c "[ -z \"\$(ls -A '$names')\" ]"
}

@test "run files: a name's file records its owner; a file without one (older ctrbox) still guards the name; a dead owner frees it" {
	names=$CTRBOX_ROOT/containers/names
	ctrbox run -d --name own1 "$IMG" sleep 100
	assert_success
	id=$output
	# The owner is the container's ID, written before its records.
	assert_equal "$(cat "$names/own1.lock")" "$id"
	ctrbox run --name own1 "$IMG" true
	assert_failure
	[[ $stderr == *"name own1: already in use by container ${id:0:12}"* ]] || fail "$stderr"
	# A file from before owners were recorded: the name is found in container.json instead.
	: >"$names/own1.lock"
	ctrbox run --name own1 "$IMG" true
	assert_failure
	[[ $stderr == *"name own1: already in use"* ]] || fail "$stderr"
	ctrbox rm -f own1
	assert_success
	# A claimer that died after recording itself: its container does not exist, the name is free.
	printf '%s' "$(printf 'f%.0s' {1..64})" >"$names/dead1.lock"
	ctrbox run --rm --name dead1 "$IMG" true
	assert_success
}
