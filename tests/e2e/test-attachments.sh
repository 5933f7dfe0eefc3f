#!/usr/bin/env bash
# test-attachments.sh - uploads (POST /api/attachments): each kind judged by
# its content (a PNG, a JPEG, a WEBP, a GIF; text; a PDF through pdftotext
# when installed), an animated GIF and a renamed program refused, the limits
# (413 naming the key), the storage quota counting them and refusing past
# it, GET with the bytes and the mime type, DELETE of an unused one, another
# user's id a 404; then prompts with them: an image to a vision model
# reaches the fake upstream as an image_url part with the same bytes, is
# refused for a text-only model, a text file is a fenced block, another
# user's id is invalid_request, the start frame and REST carry the
# metadata, exports embed or name them, and deleting the conversation
# deletes them.
. "$(dirname "$0")/lib.sh"
# rows SQL: one value from the database, read beside the stack.
rows() { "$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$T/state/lightchat.db" "$1"; }
# up JAR FILE NAME: uploads FILE as NAME; prints the status, then the body.
up() {
	curl -s -o "$T/up.body" -w '%{http_code}' -b "$1" -H 'Content-Type: application/octet-stream' \
		--data-binary "@$2" "$BASE/api/attachments?name=$3"
	printf ' '; cat "$T/up.body"
}

stack_start LIGHTCHAT_ATTACHMENT_MAX_BYTES=200000 LIGHTCHAT_ATTACHMENT_TEXT_MAX=5000 \
	LIGHTCHAT_USER_STORAGE_QUOTA=500000 LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=1000 || finish
J=$T/jar
JB=$T/jar-bob
login alice "$PW_alice" "$J" >/dev/null
login bob "$PW_bob" "$JB" >/dev/null
F=$T/files
mkdir "$F"
"$PY" "$ROOT/tests/make_files.py" "$F"

# Each kind, by its content.
out=$(up "$J" "$F/a.png" a.png)
assert_eq "a PNG: 201" "${out%% *}" "201"
assert_eq "a PNG's metadata" "$(jq -c '[.kind,.mime,.name,.bytes,.width,.height]' <<<"${out#* }")" \
	"[\"image\",\"image/png\",\"a.png\",$(stat -c %s "$F/a.png"),3,2]"
PNG=$(jq -r .id <<<"${out#* }")
assert_match "its id is 32 hex digits" "$PNG" '^[0-9a-f]{32}$'
out=$(up "$J" "$F/b.jpg" photo.jpeg)
assert_eq "a JPEG: its size from the frame header" "${out%% *} $(jq -c '[.kind,.mime,.width,.height]' <<<"${out#* }")" \
	'201 ["image","image/jpeg",640,480]'
out=$(up "$J" "$F/c.webp" c.webp)
assert_eq "a WEBP" "${out%% *} $(jq -c '[.mime,.width,.height]' <<<"${out#* }")" '201 ["image/webp",100,50]'
out=$(up "$J" "$F/d.gif" d.gif)
assert_eq "a GIF of one frame" "${out%% *} $(jq -c '[.mime,.width,.height]' <<<"${out#* }")" '201 ["image/gif",4,4]'
out=$(up "$J" "$F/anim.gif" anim.gif)
assert_eq "an animated GIF: 415" "${out%% *} $(jq -r .error.code <<<"${out#* }")" "415 unsupported_media_type"
assert_match "saying why" "$(jq -r .error.message <<<"${out#* }")" 'animated'
out=$(up "$J" "$F/notes.md" notes.md)
assert_eq "a text file" "${out%% *} $(jq -c '[.kind,.mime,.name,.bytes]' <<<"${out#* }")" \
	"201 [\"text\",\"text/plain\",\"notes.md\",$(stat -c %s "$F/notes.md")]"
TXT=$(jq -r .id <<<"${out#* }")
assert_eq "no width for text" "$(jq -c 'has("width")' <<<"${out#* }")" "false"
out=$(up "$J" "$F/setup.png" setup.png)
assert_eq "a program named .png: 415" "${out%% *} $(jq -r .error.code <<<"${out#* }")" "415 unsupported_media_type"
out=$(curl -s -b "$J" -H 'Content-Type: image/png' --data-binary "@$F/setup.png" "$BASE/api/attachments?name=x.exe")
assert_eq "whatever its Content-Type says" "$(jq -r .error.code <<<"$out")" "unsupported_media_type"
if command -v pdftotext >/dev/null; then
	out=$(up "$J" "$F/e.pdf" report.pdf)
	assert_eq "a PDF becomes its text (pdftotext)" "${out%% *} $(jq -c '[.kind,.mime,.name]' <<<"${out#* }")" \
		'201 ["text","text/plain","report.pdf"]'
	PDF=$(jq -r .id <<<"${out#* }")
	assert_match "the PDF's text is stored" "$(curl -s -b "$J" "$BASE/api/attachments/$PDF")" 'Hello from the PDF'
else
	ok "# SKIP pdftotext is not installed (poppler-utils)"
fi

# GET: the bytes and the mime type; another user's is a 404.
curl -s -D "$T/h" -o "$T/got.png" -b "$J" "$BASE/api/attachments/$PNG"
check "GET gives the same bytes" cmp -s "$T/got.png" "$F/a.png"
assert_match "with its mime type" "$(grep -i '^content-type' "$T/h")" 'image/png'
assert_match "Cache-Control: private" "$(grep -i '^cache-control' "$T/h")" 'private'
assert_match "text as text/plain; charset=utf-8" \
	"$(curl -s -D - -o /dev/null -b "$J" "$BASE/api/attachments/$TXT" | grep -i '^content-type')" 'text/plain; charset=utf-8'
out=$(curl -s -w ' %{http_code}' -b "$JB" "$BASE/api/attachments/$PNG")
assert_eq "another user's id: 404" "$(jq -r .error.code <<<"${out% *}") ${out##* }" "not_found 404"
assert_eq "a malformed id: 404 No such attachment" \
	"$(curl -s -b "$J" "$BASE/api/attachments/xyz" | jq -r .error.message)" "No such attachment"
assert_eq "without a login: 401" "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/attachments/$PNG")" "401"
assert_eq "without ?name=: 400" "$(curl -s -o /dev/null -w '%{http_code}' -b "$J" --data-binary "@$F/a.png" "$BASE/api/attachments")" "400"

# The limits: per file (attachment_max_bytes), per text (attachment_text_max).
head -c 200001 /dev/zero | tr '\0' 'x' >"$F/big.txt"
out=$(up "$J" "$F/big.txt" big.txt)
assert_eq "past attachment_max_bytes: 413" "${out%% *} $(jq -r .error.code <<<"${out#* }")" "413 too_large"
assert_match "naming the limit" "$(jq -r .error.message <<<"${out#* }")" '200000 \(attachment_max_bytes\)'
head -c 6000 /dev/zero | tr '\0' 'y' >"$F/long.txt"
out=$(up "$J" "$F/long.txt" long.txt)
assert_eq "past attachment_text_max: 413" "${out%% *} $(jq -r .error.code <<<"${out#* }")" "413 too_large"
assert_match "naming the limit" "$(jq -r .error.message <<<"${out#* }")" '5000 \(attachment_text_max\)'
head -c 70000 /dev/urandom >"$F/noise.bin"
{ printf '\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x10\0\0\0\x10'; cat "$F/noise.bin"; } >"$F/big.png"
out=$(up "$J" "$F/big.png" big.png)
assert_eq "an upload over lighttpd's 64 KB of other paths passes" "${out%% *} $(jq -c '[.width,.height]' <<<"${out#* }")" "201 [16,16]"
BIG=$(jq -r .id <<<"${out#* }")

# Counted in the storage quota (500000): alice's usage has them all.
sum=$(rows "SELECT sum(length(data)) FROM attachments WHERE user = 'alice'")
assert_eq "user_usage counts the attachments' bytes" "$(rows "SELECT bytes FROM user_usage WHERE user = 'alice'")" "$sum"
for i in 1 2 3 4 5 6; do up "$J" "$F/big.png" "b$i.png" >/dev/null; done
out=$(up "$J" "$F/big.png" b7.png)
assert_eq "past the quota: quota_exceeded" "${out%% *} $(jq -r .error.code <<<"${out#* }")" "413 quota_exceeded"
assert_match "naming the quota" "$(jq -r .error.message <<<"${out#* }")" 'of 500000 bytes stored \(user_storage_quota\)'

# DELETE: an unused one goes, and its bytes with it; another user's is 404.
assert_eq "DELETE of another user's: 404" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -b "$JB" "$BASE/api/attachments/$BIG")" "404"
before=$(rows "SELECT bytes FROM user_usage WHERE user = 'alice'")
assert_eq "DELETE of an unused one: 204" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -b "$J" "$BASE/api/attachments/$BIG")" "204"
assert_eq "its bytes leave the usage" "$(rows "SELECT bytes FROM user_usage WHERE user = 'alice'")" "$((before - $(stat -c %s "$F/big.png")))"
assert_eq "then it is a 404" "$(curl -s -o /dev/null -w '%{http_code}' -b "$J" "$BASE/api/attachments/$BIG")" "404"
for id in $("$PY" -c 'import sqlite3,sys; [print(r[0]) for r in sqlite3.connect(sys.argv[1]).execute("SELECT id FROM attachments WHERE name GLOB ?", ("b?.png",))]' "$T/state/lightchat.db"); do
	curl -s -o /dev/null -X DELETE -b "$J" "$BASE/api/attachments/$id"
done
out=$(up "$J" "$F/big.png" b8.png)
assert_eq "room again after the deletes" "${out%% *}" "201"

#PROMPTS

stack_stop
finish
