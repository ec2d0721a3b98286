#!/usr/bin/env bats
# ctrbox attach (DESIGN.md "run", issue 6): several readers at once with the exit code passed
# through, input to a -i container and its end, a slow reader that never stalls the container
# (dropped for it alone, with a notice; the log has everything), and the errors: a stopped or
# unknown container, usage. The terminal cases (detach keys, attach back into a shell) are in
# tty.bats.

setup() {
	load ../helpers
	sandbox
	requires root
	requires cmd jq
	IMG=localhost/oci:busybox
	run "$CTRBOX_BIN" pull -q "oci:$CTRBOX_FIXTURES/oci:busybox"
	assert_success
}

teardown() {
	stop_containers
}

@test "attach: two readers at once both get the output and the exit code" {
	local d=$BATS_TEST_TMPDIR
	ctrbox run -d --name two "$IMG" sh -c 'sleep 1.5; for i in 1 2 3 4 5; do echo tick-$i; sleep 0.1; done; echo oops >&2; exit 4'
	assert_success
	(set +e; "$CTRBOX_BIN" attach --no-stdin two >"$d/o1" 2>"$d/e1"; echo $? >"$d/rc1") 3>&- &
	(set +e; "$CTRBOX_BIN" attach two </dev/null >"$d/o2" 2>"$d/e2"; echo $? >"$d/rc2") 3>&- &
	retry 100 0.1 test -s "$d/rc1"
	retry 100 0.1 test -s "$d/rc2"
	for i in 1 2; do
		[ "$(cat "$d/rc$i")" = 4 ]
		[ "$(cat "$d/o$i")" = "$(printf 'tick-%s\n' 1 2 3 4 5)" ]
		[ "$(cat "$d/e$i")" = oops ]
	done
}

@test "attach: our input goes to a -i container, and its end ends the container's input" {
	ctrbox run -d -i --name cat1 "$IMG" sh -c 'cat; echo cat-done'
	assert_success
	run bash -c 'printf "line one\nline two\n" | "$CTRBOX_BIN" attach cat1'
	assert_success
	assert_output "line one
line two
cat-done"
}

@test "attach: --no-stdin and a SIGINT to attach leave the container and its input as they are" {
	ctrbox run -d -i --name cat2 "$IMG" sh -c 'cat; echo cat-done'
	assert_success
	local id=$output
	run timeout -s INT 1 "$CTRBOX_BIN" attach --no-stdin cat2 </dev/null
	assert_failure 124 # timeout's own status: attach was ended by the SIGINT
	[ "$(jq -r .status "$CTRBOX_STATE/containers/$id/state.json")" = running ]
	run bash -c 'echo bye | "$CTRBOX_BIN" attach cat2'
	assert_success
	assert_output "bye
cat-done"
}

@test "attach: a reader that never reads does not stall the container; it gets a notice" {
	requires cmd python3
	local d=$BATS_TEST_TMPDIR id c1 c2
	ctrbox run -d --name flood "$IMG" awk 'BEGIN { for (i = 0; ; i++) printf "line-%d-%0120d\n", i, 0 }'
	assert_success
	id=$output
	# Connects, reads nothing for 3 s, then reads for 3 s and prints the notice it got.
	cat >"$d/slow.py" <<-'EOF'
		import os, socket, struct, sys, time
		d = os.open(sys.argv[1], os.O_PATH)
		s = socket.socket(socket.AF_UNIX)
		s.connect("/proc/self/fd/%d/attach.sock" % d)
		open(sys.argv[2], "w").write("connected\n")
		time.sleep(3)
		s.settimeout(1)
		buf, notice, end = b"", "", time.time() + 3
		try:
		    while time.time() < end and not notice:
		        data = s.recv(1 << 20)
		        if not data:
		            break
		        buf += data
		        while len(buf) >= 8:
		            kind, n = buf[0], struct.unpack("=I", buf[4:8])[0]
		            if len(buf) < 8 + n:
		                break
		            if kind == 6:
		                notice = buf[8:8 + n].decode()
		            buf = buf[8 + n:]
		except socket.timeout:
		    pass
		print(notice)
	EOF
	python3 "$d/slow.py" "$CTRBOX_STATE/containers/$id" "$d/connected" >"$d/notice" 3>&- &
	retry 50 0.1 test -s "$d/connected"
	sleep 0.3
	# The log rotates every few tenths of a second here: a look just after a rotation finds an
	# empty file or a partial line, so look again until a whole line is there.
	last_line() {
		local n
		for _ in $(seq 50); do
			n=$(tail -n 1 "$CTRBOX_ROOT/containers/$id/log" | sed -n 's/.* stdout F line-\([0-9]*\)-.*/\1/p')
			[ -n "$n" ] && { echo "$n"; return; }
			sleep 0.02
		done
	}
	c1=$(last_line)
	sleep 2
	c2=$(last_line)
	echo "lines while the reader held: $c1 -> $c2" >&2
	# 30,000 lines of 140 bytes are 4 MiB: past what one client may hold (1 MiB queued in the
	# shim, at most 2 MiB in the socket), so the container was not waiting for it.
	[ $((c2 - c1)) -gt 30000 ]
	wait
	grep -E '^output dropped: client too slow \([0-9]+ bytes\)$' "$d/notice"
	# The container is still running and a fresh reader gets output at once.
	run bash -c 'timeout 1 "$CTRBOX_BIN" attach --no-stdin flood | head -c 65536 | grep -c "^line-"'
	[ "${output:-0}" -gt 10 ]
}

@test "attach: a ninth client is turned away with the reason" {
	requires cmd python3
	local d=$BATS_TEST_TMPDIR id
	ctrbox run -d --name busy "$IMG" sleep 100
	assert_success
	id=$output
	cat >"$d/hold.py" <<-'EOF'
		import os, socket, sys, time
		d = os.open(sys.argv[1], os.O_PATH)
		held = []
		for _ in range(8):
		    s = socket.socket(socket.AF_UNIX)
		    s.connect("/proc/self/fd/%d/attach.sock" % d)
		    s.recv(12)  # the hello: the shim has taken this one
		    held.append(s)
		open(sys.argv[2], "w").write("held\n")
		time.sleep(30)
	EOF
	python3 "$d/hold.py" "$CTRBOX_STATE/containers/$id" "$d/held" 3>&- &
	retry 50 0.1 test -s "$d/held"
	ctrbox attach --no-stdin busy
	assert_failure 1
	[[ $stderr == *"ctrbox attach: ${id:0:12}: too many clients attached (8)"* ]]
	kill %1
}

@test "attach: a stopped container is an error saying so" {
	ctrbox run --name done1 "$IMG" true
	assert_success
	ctrbox attach done1
	assert_failure 1
	[ "$stderr" = "ctrbox attach: done1: container is not running" ]
	ctrbox attach nosuch
	assert_failure 1
	[ "$stderr" = "ctrbox attach: nosuch: no such container" ]
}

@test "attach: usage errors" {
	ctrbox attach
	assert_failure 2
	ctrbox attach a b
	assert_failure 2
	ctrbox attach --detach-keys ctrl-pp x
	assert_failure 2
	[[ $stderr == *"--detach-keys: detach keys ctrl-pp: bad key 'ctrl-pp'"* ]]
}

@test "attach: completion offers running containers only, and the options" {
	ctrbox run -d --name up1 "$IMG" sleep 100
	assert_success
	ctrbox run --name down1 "$IMG" true
	assert_success
	ctrbox __complete attach ""
	assert_line --partial up1
	refute_line --partial down1
	ctrbox __complete attach --
	assert_line --partial -- --no-stdin
	assert_line --partial -- --detach-keys
}
