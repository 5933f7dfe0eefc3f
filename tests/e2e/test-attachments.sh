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
rows() { q "$1" | head -1; }
# cprompt MSGID TEXT ATTACHMENTS_JSON [CONV [MODEL]]: a conversation-shaped
# prompt with attachments.
cprompt() {
	jq -cn --arg id "$1" --arg t "$2" --argjson a "$3" --arg c "${4:-}" --arg m "${5:-gpt-4o-mini}" \
		'{action:"sendprompt",payload:({msgid:$id,prompt:$t,stream:true,attachments:$a,
		params:{model_name:$m}} + (if $c == "" then {} else {conversation_id:$c} end))}'
}
# last_body: the last chat request the fake upstream got.
last_body() { curl -s "$UP/_requests" | jq -c '.[-1]'; }
# up JAR FILE NAME: uploads FILE as NAME; prints the status, then the body.
up() {
	curl -s -o "$T/up.body" -w '%{http_code}' -b "$1" -H 'Content-Type: application/octet-stream' \
		--data-binary "@$2" "$BASE/api/attachments?name=$3"
	printf ' '; cat "$T/up.body"
}

stack_start LIGHTCHAT_MODELS=gpt-4o-mini,o3-mini LIGHTCHAT_ATTACHMENT_MAX_BYTES=200000 LIGHTCHAT_ATTACHMENT_TEXT_MAX=5000 \
	LIGHTCHAT_USER_STORAGE_QUOTA=500000 LIGHTCHAT_MAX_MESSAGES_PER_MINUTE=1000 \
	LIGHTCHAT_PROMPT_ATTACHMENTS_MAX=3 LIGHTCHAT_PROMPT_ATTACHMENTS_BYTES=100000 || finish
J=$T/jar
JB=$T/jar-bob
login alice "$PW_alice" "$J" >/dev/null
login bob "$PW_bob" "$JB" >/dev/null
F=$T/files
mkdir "$F"
"$PY" "$ROOT/tests/make_files.py" "$F"

assert_eq "/api/me states the limits" "$(curl -s -b "$J" "$BASE/api/me" | jq -c '.attachments | [.max_bytes, .text_max, .per_prompt, .prompt_bytes, .image_max_side]')" \
	'[200000,5000,3,100000,2048]'

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
assert_match "and nosniff" "$(grep -i '^x-content-type-options' "$T/h")" 'nosniff'
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
sum=$(rows "SELECT sum(length(data)) FROM attachments WHERE \"user\" = 'alice'")
assert_eq "user_usage counts the attachments' bytes" "$(rows "SELECT bytes FROM user_usage WHERE \"user\" = 'alice'")" "$sum"
for i in 1 2 3 4 5 6; do up "$J" "$F/big.png" "b$i.png" >/dev/null; done
out=$(up "$J" "$F/big.png" b7.png)
assert_eq "past the quota: quota_exceeded" "${out%% *} $(jq -r .error.code <<<"${out#* }")" "413 quota_exceeded"
assert_match "naming the quota" "$(jq -r .error.message <<<"${out#* }")" 'of 500000 bytes stored \(user_storage_quota\)'

# DELETE: an unused one goes, and its bytes with it; another user's is 404.
assert_eq "DELETE of another user's: 404" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -b "$JB" "$BASE/api/attachments/$BIG")" "404"
before=$(rows "SELECT bytes FROM user_usage WHERE \"user\" = 'alice'")
assert_eq "DELETE of an unused one: 204" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -b "$J" "$BASE/api/attachments/$BIG")" "204"
assert_eq "its bytes leave the usage" "$(rows "SELECT bytes FROM user_usage WHERE \"user\" = 'alice'")" "$((before - $(stat -c %s "$F/big.png")))"
assert_eq "then it is a 404" "$(curl -s -o /dev/null -w '%{http_code}' -b "$J" "$BASE/api/attachments/$BIG")" "404"
for id in $(q "SELECT id FROM attachments WHERE name LIKE 'b_.png'"); do
	curl -s -o /dev/null -X DELETE -b "$J" "$BASE/api/attachments/$id"
done
out=$(up "$J" "$F/big.png" b8.png)
assert_eq "room again after the deletes" "${out%% *}" "201"

# An unused one older than a day goes at the next upload (anyone's).
OLD=$(up "$J" "$F/d.gif" old.gif | cut -d' ' -f2- | jq -r .id)
q "UPDATE attachments SET created_at = created_at - 86500000 WHERE id = '$OLD'" >/dev/null
up "$JB" "$F/d.gif" bobs.gif >/dev/null
assert_eq "an unused attachment older than a day is purged" "$(rows "SELECT count(*) FROM attachments WHERE id = '$OLD'")" "0"

# Prompts with attachments: an image and a text file to a vision model.
P1=$(up "$J" "$F/a.png" a.png | cut -d' ' -f2- | jq -r .id)
T1=$(up "$J" "$F/notes.md" notes.md | cut -d' ' -f2- | jq -r .id)
out=$(ws "$J" "$(cprompt v1 "What is this?" "[\"$P1\",\"$T1\"]")")
assert_eq "a prompt with an image and a text file is answered" "$(final "$out" | jq -r .type)" "reply"
C1=$(printf '%s\n' "$out" | jq -r 'select(.type=="start") | .conversation_id' | head -1)
assert_eq "the start frame carries the attachments' metadata" \
	"$(printf '%s\n' "$out" | jq -c 'select(.type=="start") | [.attachments[] | [.id, .kind, .name]]')" \
	"[[\"$P1\",\"image\",\"a.png\"],[\"$T1\",\"text\",\"notes.md\"]]"
body=$(last_body)
assert_eq "upstream: the user message's content is parts (text, image_url)" \
	"$(jq -c '.messages[-1].content | map(.type)' <<<"$body")" '["text","image_url"]'
assert_eq "the text part: the prompt, then the text file as a fenced block" \
	"$(jq -r --rawfile f "$F/notes.md" '.messages[-1].content[0].text == "What is this?\n\n```notes.md\n\($f)\n```"' <<<"$body")" "true"
assert_eq "the image part: a data URL of the same bytes" \
	"$(jq -r '.messages[-1].content[1].image_url.url' <<<"$body")" "data:image/png;base64,$(base64 -w0 "$F/a.png")"
rest=$(curl -s -b "$J" "$BASE/api/conversations/$C1")
assert_eq "REST: the user message carries its attachments" \
	"$(jq -c '.messages[0].attachments | map([.id, .mime, .bytes])' <<<"$rest")" \
	"[[\"$P1\",\"image/png\",$(stat -c %s "$F/a.png")],[\"$T1\",\"text/plain\",$(stat -c %s "$F/notes.md")]]"
assert_eq "REST: the reply has none" "$(jq -c '.messages[1] | has("attachments")' <<<"$rest")" "false"
assert_eq "a used attachment cannot be deleted alone: 409" \
	"$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -b "$J" "$BASE/api/attachments/$P1")" "409"

# The next prompt: the small image still fits in context_budget: re-sent.
out=$(ws "$J" "$(cprompt v2 "And now?" '[]' "$C1")")
body=$(last_body)
assert_eq "a later prompt re-sends an earlier image that fits" \
	"$(jq -c '[(.messages[0].content | map(.type)), (.messages[-1].content | type)]' <<<"$body")" '[["text","image_url"],"string"]'
assert_match "and the earlier text file" "$(jq -r '.messages[0].content[0].text' <<<"$body")" 'print'

# An image past what the budget leaves (70 KB is 93 KB of base64, the
# budget 48000 bytes): sent with its own prompt, not re-sent after.
B1=$(up "$J" "$F/big.png" big.png | cut -d' ' -f2- | jq -r .id)
out=$(ws "$J" "$(cprompt v3 "Big one" "[\"$B1\"]")")
C2=$(printf '%s\n' "$out" | jq -r 'select(.type=="start") | .conversation_id' | head -1)
assert_eq "a large image is sent with its own prompt" "$(last_body | jq -c '.messages[-1].content | map(.type)')" '["text","image_url"]'
ws "$J" "$(cprompt v4 "Next" '[]' "$C2")" >/dev/null
assert_eq "and not re-sent once it does not fit the budget" "$(last_body | jq -c '[.messages[] | .content | type]')" \
	'["string","string","string"]'

# Refused: an image for a text-only model, another user's id, an unknown id.
P2=$(up "$J" "$F/d.gif" d.gif | cut -d' ' -f2- | jq -r .id)
n=$(curl -s "$UP/_requests" | jq length)
out=$(ws "$J" "$(cprompt r1 "see" "[\"$P2\"]" "" o3-mini)")
assert_eq "an image for a text-only model: invalid_request on attachments" \
	"$(final "$out" | jq -c '[.error.code, .error.field]')" '["invalid_request","attachments"]'
assert_match "naming the model" "$(final "$out" | jq -r .error.message)" 'o3-mini does not take images'
assert_eq "nothing went upstream" "$(curl -s "$UP/_requests" | jq length)" "$n"
T2=$(up "$J" "$F/notes.md" notes.md | cut -d' ' -f2- | jq -r .id)
assert_eq "a text file for a text-only model is fine" \
	"$(final "$(ws "$J" "$(cprompt r2 "read" "[\"$T2\"]" "" o3-mini)")" | jq -r .type)" "reply"
out=$(ws "$JB" "$(cprompt r3 "mine?" "[\"$P2\"]")")
assert_eq "another user's attachment in a prompt: invalid_request" \
	"$(final "$out" | jq -c '[.error.code, .error.field]')" '["invalid_request","attachments"]'
assert_match "as if it did not exist" "$(final "$out" | jq -r .error.message)" "no such attachment"
out=$(ws "$J" "$(cprompt r4 "x" '["0123456789abcdef0123456789abcdef"]')")
assert_eq "an unknown id: invalid_request" "$(final "$out" | jq -r .error.code)" "invalid_request"
out=$(ws "$J" "$(cprompt r5 "x" '["nope"]')")
assert_eq "a malformed id: invalid_request" "$(final "$out" | jq -c '[.error.code, .error.field]')" '["invalid_request","attachments"]'
out=$(ws "$J" "$(cprompt r6 "again" "[\"$P1\"]" "$C2")")
assert_match "an attachment already sent in another conversation: refused" "$(final "$out" | jq -r .error.message)" 'another conversation'
ids=$(jq -cn '[range(4) | "0123456789abcdef0123456789abcde\(.)"]')
out=$(ws "$J" "$(cprompt r8 "many" "$ids")")
assert_match "past prompt_attachments_max: refused, naming it" "$(final "$out" | jq -r '.error.code + " " + .error.message')" \
	'^invalid_request at most 3 attachments per prompt \(prompt_attachments_max\)'
G1=$(up "$J" "$F/big.png" g1.png | cut -d' ' -f2- | jq -r .id)
G2=$(up "$J" "$F/big.png" g2.png | cut -d' ' -f2- | jq -r .id)
out=$(ws "$J" "$(cprompt r9 "two big" "[\"$G1\",\"$G2\"]")")
assert_match "past prompt_attachments_bytes: refused, naming it" "$(final "$out" | jq -r '.error.code + " " + .error.message')" \
	'^invalid_request these attachments are 140048 bytes; a prompt may carry at most 100000 \(prompt_attachments_bytes\)'
assert_eq "one of them alone is fine" "$(final "$(ws "$J" "$(cprompt r10 "one big" "[\"$G1\"]")")" | jq -r .type)" "reply"
# An edit of the last prompt may send its attachment again.
E1=$(up "$J" "$F/c.webp" e.webp | cut -d' ' -f2- | jq -r .id)
out=$(ws "$J" "$(cprompt e1 "first" "[\"$E1\"]")")
C3=$(printf '%s\n' "$out" | jq -r 'select(.type=="start") | .conversation_id' | head -1)
ed=$(cprompt e2 "edited" "[\"$E1\"]" "$C3" | jq -c '.payload.edit_last = true')
assert_eq "edit_last with the same attachment" "$(final "$(ws "$J" "$ed")" | jq -r .type)" "reply"
assert_eq "the edited prompt has it" "$(curl -s -b "$J" "$BASE/api/conversations/$C3" | jq -c '[(.messages | length), .messages[0].content, .messages[0].attachments[0].id]')" \
	"[2,\"edited\",\"$E1\"]"
# The old version keeps its file: a copy under another id, with its name.
old_v=$(curl -s -b "$J" "$BASE/api/conversations/$C3" | jq -r --argjson me "$(curl -s -b "$J" "$BASE/api/conversations/$C3" | jq '.messages[0].id')" '.messages[0].siblings.ids[] | select(. != $me)')
sw=$(jq -cn --arg c "$C3" --argjson m "${old_v:-0}" '{action:"switch",payload:{conversation_id:$c,message_id:$m}}')
assert_eq "switched back to the first version" "$(WSOPTS="--close-after 1 --timeout 10" ws "$J" "$sw" | jq -r .type)" "switched"
assert_eq "the first version still has its file, as a copy" "$(curl -s -b "$J" "$BASE/api/conversations/$C3" | jq -c --arg e "$E1" '[.messages[0].content, .messages[0].attachments[0].name, (.messages[0].attachments[0].id != $e)]')" \
	'["first","e.webp",true]'
if [ -n "${PDF:-}" ]; then
	ws "$J" "$(cprompt r7 "summarise" "[\"$PDF\"]")" >/dev/null
	assert_match "a PDF's text upstream as a fenced block" "$(last_body | jq -r '.messages[-1].content')" \
		'```report.pdf'$'\n''Hello from the PDF'
fi

# Exports: JSON embeds them (base64), Markdown names them.
exp=$(curl -s -b "$J" "$BASE/api/conversations/$C1/export?format=json")
assert_eq "the JSON export embeds the image's bytes" \
	"$(jq -r '.messages[0].attachments[0].data' <<<"$exp")" "$(base64 -w0 "$F/a.png")"
assert_eq "and the metadata" "$(jq -c '.messages[0].attachments[1] | [.name, .kind]' <<<"$exp")" '["notes.md","text"]'
md=$(curl -s -b "$J" "$BASE/api/conversations/$C1/export?format=md")
assert_match "the Markdown export names them" "$md" "📎 a.png \\(image, $(stat -c %s "$F/a.png") B\\)"
assert_match "with the text file" "$md" '📎 notes.md \(text, [0-9]+ B\)'

# Deleted with the conversation, and their bytes with them.
before=$(rows "SELECT bytes FROM user_usage WHERE \"user\" = 'alice'")
assert_eq "DELETE the conversation" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -b "$J" "$BASE/api/conversations/$C1")" "204"
assert_eq "its attachments are gone" "$(rows "SELECT count(*) FROM attachments WHERE id IN ('$P1','$T1')")" "0"
assert_eq "GET of one: 404" "$(curl -s -o /dev/null -w '%{http_code}' -b "$J" "$BASE/api/attachments/$P1")" "404"
assert_eq "the usage counts them out" "$(rows "SELECT bytes FROM user_usage WHERE \"user\" = 'alice'")" \
	"$(rows "SELECT (SELECT coalesce(sum(length(data)),0) FROM attachments WHERE \"user\" = 'alice') + (SELECT coalesce(sum(bytes),0) FROM conversations WHERE \"user\" = 'alice')")"
check "and they went down" test "$(rows "SELECT bytes FROM user_usage WHERE \"user\" = 'alice'")" -lt "$before"
stack_stop

# A filesystem short of storage_reserve (here: 4 TiB wanted free) takes no
# upload, as it takes no prompt.
if pg_mode; then
	skip "below storage_reserve" "the reserve is free space on SQLite's file system; PostgreSQL's disk is the server's"
	finish
fi
stack_start LIGHTCHAT_STORAGE_RESERVE=4398046511104 || finish
J=$T/jar
login alice "$PW_alice" "$J" >/dev/null
printf '\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01' >"$T/one.png"
out=$(up "$J" "$T/one.png" one.png)
assert_eq "below storage_reserve: 507 storage_full" "${out%% *} $(jq -r .error.code <<<"${out#* }")" "507 storage_full"
stack_stop
finish
