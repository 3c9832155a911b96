#!/usr/bin/env bash
# machine-info.sh - the facts a bench result is only meaningful with, as one
# JSON object on stdout: CPU model, vCPUs (online and allowed), kernel,
# load, memory, clock source, virtualisation, git revision.
# "machine_type" (model + allowed vCPUs) keys the committed baselines.
set -euo pipefail
cd "$(dirname "$0")/.."

model=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[ -n "$model" ] || model=$(uname -m)
online=$(getconf _NPROCESSORS_ONLN)
allowed=$(nproc)
read -r l1 l5 l15 _ < /proc/loadavg
mem_kb=$(awk '/^MemTotal/{print $2}' /proc/meminfo)
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)
virt=$(systemd-detect-virt 2>/dev/null || true)
[ -n "$virt" ] || { grep -qw hypervisor /proc/cpuinfo && virt=vm || virt=none; }
gov=$(cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor 2>/dev/null || echo n/a)
rev=$(git rev-parse HEAD 2>/dev/null || echo unknown)
short=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=false
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null | head -1)" ]; then dirty=true; fi

jq -n --arg model "$model" --argjson online "$online" --argjson allowed "$allowed" \
	--arg kernel "$(uname -r)" --arg arch "$(uname -m)" --arg host "$(hostname)" \
	--argjson l1 "$l1" --argjson l5 "$l5" --argjson l15 "$l15" --argjson mem_kb "$mem_kb" \
	--arg cs "$cs" --arg virt "$virt" --arg gov "$gov" \
	--arg rev "$rev" --arg short "$short" --argjson dirty "$dirty" \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	'{cpu_model: $model, vcpus_online: $online, vcpus_allowed: $allowed,
	  machine_type: ($model + " x" + ($allowed|tostring)),
	  kernel: $kernel, arch: $arch, host: $host,
	  load: {"1m": $l1, "5m": $l5, "15m": $l15}, mem_mib: ($mem_kb / 1024 | floor),
	  clocksource: $cs, virtualization: $virt, governor: $gov,
	  git: {revision: $rev, short: $short, dirty: $dirty}, date: $date}'
