# bench/lib-containerd.sh - a private containerd for the benchmarks that compare against it
# (bench/pull.sh, bench/run.sh, bench/relist.sh): its own root, state, sockets and opt dir under
# one directory, nothing shared with a containerd the machine may run, stopped by its PID.
# Sourced, not run. After ctr_start DIR:
#   ctr_pid    containerd's PID
#   ctr_sock   its gRPC socket; run `ctr --address "$ctr_sock" ...`, or the ctrd wrapper
#   ctr_dir    DIR
#   ctr_ns     its containerd namespace, unique to this run and exported as
#              CONTAINERD_NAMESPACE: the runc shim keeps runc's state in
#              /run/containerd/runc/<namespace> whatever containerd's root, so two benchmarks
#              (or a containerd of the machine) naming containers alike must not share one
# ctr_stop kills and deletes its tasks and containers, stops containerd (TERM, then KILL),
# ends any shim of it still running (found by the socket path in their arguments, so only
# ours), and lazily unmounts what is left mounted under DIR; removing DIR is the caller's.
# shellcheck shell=bash

ctr_pid='' ctr_sock='' ctr_dir='' ctr_ns=''

ctrd() { ctr --address "$ctr_sock" --namespace "$ctr_ns" "$@"; }

ctr_start() { # DIR
	local d=$1 i
	mkdir -p "$d/root" "$d/state"
	ctr_dir=$d ctr_sock=$d/c.sock ctr_ns=ctrbox-bench-$$-$RANDOM
	export CONTAINERD_NAMESPACE=$ctr_ns
	cat >"$d/config.toml" <<-EOF
		version = 2
		root = "$d/root"
		state = "$d/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
		  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
		  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp",
		  "io.containerd.internal.v1.tracing"]
		[grpc]
		  address = "$d/c.sock"
		[ttrpc]
		  address = "$d/c.sock.ttrpc"
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$d/opt"
	EOF
	containerd --config "$d/config.toml" >"$d/containerd.log" 2>&1 </dev/null &
	ctr_pid=$!
	for ((i = 0; i < 200; i++)); do
		ctr --address "$ctr_sock" version >/dev/null 2>&1 && return 0
		kill -0 "$ctr_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "lib-containerd: containerd did not start; $d/containerd.log:" >&2
	tail -n 20 "$d/containerd.log" >&2
	return 1
}

# The PIDs of the shims this containerd started: their command line names our socket.
ctr_shim_pids() {
	local p
	[ -n "$ctr_sock" ] || return 0
	for p in /proc/[0-9]*; do
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "containerd-shim.*-address $ctr_sock " &&
			echo "${p#/proc/}"
	done
	return 0
}

ctr_stop() {
	local id i p
	[ -n "$ctr_pid" ] || return 0
	if kill -0 "$ctr_pid" 2>/dev/null; then
		for id in $(ctrd task ls -q 2>/dev/null); do
			ctrd task kill -s KILL "$id" >/dev/null 2>&1 || true
		done
		for id in $(ctrd containers ls -q 2>/dev/null); do
			ctrd task delete -f "$id" >/dev/null 2>&1 || true
			ctrd containers rm "$id" >/dev/null 2>&1 || true
		done
	fi
	kill "$ctr_pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$ctr_pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$ctr_pid" 2>/dev/null || true
	wait "$ctr_pid" 2>/dev/null || true
	for p in $(ctr_shim_pids); do kill -9 "$p" 2>/dev/null || true; done
	rmdir "/run/containerd/runc/$ctr_ns" 2>/dev/null || true
	# Deepest first: rootfs overlays of tasks that did not get deleted.
	awk -v d="$ctr_dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r |
		while read -r p; do umount -l "$p" 2>/dev/null || true; done
	ctr_pid=
}
