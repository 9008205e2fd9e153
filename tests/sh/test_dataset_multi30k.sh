#!/usr/bin/env bash
# datasets/multi30k without the network: options, a --from directory without the files,
# generated .gz files that fail their SHA-256 check (refused, nothing written).
. "$(dirname "$0")/cli_lib.sh"
cd "$SRC"
out=$(bash datasets/multi30k --help); expect "--help" "bash datasets/multi30k [--from DIR] [--out DIR]" "$out"
out=$(bash datasets/multi30k --bogus 2>&1); rc=$?
expect "unknown option" "multi30k: unknown argument '--bogus' (try --help)" "$out"
[ $rc = 1 ] && ok "exit 1" || bad "exit 1" "rc=$rc"
out=$(bash datasets/multi30k --from "$tmp/none" 2>&1)
expect "--from missing" "--from $tmp/none: not a directory" "$out"
mkdir -p "$tmp/empty"
out=$(LURN_DATA="$tmp/empty" bash datasets/multi30k --out "$tmp/out" 2>&1)
expect "LURN_DATA without the files" "multi30k: $tmp/empty holds no train.de.gz" "$out"
mkdir -p "$tmp/fake/multi30k"
for f in train.de train.en val.de val.en test_2016_flickr.de test_2016_flickr.en; do
  echo "Ein Satz." | gzip > "$tmp/fake/multi30k/$f.gz"
done
out=$(bash datasets/multi30k --from "$tmp/fake" --out "$tmp/out" 2>&1); rc=$?
expect "a generated copy fails its checksum" "multi30k: $tmp/fake/multi30k/train.de.gz: SHA-256 is" "$out"
[ $rc = 1 ] && ok "checksum failure: exit 1" || bad "checksum failure: exit 1" "rc=$rc"
n=$(find "$tmp/out" -mindepth 1 2>/dev/null | wc -l)
[ "$n" -eq 0 ] && ok "nothing written" || bad "nothing written" "$(find "$tmp/out")"
finish
