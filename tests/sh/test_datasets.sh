#!/usr/bin/env bash
# datasets/ scripts without the network: options, local copies that fail their
# SHA-256 check (generated here), and that a failed run writes nothing.
set -u
cd "${LURN_TEST_SOURCE_DIR:-$(dirname "$0")/../..}"
pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
expect() {  # name, expected-substring, actual
  case "$3" in *"$2"*) ok "$1" ;; *) bad "$1" "expected '$2' in: $3" ;; esac
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export LURN=${LURN:-build/lurn}

for s in sst2 imdb uci-sentences tinyshakespeare; do
  out=$(bash datasets/$s --help); expect "$s --help" "bash datasets/$s [--from DIR] [--out DIR]" "$out"
  out=$(bash datasets/$s --bogus 2>&1); rc=$?
  expect "$s unknown option" "$s: unknown argument '--bogus' (try --help)" "$out"
  [ $rc = 1 ] && ok "$s exit 1" || bad "$s exit 1" "rc=$rc"
  out=$(bash datasets/$s --from "$tmp/none" 2>&1)
  expect "$s --from missing" "--from $tmp/none: not a directory" "$out"
  mkdir -p "$tmp/empty"
  out=$(LURN_DATA="$tmp/empty" bash datasets/$s --out "$tmp/out" 2>&1)
  expect "$s LURN_DATA without the files" "$s: $tmp/empty holds neither" "$out"
done

# generated copies are not the real files: refused, nothing written
mkdir -p "$tmp/fake/sst2" "$tmp/fake/aclImdb/train/pos" "$tmp/fake/aclImdb/train/neg"
printf 'sentence\tlabel\nfine\t1\n' > "$tmp/fake/sst2/train.tsv"
cp "$tmp/fake/sst2/train.tsv" "$tmp/fake/sst2/dev.tsv"
echo good > "$tmp/fake/aclImdb/train/pos/0_9.txt"; echo bad > "$tmp/fake/aclImdb/train/neg/0_1.txt"
printf '[{"text": "good", "class": 1}]' > "$tmp/fake/amazon.json"
cp "$tmp/fake/amazon.json" "$tmp/fake/yelp.json"; cp "$tmp/fake/amazon.json" "$tmp/fake/imdb.json"
out=$(bash datasets/sst2 --from "$tmp/fake" --out "$tmp/out" 2>&1)
expect "sst2 checksum" "sst2: $tmp/fake/sst2/train.tsv: SHA-256 is" "$out"
out=$(bash datasets/imdb --from "$tmp/fake" --out "$tmp/out" 2>&1)
expect "imdb checksum" "imdb: $tmp/fake/aclImdb/train: SHA-256 of the reviews is" "$out"
out=$(bash datasets/uci-sentences --from "$tmp/fake" --out "$tmp/out" 2>&1)
expect "uci checksum" "uci-sentences: $tmp/fake/amazon.json: SHA-256 is" "$out"
mkdir -p "$tmp/fake/tinyshakespeare"; echo "First Citizen:" > "$tmp/fake/tinyshakespeare/input.txt"
out=$(bash datasets/tinyshakespeare --from "$tmp/fake" --out "$tmp/out" 2>&1)
expect "tinyshakespeare checksum" "tinyshakespeare: $tmp/fake/tinyshakespeare/input.txt: SHA-256 is" "$out"
n=$(find "$tmp/out" -mindepth 1 | wc -l)
[ "$n" = 0 ] && ok "nothing written" || bad "nothing written" "$(find "$tmp/out")"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
