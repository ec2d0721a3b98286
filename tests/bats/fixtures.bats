#!/usr/bin/env bats
# tests/bats/fixtures.bats - checks the image fixtures and the test registries themselves
# (tests/fixtures/images.sh, setup_suite.bash) with real tools, so that a broken fixture fails
# here rather than in a pull test that would blame ctrbox.

load ../helpers

OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
OCI_INDEX=application/vnd.oci.image.index.v1+json

# raw REF [skopeo options...]: the manifest as the registry serves it, in $output.
raw() {
	local ref=$1
	shift
	run -0 skopeo inspect --raw --tls-verify=false "$@" "docker://$ref"
}

# content_type REF: the Content-Type the registry serves REF's manifest with (umoci leaves the
# optional mediaType field out of its manifests, so the header is what says OCI).
content_type() {
	local host=${1%%/*} rest=${1#*/}
	curl -s -o /dev/null -w '%{content_type}' -H "Accept: $OCI_MANIFEST, $OCI_INDEX" \
		"http://$host/v2/${rest%:*}/manifests/${rest##*:}"
}

# layout_manifest TAG: the path of the manifest blob of TAG in the fixture layout.
layout_manifest() {
	local lay=$CTRBOX_FIXTURES/oci d
	d=$(jq -r --arg t "$1" '.manifests[] | select(.annotations."org.opencontainers.image.ref.name"==$t)
		| .digest' "$lay/index.json")
	[ -n "$d" ] || return 1
	echo "$lay/blobs/sha256/${d#sha256:}"
}

# layer_entries TAG: every entry of every layer tar of TAG, one a line, in layer order.
layer_entries() {
	local m l
	m=$(layout_manifest "$1")
	for l in $(jq -r '.layers[].digest' "$m"); do
		tar -tzf "$CTRBOX_FIXTURES/oci/blobs/sha256/${l#sha256:}"
	done
}

@test "fixtures: busybox is an OCI manifest with one gzip layer, Cmd sh and a PATH" {
	run -0 content_type "$BUSYBOX_IMAGE"
	assert_output "$OCI_MANIFEST"
	raw "$BUSYBOX_IMAGE"
	assert_equal "$(jq -r .config.mediaType <<<"$output")" application/vnd.oci.image.config.v1+json
	assert_equal "$(jq '.layers | length' <<<"$output")" 1
	assert_equal "$(jq -r '.layers[0].mediaType' <<<"$output")" application/vnd.oci.image.layer.v1.tar+gzip
	run -0 skopeo inspect --config --tls-verify=false "docker://$BUSYBOX_IMAGE"
	assert_equal "$(jq -c .config.Cmd <<<"$output")" '["sh"]'
	assert_equal "$(jq -r '.config.Env[] | select(startswith("PATH="))' <<<"$output")" \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	assert_equal "$(jq -r '.architecture + "/" + .os' <<<"$output")" amd64/linux
}

@test "fixtures: busybox's layer has the binary, the applets, passwd, group and /tmp" {
	run -0 layer_entries busybox
	local e
	for e in bin/busybox bin/sh bin/true bin/false bin/echo bin/cat bin/ls bin/sleep bin/id \
		bin/env bin/pwd bin/stty bin/mount bin/ps bin/hostname bin/wc bin/sha256sum \
		etc/passwd etc/group tmp/; do
		assert_line "$e"
	done
	m=$(layout_manifest busybox)
	l=$(jq -r '.layers[0].digest' "$m")
	run -0 tar -xzOf "$CTRBOX_FIXTURES/oci/blobs/sha256/${l#sha256:}" etc/passwd
	assert_line --regexp '^root:x:0:0:'
	assert_line --regexp '^nobody:x:65534:65534:'
	run -0 tar -tvzf "$CTRBOX_FIXTURES/oci/blobs/sha256/${l#sha256:}" tmp/
	assert_output --regexp '^drwxrwxrwt'
}

@test "fixtures: layers has 6 layers with whiteouts, an opaque dir, links and a setuid file" {
	run -0 content_type "$LAYERS_IMAGE"
	assert_output "$OCI_MANIFEST"
	raw "$LAYERS_IMAGE"
	assert_equal "$(jq '.layers | length' <<<"$output")" 6
	run -0 layer_entries layers
	assert_line data/.wh.delete.txt
	assert_line data/.wh.deldir
	assert_line data/opq/.wh.fresh2.txt
	assert_line data/opq/.wh..wh..opq
	m=$(layout_manifest layers)
	local l all=
	for l in $(jq -r '.layers[].digest' "$m"); do
		all+=$(tar -tvzf "$CTRBOX_FIXTURES/oci/blobs/sha256/${l#sha256:}")$'\n'
	done
	run -0 echo "$all"
	assert_line --regexp '^h.* data/hard2 link to data/hard1$'
	assert_line --regexp '^l.* data/link -> keep.txt$'
	assert_line --regexp '^-rwsr-xr-x .* data/suid$'
	assert_line --regexp ' data/tree/a/b/c/d/e/leaf.txt$'
}

@test "fixtures: layers.expect is the flattened rootfs (opaque and whiteouts applied)" {
	run -0 cat "$CTRBOX_FIXTURES/layers.expect"
	assert_line 'data/opq/fresh.txt f 644 0:0 1 6'
	assert_line 'data/hard1 f 644 0:0 2 15'
	assert_line 'data/suid f 4755 0:0 1 20'
	assert_line 'data/was-file l 0:0 modify.txt'
	assert_line 'data/keep.txt f 600 0:0 1 5'
	refute_line --regexp '^data/(delete.txt|deldir|opq/old1|opq/sub|opq/fresh2.txt)'
}

@test "fixtures: multi is an index of linux/amd64 and linux/arm64/v8" {
	run -0 content_type "$MULTI_IMAGE"
	assert_output "$OCI_INDEX"
	raw "$MULTI_IMAGE"
	assert_equal "$(jq -r .mediaType <<<"$output")" "$OCI_INDEX"
	assert_equal "$(jq -r '[.manifests[].platform | .os + "/" + .architecture + (if .variant then "/" + .variant else "" end)] | join(" ")' <<<"$output")" \
		"linux/amd64 linux/arm64/v8"
	run -0 skopeo inspect --config --tls-verify=false --override-arch arm64 --override-variant v8 \
		"docker://$MULTI_IMAGE"
	assert_equal "$(jq -r '.architecture + "/" + .variant' <<<"$output")" arm64/v8
}

@test "fixtures: the oci and docker archives hold busybox" {
	run -0 skopeo inspect --raw "oci-archive:$CTRBOX_FIXTURES/busybox.oci.tar:busybox"
	assert_equal "$(jq '.layers | length' <<<"$output")" 1
	run -0 tar -xOf "$CTRBOX_FIXTURES/busybox.docker.tar" manifest.json
	# skopeo writes the normalised name, as docker save does.
	assert_equal "$(jq -c '.[0].RepoTags' <<<"$output")" '["docker.io/ctrbox/busybox:latest"]'
	assert_equal "$(jq '.[0].Layers | length' <<<"$output")" 1
	run -0 skopeo inspect --raw "docker-archive:$CTRBOX_FIXTURES/busybox.docker.tar"
	assert_equal "$(jq '.layers | length' <<<"$output")" 1
}

@test "fixtures: the auth registry answers 401 without credentials, 200 with them" {
	run -0 curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY_AUTH/v2/"
	assert_output 401
	run -0 curl -s -o /dev/null -w '%{http_code}' -u "$REGISTRY_USER:wrong" "http://$REGISTRY_AUTH/v2/"
	assert_output 401
	run -0 curl -s -o /dev/null -w '%{http_code}' -u "$REGISTRY_USER:$REGISTRY_PASS" \
		"http://$REGISTRY_AUTH/v2/"
	assert_output 200
	raw "$AUTH_IMAGE" --creds "$REGISTRY_USER:$REGISTRY_PASS"
	assert_equal "$(jq '.layers | length' <<<"$output")" 1
	run -0 curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/"
	assert_output 200
}
