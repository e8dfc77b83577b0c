#!/bin/bash
# Writes the files an earlier release left (the server's database and two office
# replicas, with cases, a conflict, a withheld change and a restore in them), for
# UpgradeTests: the release under test opens them and keeps syncing.
#
#   Tests/SyncEndToEndTests/Fixtures/make-release-files.sh BIN_DIR OUT_DIR
#
# BIN_DIR holds that release's `rain` and `rain-server`. Times are fixed through
# $RAIN_CLOCK_OFFSET_MS only where a restore needs hours to pass.
set -euo pipefail
bin=$1
out=$(realpath -m "$2")
rm -rf "$out" && mkdir -p "$out"
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
server_bin="$bin/rain-server"
rain() { "$bin/rain" "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

"$server_bin" office add HSD --name 和盛区 --level district --db central.sqlite >/dev/null
"$server_bin" office add JD1 --name 和平街道 --level street --parent HSD --db central.sqlite >/dev/null
"$server_bin" office add HSM --name 和盛社区 --level community --parent JD1 --db central.sqlite >/dev/null
"$server_bin" office add XQ --name 新桥社区 --level community --parent JD1 --db central.sqlite >/dev/null
"$server_bin" serve --db central.sqlite --port 0 >serve.out 2>serve.log &
server=$!
for _ in $(seq 1 100); do grep -q "listening on" serve.out 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.*listening on \([^ ]*\) .*/\1/p' serve.out)
token() { "$server_bin" office token "$1" --json --db central.sqlite | json '["token"]'; }

rain init --office HSM --staff 李娜 --server "$url" --token "$(token HSM)" --db hsm.sqlite >/dev/null
rain init --office JD1 --staff 王五 --server "$url" --token "$(token JD1)" --db jd1.sqlite >/dev/null
new() { rain case new --kind complaint --category 环境卫生 --title "$2" --citizen 张三 --phone 13812345678 --json --db "$1" | json '["number"]'; }

a=$(new hsm.sqlite 楼道堆放杂物)
b=$(new hsm.sqlite 路灯不亮)
rain case note "$a" 已上门查看 --visit --db hsm.sqlite >/dev/null
rain sync --db hsm.sqlite >/dev/null
rain sync --db jd1.sqlite >/dev/null
# A conflict: both offices retitle case A offline.
rain case edit "$a" --title 楼道堆放纸箱 --db hsm.sqlite >/dev/null
rain case edit "$a" --title 三楼楼道堆放杂物 --db jd1.sqlite >/dev/null
rain sync --db hsm.sqlite >/dev/null
rain sync --db jd1.sqlite >/dev/null
rain sync --db hsm.sqlite >/dev/null
# A withheld change: a community may not hand a case to another community.
rain case reassign "$b" --to XQ --reason 属新桥社区 --db hsm.sqlite >/dev/null
rain sync --db hsm.sqlite >/dev/null
# A restore: the laptop's disk is restored from a copy older than its last sync.
cp hsm.sqlite backup.sqlite
c=$(new hsm.sqlite 垃圾满溢)
rain sync --db hsm.sqlite >/dev/null
rm -f hsm.sqlite-wal hsm.sqlite-shm
cp backup.sqlite hsm.sqlite
export RAIN_CLOCK_OFFSET_MS=7200000
d=$(new hsm.sqlite 井盖缺失)
rain sync --db hsm.sqlite >/dev/null
rain sync --db jd1.sqlite >/dev/null
kill -TERM $server
wait $server || true
cp central.sqlite hsm.sqlite jd1.sqlite "$out/"
printf '%s\n' "$a" "$b" "$c" "$d" >"$out/numbers.txt"
echo "wrote $out: cases $a $b $c $d"
