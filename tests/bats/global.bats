#!/usr/bin/env bats
# Global options, environment and the config file: flag > environment > config > default, and
# config errors that name the file, line and column.

setup() {
	load ../helpers
	sandbox
}

# info_value KEY: the VALUE and SOURCE columns of `ctrbox info` for KEY, as "value source".
info_value() {
	"$CTRBOX_BIN" "$@" info --format json |
		jq -r --arg k "$INFO_KEY" '.[] | select(.key == $k) | "\(.value) \(.source)"'
}

@test "global: ROOT precedence is flag > environment > config > default" {
	printf 'root: /from/config\nstate: /state/config\n' >"$CTRBOX_CONFIG"
	INFO_KEY=root
	assert_equal "$(info_value --root /from/flag)" "/from/flag flag"
	assert_equal "$(info_value)" "$CTRBOX_ROOT env"
	unset CTRBOX_ROOT
	assert_equal "$(info_value)" "/from/config config"
	: >"$CTRBOX_CONFIG"
	assert_equal "$(info_value)" "/var/lib/ctrbox default"
}

@test "global: STATE precedence is flag > environment > config > default" {
	printf 'state: /state/config\n' >"$CTRBOX_CONFIG"
	INFO_KEY=state
	assert_equal "$(info_value --state /s/flag)" "/s/flag flag"
	assert_equal "$(info_value)" "$CTRBOX_STATE env"
	unset CTRBOX_STATE
	assert_equal "$(info_value)" "/state/config config"
	: >"$CTRBOX_CONFIG"
	assert_equal "$(info_value)" "/run/ctrbox default"
}

@test "global: config precedence is flag > environment > default" {
	printf 'root: /a\n' >"$SANDBOX/a.yaml"
	printf 'root: /b\n' >"$SANDBOX/b.yaml"
	INFO_KEY=config
	export CTRBOX_CONFIG=$SANDBOX/b.yaml
	assert_equal "$(info_value --config "$SANDBOX/a.yaml")" "$SANDBOX/a.yaml flag"
	INFO_KEY=root
	unset CTRBOX_ROOT
	assert_equal "$(info_value --config "$SANDBOX/a.yaml")" "/a config"
	assert_equal "$(info_value)" "/b config"
	INFO_KEY=config
	assert_equal "$(info_value)" "$SANDBOX/b.yaml env"
}

@test "global: a relative --root is made absolute" {
	cd "$BATS_TEST_TMPDIR"
	INFO_KEY=root
	assert_equal "$(info_value --root rel/dir)" "$BATS_TEST_TMPDIR/rel/dir flag"
}

@test "global: host roots come from the environment, then the config" {
	printf 'host:\n  proc: /fixture/proc\n' >"$CTRBOX_CONFIG"
	INFO_KEY=host.proc
	assert_equal "$(info_value)" "/fixture/proc config"
	assert_equal "$(CTRBOX_HOST_PROC=/env/proc info_value)" "/env/proc env"
	INFO_KEY=host.sys
	assert_equal "$(info_value)" "/sys default"
}

@test "global: --log-level, --debug, the environment and the config set the verbosity" {
	INFO_KEY=log_level
	assert_equal "$(info_value)" "warn default"
	assert_equal "$(info_value --log-level info)" "info flag"
	assert_equal "$(info_value --debug)" "debug flag"
	assert_equal "$(CTRBOX_LOG_LEVEL=error info_value)" "error env"
	printf 'log_level: info\n' >"$CTRBOX_CONFIG"
	assert_equal "$(info_value)" "info config"
}

@test "global: a bad log level is a usage error" {
	ctrbox --log-level loud info
	assert_failure 2
	assert_equal "$stderr" 'ctrbox: log level "loud": expected error, warn, info or debug'
}

@test "global: a missing --config file is an error, a missing default one is not" {
	ctrbox --config "$SANDBOX/none.yaml" info
	assert_failure 1
	[[ $stderr == "ctrbox info: $SANDBOX/none.yaml"*"No such file or directory"* ]]
	unset CTRBOX_CONFIG
	# The built-in default path may be absent: then the defaults apply.
	if [ ! -e /etc/ctrbox/config.yaml ]; then
		ctrbox info -q
		assert_success
	fi
}

@test "global: an unknown config key names the file, line and column" {
	printf '# comment\nroot: /r\n\nevents:\n  rotate_sise: 1MiB\n' >"$CTRBOX_CONFIG"
	ctrbox info
	assert_failure 1
	assert_output ""
	[[ $stderr == "ctrbox info: $CTRBOX_CONFIG:5:3: unknown key \"rotate_sise\""* ]]
	[[ $stderr == *'did you mean "rotate_size"?'* ]]
}

@test "global: a wrong type in the config names the file, line and column" {
	printf 'root: /r\nhost: /proc\n' >"$CTRBOX_CONFIG"
	ctrbox info
	assert_failure 1
	[[ $stderr == "ctrbox info: $CTRBOX_CONFIG:2:"* ]]
	[[ $stderr == *"expected a mapping"* ]]
}

@test "global: a bad value in the config names the file, line and column" {
	printf 'events:\n  max_age: forever\n' >"$CTRBOX_CONFIG"
	ctrbox info
	assert_failure 1
	[[ $stderr == "ctrbox info: $CTRBOX_CONFIG:2:12: "* ]]
}

@test "global: YAML syntax errors name the file, line and column" {
	printf 'root: /r\nstate: [unclosed\n' >"$CTRBOX_CONFIG"
	ctrbox info
	assert_failure 1
	[[ $stderr =~ ^"ctrbox info: $CTRBOX_CONFIG:"[0-9]+:[0-9]+": " ]]
}

@test "global: the config's journal limits are used" {
	printf 'events:\n  rotate_size: 1MiB\n  max_size: 128MiB\n  max_age: 3d\n' >"$CTRBOX_CONFIG"
	INFO_KEY=events.rotate_size_bytes
	assert_equal "$(info_value)" "1048576 config"
	INFO_KEY=events.max_size_bytes
	assert_equal "$(info_value)" "134217728 config"
}

@test "global: help and completion work even with a broken config" {
	printf 'bogus: 1\n' >"$CTRBOX_CONFIG"
	ctrbox help info
	assert_success
	ctrbox __complete in
	assert_success
	assert_line --partial info
	ctrbox --version
	assert_success
}
