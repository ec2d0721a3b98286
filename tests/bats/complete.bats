#!/usr/bin/env bats
# __complete and the bash completion that relays it: candidates come from the parser's tables.

setup() {
	load ../helpers
	load ../handmade
	sandbox
}

teardown() {
	[ -z "${SHORT_STATE:-}" ] || remove_all # the real container's test
}

@test "__complete: applet names with summaries, hidden ones left out" {
	ctrbox __complete ""
	assert_success
	assert_line --regexp $'^info\tshow the settings'
	assert_line --regexp $'^help\t'
	refute_line --partial __complete
	assert_line --index -1 ':4'
	ctrbox __complete inf
	assert_equal "${lines[0]%%$'\t'*}" info
	assert_equal "${#lines[@]}" 2
}

@test "__complete: global options and their values" {
	ctrbox __complete --ro
	assert_line --regexp $'^--root\t'
	ctrbox __complete --log-level ""
	assert_line error
	assert_line debug
	assert_line --index -1 ':4'
	ctrbox __complete --root ""
	assert_line --index -1 ':16'
	ctrbox __complete --config ""
	assert_line --index -1 ':0'
	ctrbox __complete --log-level=d
	assert_line --index 0 '--log-level=debug'
}

@test "__complete: an applet's options, including the output options and --help" {
	ctrbox __complete info --
	assert_line --regexp $'^--format\t'
	assert_line --regexp $'^--quiet\t'
	assert_line --regexp $'^--no-trunc\t'
	assert_line --regexp $'^--help\t'
	ctrbox __complete --root /x info --f
	assert_line --index 0 --regexp $'^--format\t'
}

@test "__complete: option values come from the option table" {
	ctrbox __complete info --format ""
	assert_line table
	assert_line json
	refute_line jsonl
	assert_line --index -1 ':4'
	ctrbox __complete info --format=j
	assert_line --index 0 '--format=json'
}

@test "__complete: applet arguments: help completes applets" {
	ctrbox __complete help inf
	assert_line --index 0 --regexp $'^info\t'
	ctrbox __complete bogus ""
	assert_line --index -1 ':1'
}

complete_line() { # complete_line "LINE": prints COMPREPLY, one per line
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" bash -c '
		source "$1"
		COMP_LINE=$2 COMP_POINT=${#2}
		read -r -a COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_ctrbox
		printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP/completions/ctrbox.bash" "$1"
}

@test "completion: bash relays ctrbox __complete" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -s "$CTRBOX_BIN" "$BATS_TEST_TMPDIR/bin/ctrbox"
	run complete_line "ctrbox inf"
	assert_output info
	run complete_line "ctrbox info --format j"
	assert_output json
	run complete_line "ctrbox info --format=j"
	assert_output json
	run complete_line "ctrbox --log-level "
	assert_line warn
}

@test "completion: bash completes through a ctrbox-APPLET link" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -s "$CTRBOX_BIN" "$BATS_TEST_TMPDIR/bin/ctrbox"
	ln -s "$CTRBOX_BIN" "$BATS_TEST_TMPDIR/bin/ctrbox-info"
	run complete_line "ctrbox-info --fo"
	assert_output -- --format
}

@test "__complete: image arguments come from the store, lock-free" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	assert_success
	ctrbox __complete rmi ""
	assert_success
	assert_line "$BUSYBOX_IMAGE"
	ctrbox __complete pull --platform ""
	assert_line "linux/arm64"
	ctrbox __complete pull --progress ""
	assert_line "json"
}

# --- every applet and every kind of value, through the bash script ---

bash_ready() { # ctrbox on PATH for complete_line
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -sf "$CTRBOX_BIN" "$BATS_TEST_TMPDIR/bin/ctrbox"
}

# record NAME STATUS: a hand-made container record (ID from the name), with the running index
# entry container_state_save keeps beside a running or paused state (STATUS none: no state).
record() {
	local id
	id=$(printf '%s' "$1" | sha256sum | cut -c1-64)
	mkdir -p "$CTRBOX_ROOT/containers/$id" "$CTRBOX_STATE/containers/$id" "$CTRBOX_STATE/running"
	printf '{"id": "%s", "name": "%s", "image": "busybox:latest"}\n' "$id" "$1" \
		>"$CTRBOX_ROOT/containers/$id/container.json"
	[ "$2" = none ] ||
		printf '{"status": "%s"}\n' "$2" >"$CTRBOX_STATE/containers/$id/state.json"
	case $2 in
	running | paused) : >"$CTRBOX_STATE/running/$id" ;;
	esac
	echo "${id:0:12}"
}

@test "completion: every applet completes by name, and every option of each" {
	bash_ready
	run complete_line "ctrbox "
	for a in $("$CTRBOX_BIN" --list); do
		assert_line "$a"
	done
	refute_line __complete
	for a in $("$CTRBOX_BIN" --list); do
		run complete_line "ctrbox $a --"
		assert_line -- --help
		for o in $("$CTRBOX_BIN" "$a" --help | sed -n '/^Options:/,$p' |
			grep -o -- '--[a-z][a-z-]*' | sort -u); do
			assert_line -- "$o"
		done
	done
}

@test "completion: option values: signals, formats, filter keys, platforms, levels, choices" {
	bash_ready
	run complete_line "ctrbox kill -s "
	assert_line KILL
	assert_line TERM
	run complete_line "ctrbox kill --signal=H"
	assert_line HUP
	run complete_line "ctrbox events --format "
	assert_line jsonl
	run complete_line "ctrbox ps --format "
	assert_line json
	refute_line jsonl
	run complete_line "ctrbox ps --filter st"
	assert_line status=running
	assert_line status=exited
	run complete_line "ctrbox ps --filter status=ex"
	assert_output exited
	run complete_line "ctrbox pull --platform linux/a"
	assert_line linux/amd64
	assert_line linux/arm64
	run complete_line "ctrbox --log-level d"
	assert_output debug
	run complete_line "ctrbox inspect --type "
	assert_line container
	assert_line image
	run complete_line "ctrbox run --pull "
	assert_line missing
	assert_line never
	run complete_line "ctrbox run --net "
	assert_line none
	run complete_line "ctrbox events --type W"
	assert_output Warning
	run complete_line "ctrbox diagnose --format "
	assert_line prometheus
	run complete_line "ctrbox help st"
	assert_line stop
}

@test "completion: file and directory values where a path is taken" {
	bash_ready
	mkdir -p "$BATS_TEST_TMPDIR/w/adir"
	: >"$BATS_TEST_TMPDIR/w/afile.env"
	cd "$BATS_TEST_TMPDIR/w"
	run complete_line "ctrbox run --env-file af"
	assert_output afile.env
	run complete_line "ctrbox pull -f af"
	assert_output afile.env
	run complete_line "ctrbox --config af"
	assert_output afile.env
	run complete_line "ctrbox unpack --to a"
	assert_output adir
	run complete_line "ctrbox --root a"
	assert_output adir
	run complete_line "ctrbox stop --time "
	assert_output ""
}

@test "completion: containers are offered by what the applet accepts" {
	bash_ready
	web=$(record web running)
	db=$(record db running)
	old=$(record old exited)
	new=$(record new none)
	for a in stop kill exec attach; do
		"$CTRBOX_BIN" --list | grep -qx "$a" || continue
		run complete_line "ctrbox $a "
		assert_line web
		assert_line db
		assert_line "$web"
		refute_line old
		refute_line new
		refute_line "$old"
	done
	run complete_line "ctrbox rm "
	assert_line old
	assert_line new
	assert_line "$old"
	refute_line web
	refute_line db
	run complete_line "ctrbox rm -f "
	assert_line web
	assert_line old
	run complete_line "ctrbox rm --force w"
	assert_output web
	for a in logs inspect; do
		run complete_line "ctrbox $a "
		for c in web db old new "$web" "$old"; do
			assert_line "$c"
		done
	done
	run complete_line "ctrbox events --object o"
	assert_output old
	run complete_line "ctrbox stop -t 5s w"
	assert_output web
}

@test "__complete: the running set is STATE/running, not state.json (one readdir, no reads)" {
	record web running >/dev/null
	record paused1 paused >/dev/null
	record db exited >/dev/null
	web=$(printf web | sha256sum | cut -c1-64)
	db=$(printf db | sha256sum | cut -c1-64)
	ctrbox __complete stop ""
	assert_success
	assert_line --regexp $'^web\tbusybox:latest$'
	assert_line --regexp $'^paused1\t'
	assert_line --regexp $'^'"${web:0:12}"$'\tweb$'
	refute_line --regexp $'^db\t'
	# state.json still says running, but without its index entry stop does not offer it,
	# and rm does
	rm "$CTRBOX_STATE/running/$web"
	ctrbox __complete stop ""
	refute_line --regexp $'^web\t'
	ctrbox __complete rm ""
	assert_line --regexp $'^web\t'
	# an entry for an exited state.json: offered as running; an entry whose container is
	# gone is offered by nobody; no STATE/running at all: nothing is running
	: >"$CTRBOX_STATE/running/$db"
	: >"$CTRBOX_STATE/running/$(printf gone | sha256sum | cut -c1-64)"
	ctrbox __complete stop ""
	assert_success
	assert_output --regexp $'^db\tbusybox:latest\n'
	refute_output --partial gone
	rm -r "$CTRBOX_STATE/running"
	ctrbox __complete stop ""
	assert_success
	assert_output ":4"
	ctrbox __complete rm ""
	assert_line --regexp $'^web\t'
	assert_line --regexp $'^db\t'
	assert_line --regexp $'^paused1\t'
	assert_equal "$stderr" ""
}

@test "completion: a real container: stop offers it while it runs, rm after stop, none after rm" {
	real_container t1 sleep 1000
	run "$CTRBOX_BIN" __complete stop ""
	assert_line --regexp $'^t1\t'
	assert_line --regexp $'^'"${CID:0:12}"$'\tt1$'
	run "$CTRBOX_BIN" __complete rm ""
	refute_line --partial t1
	[ -e "$CTRBOX_STATE/running/$CID" ]
	run "$CTRBOX_BIN" stop -t 2s t1
	assert_success
	retry 50 0.1 container_status_is "$CID" exited
	run "$CTRBOX_BIN" __complete stop ""
	refute_line --partial t1
	run "$CTRBOX_BIN" __complete rm ""
	assert_line --regexp $'^t1\t'
	[ ! -e "$CTRBOX_STATE/running/$CID" ]
	run "$CTRBOX_BIN" rm t1
	assert_success
	run "$CTRBOX_BIN" __complete logs ""
	refute_line --partial t1
	[ ! -e "$CTRBOX_STATE/containers/$CID" ]
}

@test "__complete: takes no lock (answers while a container's lock is held)" {
	record web running >/dev/null
	id=$(ls "$CTRBOX_ROOT/containers")
	: >"$CTRBOX_ROOT/containers/$id/lock"
	run timeout 5 flock -x "$CTRBOX_ROOT/containers/$id/lock" \
		timeout 3 "$CTRBOX_BIN" __complete stop ""
	assert_success
	assert_line --partial web
}

@test "completion: the node applets' values: diagnose checks, events keys, metrics directory" {
	bash_ready
	run complete_line "ctrbox diagnose --check "
	assert_line fsync
	assert_line pressure
	run complete_line "ctrbox events --by "
	assert_line reason
	assert_line object
	mkdir -p "$BATS_TEST_TMPDIR/w/textdir"
	cd "$BATS_TEST_TMPDIR/w"
	run complete_line "ctrbox metrics --textfile te"
	assert_output textdir
	run complete_line "ctrbox relist --"
	assert_line -- --watch
	run complete_line "ctrbox events --source pu"
	assert_output pull
}
