#!/usr/bin/env bats
# ctrbox pull against a real registry (Debian's docker-registry, started by setup_suite) and a
# misbehaving one (tests/fakereg.py, started here): the store must match what skopeo reports,
# nothing is recorded unless complete, and interrupted pulls resume.

setup() {
	load ../helpers
	sandbox
	FAKEREG_PIDS=()
}

teardown() {
	local p
	for p in "${FAKEREG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	return 0
}

# The fixture layout's manifest digest for a tag, and a blob's path in it.
layout_digest() {
	jq -r --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
		"$CTRBOX_FIXTURES/oci/index.json"
}
layout_blob() { echo "$CTRBOX_FIXTURES/oci/blobs/sha256/${1#sha256:}"; }

# fakereg_start ARGS...: starts tests/fakereg.py serving the busybox fixture as
# ctrbox/busybox:latest plus ARGS; sets FAKEREG (127.0.0.1:PORT). Killed by PID in teardown.
fakereg_start() {
	local m cfg layer
	m=$(layout_digest busybox)
	cfg=$(jq -r .config.digest "$(layout_blob "$m")")
	layer=$(jq -r '.layers[0].digest' "$(layout_blob "$m")")
	coproc FR { exec python3 "$TOP/tests/fakereg.py" --lifetime 60 \
		--manifest "latest=$(layout_blob "$m")" --blob "$(layout_blob "$cfg")" \
		--blob "$(layout_blob "$layer")" "$@" 2>"$BATS_TEST_TMPDIR/fakereg.log" 3>&-; }
	FAKEREG_PIDS+=("$FR_PID")
	local port
	read -r -t 10 port <&"${FR[0]}" || fail "fakereg did not start: $(cat "$BATS_TEST_TMPDIR/fakereg.log")"
	FAKEREG=127.0.0.1:$port
	BUSYBOX_LAYER=$layer
}

fakereg_requests() { curl -s "http://$FAKEREG/_debug/requests"; }

image_count() { find "$CTRBOX_ROOT/images" -name '*.json' 2>/dev/null | wc -l; }

@test "pull: a one-layer image from the registry matches what skopeo reports" {
	ctrbox pull --plain-http "$BUSYBOX_IMAGE"
	assert_success
	skopeo inspect --raw --tls-verify=false "docker://$BUSYBOX_IMAGE" >"$BATS_TEST_TMPDIR/raw"
	raw=$(cat "$BATS_TEST_TMPDIR/raw")
	want=sha256:$(sha256sum "$BATS_TEST_TMPDIR/raw" | cut -d' ' -f1)
	ctrbox images --format json
	assert_success
	assert_equal "$(jq -r '.[0].name' <<<"$output")" "$BUSYBOX_IMAGE"
	assert_equal "$(jq -r '.[0].digest' <<<"$output")" "$want"
	# Every blob the manifest names is in the store, and verifies.
	for d in $(jq -r '.config.digest, .layers[].digest' <<<"$raw") "$want"; do
		f=$CTRBOX_ROOT/content/blobs/sha256/${d#sha256:}
		[ -f "$f" ] || fail "missing blob $d"
		assert_equal "sha256:$(sha256sum "$f" | cut -d' ' -f1)" "$d"
	done
	# Nothing left half-done.
	run find "$CTRBOX_ROOT/content/ingest" -type f ! -name '*.lock'
	assert_output ""
}

@test "pull: a loopback registry is reached over http without --plain-http, as docker does" {
	ctrbox pull -q "$BUSYBOX_IMAGE"
	assert_success
	assert_output "$(layout_digest busybox)"
}

@test "pull: -q prints the digest only, --format json one object per image" {
	ctrbox pull -q --plain-http "$BUSYBOX_IMAGE"
	assert_success
	assert_output "$(layout_digest busybox)"
	ctrbox pull --format json --plain-http "$BUSYBOX_IMAGE"
	assert_success
	assert_equal "$(jq -r '.[0].reference' <<<"$output")" "$BUSYBOX_IMAGE"
	assert_equal "$(jq -r '.[0].layers' <<<"$output")" 1
	# Only the manifest is fetched again: every blob is there already.
	[ "$(jq -r '.[0].fetched_bytes' <<<"$output")" -lt 10000 ]
	[[ $(jq -r '.[0].platform' <<<"$output") == linux/* ]]
}

@test "pull: a many-layer image has every layer skopeo lists" {
	ctrbox pull --plain-http "$LAYERS_IMAGE"
	assert_success
	skopeo inspect --raw --tls-verify=false "docker://$LAYERS_IMAGE" >"$BATS_TEST_TMPDIR/raw"
	n=$(jq '.layers | length' "$BATS_TEST_TMPDIR/raw")
	[ "$n" -ge 5 ]
	ctrbox images --format json
	assert_equal "$(jq -r '.[0].size_bytes' <<<"$output")" \
		"$(($(wc -c <"$BATS_TEST_TMPDIR/raw") + $(jq '[.config.size, .layers[].size] | add' "$BATS_TEST_TMPDIR/raw")))"
}

@test "pull: an index resolves to the platform asked for, the host's by default" {
	ctrbox pull --plain-http --platform linux/arm64 "$MULTI_IMAGE"
	assert_success
	ctrbox images --format json
	assert_equal "$(jq -r '.[0].platform' <<<"$output")" "linux/arm64/v8"
	want=$(skopeo inspect --raw --tls-verify=false "docker://$MULTI_IMAGE" |
		jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest')
	assert_equal "$(jq -r '.[0].digest' <<<"$output")" "$want"
	if [ "$(uname -m)" = x86_64 ]; then
		ctrbox pull --plain-http --format json "$MULTI_IMAGE"
		assert_success
		assert_equal "$(jq -r '.[0].platform' <<<"$output")" "linux/amd64"
	fi
}

@test "pull: a platform the index lacks fails, names what it has, and records nothing" {
	ctrbox pull --plain-http --platform linux/s390x "$MULTI_IMAGE"
	assert_failure 1
	assert_equal "$output" ""
	[[ $stderr == "ctrbox pull: $MULTI_IMAGE: "*"linux/s390x"*"linux/amd64"*"linux/arm64"* ]] ||
		fail "unexpected message: $stderr"
	assert_equal "$(image_count)" 0
}

@test "pull: a malformed reference is a usage error and nothing is written" {
	ctrbox pull "Busybox:latest"
	assert_failure 2
	[[ $stderr == "ctrbox pull: Busybox:latest: invalid reference format"* ]] || fail "$stderr"
	[ ! -e "$CTRBOX_ROOT" ]
	ctrbox pull "busybox:bad:tag"
	assert_failure 2
	ctrbox pull ""
	assert_failure 2
	ctrbox pull
	assert_failure 2
	[ ! -e "$CTRBOX_ROOT" ]
}

@test "pull: a missing tag fails with the registry's reason and records nothing" {
	ctrbox pull --plain-http "$REGISTRY/ctrbox/busybox:nope"
	assert_failure 1
	[[ $stderr == "ctrbox pull: $REGISTRY/ctrbox/busybox:nope: "*"404"* ]] || fail "$stderr"
	assert_equal "$(image_count)" 0
	# The failure is in the journal as a Warning.
	run jq -r 'select(.reason == "Failed") | .type' "$CTRBOX_ROOT/events/journal.jsonl"
	assert_output "Warning"
}

@test "pull: Pulling and Pulled events reach the journal" {
	ctrbox pull --plain-http "$BUSYBOX_IMAGE"
	assert_success
	run jq -r '.reason' "$CTRBOX_ROOT/events/journal.jsonl"
	assert_line "Pulling"
	assert_line "Pulled"
}

@test "pull: basic auth from --creds, from docker's config.json, and refused without" {
	ctrbox pull --plain-http "$AUTH_IMAGE"
	assert_failure 1
	[[ $stderr == "ctrbox pull: $AUTH_IMAGE: "*"401"* ]] || fail "$stderr"
	assert_equal "$(image_count)" 0
	ctrbox pull --plain-http --creds "$REGISTRY_USER:wrong" "$AUTH_IMAGE"
	assert_failure 1
	ctrbox pull --plain-http --creds "$REGISTRY_USER:$REGISTRY_PASS" "$AUTH_IMAGE"
	assert_success
	rm -rf "$CTRBOX_ROOT"
	mkdir -p "$BATS_TEST_TMPDIR/docker"
	auth=$(printf '%s:%s' "$REGISTRY_USER" "$REGISTRY_PASS" | base64 -w0)
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_AUTH" "$auth" >"$BATS_TEST_TMPDIR/docker/config.json"
	DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker ctrbox pull --plain-http "$AUTH_IMAGE"
	assert_success
	assert_equal "$(image_count)" 1
}

@test "pull: -f reads references with comments; several images are pulled at once" {
	printf '# node images\n%s\n\n  %s  # the big one\n' "$BUSYBOX_IMAGE" "$LAYERS_IMAGE" >"$BATS_TEST_TMPDIR/list"
	ctrbox pull --plain-http -j 2 -f "$BATS_TEST_TMPDIR/list"
	assert_success
	assert_equal "$(image_count)" 2
	ctrbox pull -f "$BATS_TEST_TMPDIR/missing"
	assert_failure 1
	[[ $stderr == "ctrbox pull: $BATS_TEST_TMPDIR/missing: "* ]] || fail "$stderr"
}

@test "pull: -f - reads stdin, bounded to 1 MiB; binary input is refused" {
	run bash -c "printf '%s\n' '$BUSYBOX_IMAGE' | '$CTRBOX_BIN' pull --plain-http -q -f -"
	assert_success
	assert_equal "$(image_count)" 1
	run bash -c "head -c 2000000 /dev/zero | tr '\\0' a | '$CTRBOX_BIN' pull -f - 2>&1"
	assert_failure 1
	assert_output --partial "ctrbox pull: stdin: larger than the limit of 1048576 bytes"
	printf 'busybox\0x\n' >"$BATS_TEST_TMPDIR/bin"
	ctrbox pull -f "$BATS_TEST_TMPDIR/bin"
	assert_failure 1
	assert_equal "$stderr" "ctrbox pull: $BATS_TEST_TMPDIR/bin: not a text file (a NUL byte)"
	assert_equal "$(image_count)" 1
}

@test "pull: one bad image among several fails that one only (exit 1)" {
	ctrbox pull --plain-http "$BUSYBOX_IMAGE" "$REGISTRY/ctrbox/none:latest"
	assert_failure 1
	assert_equal "$(image_count)" 1
}

@test "pull: offline sources (oci layout, oci-archive, docker-archive) record the same image" {
	ctrbox pull -q "oci:$CTRBOX_FIXTURES/oci:busybox"
	assert_success
	assert_output "$(layout_digest busybox)"
	ctrbox pull -q "oci-archive:$CTRBOX_FIXTURES/busybox.oci.tar"
	assert_success
	ctrbox pull --format json "docker-archive:$CTRBOX_FIXTURES/busybox.docker.tar"
	assert_success
	assert_equal "$(jq -r '.[0].reference' <<<"$output")" "docker.io/ctrbox/busybox:latest"
	ctrbox images -q
	assert_success
	# docker-archive layers are the uncompressed tars, so its config is the same image's.
	assert_equal "$(sort -u <<<"$output" | wc -l)" 1
	ctrbox pull "oci:$BATS_TEST_TMPDIR/nowhere"
	assert_failure 1
}

@test "pull: --progress json reports each phase as JSON lines on stderr" {
	ctrbox pull --plain-http --progress json "$BUSYBOX_IMAGE"
	assert_success
	phases=$(jq -r .phase <<<"$stderr" | sort -u | tr '\n' ' ')
	[[ $phases == *download* && $phases == *done* && $phases == *resolve* ]] || fail "$phases"
	assert_equal "$(jq -r 'select(.phase == "done") | .image' <<<"$stderr")" "$BUSYBOX_IMAGE"
}

@test "pull: two processes pulling images that share a layer download it once" {
	fakereg_start --fault 'blobs/slow=20' 2>/dev/null || fakereg_start
	img=$FAKEREG/ctrbox/busybox:latest
	"$CTRBOX_BIN" pull --plain-http "$img" >/dev/null 2>"$BATS_TEST_TMPDIR/a.err" &
	a=$!
	"$CTRBOX_BIN" pull --plain-http "$img" >/dev/null 2>"$BATS_TEST_TMPDIR/b.err" &
	b=$!
	wait "$a" || fail "first pull: $(cat "$BATS_TEST_TMPDIR/a.err")"
	wait "$b" || fail "second pull: $(cat "$BATS_TEST_TMPDIR/b.err")"
	n=$(fakereg_requests | jq --arg d "$BUSYBOX_LAYER" '[.[] | select(.path | endswith("/blobs/" + $d)) | select(.status == 200 or .status == 206)] | length')
	assert_equal "$n" 1
}

@test "pull: a digest mismatch commits nothing and records nothing" {
	fakereg_start --fault 'blobs/corrupt@always'
	ctrbox pull --plain-http "$FAKEREG/ctrbox/busybox:latest"
	assert_failure 1
	[[ $stderr == *"does not match"* || $stderr == *"digest"* ]] || fail "$stderr"
	assert_equal "$(image_count)" 0
	[ ! -e "$CTRBOX_ROOT/content/blobs/sha256/${BUSYBOX_LAYER#sha256:}" ]
}

@test "pull: a broken transfer resumes with Range and the image is complete" {
	# Twice: the config and the layer are the first two blob GETs, so the layer always breaks.
	fakereg_start --fault 'blobs/break=50000@2'
	ctrbox pull --plain-http "$FAKEREG/ctrbox/busybox:latest"
	assert_success
	run bash -c "curl -s http://$FAKEREG/_debug/requests | jq -r '.[] | select(.range != null) | .range'"
	assert_output --partial "bytes=50000-"
}

@test "pull: a server that ignores Range restarts the blob from zero and still verifies" {
	fakereg_start --fault 'blobs/break=50000@2' --fault 'blobs/norange@always'
	ctrbox pull --plain-http "$FAKEREG/ctrbox/busybox:latest"
	assert_success
	assert_equal "$(image_count)" 1
}

@test "pull: a killed pull leaves no image and the next pull resumes the partial download" {
	fakereg_start --fault 'blobs/slow=60@always'
	"$CTRBOX_BIN" pull --plain-http "$FAKEREG/ctrbox/busybox:latest" >/dev/null 2>&1 &
	p=$!
	part=$CTRBOX_ROOT/content/ingest/sha256-${BUSYBOX_LAYER#sha256:}
	retry 100 0.1 test -s "$part" || fail "no partial download appeared"
	kill -9 "$p"
	wait "$p" 2>/dev/null || true
	assert_equal "$(image_count)" 0
	have=$(stat -c %s "$part")
	[ "$have" -gt 0 ]
	ctrbox pull --plain-http "$FAKEREG/ctrbox/busybox:latest"
	assert_success
	run bash -c "curl -s http://$FAKEREG/_debug/requests | jq -r '.[] | select(.range != null) | .range'"
	[[ $output == *"bytes="* ]] || fail "no Range request after the kill: $output"
}

@test "pull: a redirect to another host never carries the Authorization header" {
	fakereg_start --auth basic --user u:p --fault 'blobs/redirect@always'
	ctrbox pull --plain-http --creds u:p "$FAKEREG/ctrbox/busybox:latest"
	assert_success
	leaks=$(curl -s "http://$FAKEREG/_debug/auth-leaks")
	assert_equal "$(jq .leaks <<<"$leaks")" 0
	[ "$(jq .requests <<<"$leaks")" -gt 0 ]
}

@test "pull: Retry-After on 429 is honoured" {
	fakereg_start --fault 'manifests/429=1'
	start=$(date +%s%N)
	ctrbox pull --plain-http "$FAKEREG/ctrbox/busybox:latest"
	assert_success
	[ $(($(date +%s%N) - start)) -ge 1000000000 ]
}

@test "pull: a configured mirror is tried first, and a dead one is skipped" {
	fakereg_start
	cat >"$CTRBOX_CONFIG" <<-EOF
		registries:
		  "registry.invalid:5000":
		    plain_http: true
		    mirrors: ["127.0.0.1:1", "$FAKEREG"]
		pull:
		  retries: 0
	EOF
	ctrbox pull -q registry.invalid:5000/ctrbox/busybox:latest
	assert_success
	assert_output "$(layout_digest busybox)"
	ctrbox images --format json
	assert_equal "$(jq -r '.[0].name' <<<"$output")" "registry.invalid:5000/ctrbox/busybox:latest"
}

@test "pull: bad flag values are usage errors" {
	ctrbox pull --platform nope "$BUSYBOX_IMAGE"
	assert_failure 2
	ctrbox pull --jobs 0 "$BUSYBOX_IMAGE"
	assert_failure 2
	ctrbox pull --progress loud "$BUSYBOX_IMAGE"
	assert_failure 2
	ctrbox pull --creds nocolon "$BUSYBOX_IMAGE"
	assert_failure 2
	[ ! -e "$CTRBOX_ROOT" ]
}

@test "pull: unpacks into snapshots by default, and not with --no-unpack" {
	ctrbox pull -q --plain-http --no-unpack "$LAYERS_IMAGE"
	assert_success
	assert_equal "$(find "$CTRBOX_ROOT/snapshots" -mindepth 1 -maxdepth 1 -name '[0-9]*' 2>/dev/null | wc -l)" 0
	ctrbox pull -q --plain-http "$LAYERS_IMAGE"
	assert_success
	n=$(skopeo inspect --raw --tls-verify=false "docker://$LAYERS_IMAGE" | jq '.layers | length')
	assert_equal "$(find "$CTRBOX_ROOT/snapshots/chains" -type f ! -name '*.lock' | wc -l)" "$n"
	run jq -r '.reason' "$CTRBOX_ROOT/events/journal.jsonl"
	assert_line "Unpacked"
}

@test "pull: on a terminal, a progress line per layer and a total on stderr" {
	requires cmd script
	script -qec "$CTRBOX_BIN pull --plain-http $LAYERS_IMAGE >/dev/null" "$BATS_TEST_TMPDIR/tty" >/dev/null
	log=$(tr '\r' '\n' <"$BATS_TEST_TMPDIR/tty")
	[[ $log == *"Pull complete"* ]] || fail "no per-layer completion: $log"
	[[ $log == *"total "*"/s"* ]] || fail "no total line: $log"
	# Not on a terminal there is no progress at all.
	ctrbox pull --plain-http "$LAYERS_IMAGE"
	assert_equal "$stderr" ""
}
