# conf2man.awk - lightchat.conf(5) from its source and the commented
# configuration file (lightchat-admin config --template):
#   awk -v version=V -f scripts/conf2man.awk lightchat.conf lightchat.conf.5.in
# The source's @SETTINGS@ line becomes one .TP entry per setting (its name,
# its meaning, its default), @VERSION@ the version: the page lists exactly
# the keys the programs read. @SECTIONS@ becomes the template's commented
# example of the [upstream] and [model] sections (after its "# ---- Sections"
# line): its introduction, then one .TP entry per section key.

# roff-safe text: backslashes doubled, a leading . or ' escaped
function roff(s) {
	gsub(/\\/, "\\e", s)
	sub(/^[.']/, "\\\\\\&&", s)
	return s
}

FNR == NR && /^# ---- Sections/ {
	insec = 1
	next
}

FNR == NR && insec {
	if ($0 ~ /^#\[/) {
		head = substr($0, 2)
		sub(/ [^ ]*\]$/, (head ~ /^\[upstream/ ? " NAME]" : " PATTERN]"), head)
		ns++
		stext[ns] = ".SS \"" head "\""
	} else if ($0 ~ /^#  [a-z_]+ =/) {
		skey = substr($0, 4)
		sub(/ =.*/, "", skey)
		sval = $0
		sub(/^[^=]*=[ ]?/, "", sval)
		ns++
		stext[ns] = ".TP\n.B " skey "\n" roff(smeaning) "." \
		    (sval == "" ? "" : "\nExample: \\fB" roff(sval) "\\fR.")
	} else if ($0 ~ /^# / && ns == 0) {
		intro = intro (intro == "" ? "" : "\n") roff(substr($0, 3))
	} else if ($0 ~ /^# /) {
		smeaning = substr($0, 3)
	}
	next
}

/^@SECTIONS@$/ {
	print intro
	for (i = 1; i <= ns; i++)
		print stext[i]
	next
}

FNR == NR {
	if ($0 ~ /^# /) {
		meaning = substr($0, 3)
	} else if ($0 ~ /^#[a-z_]+ =/) {
		key = substr($0, 2)
		sub(/ =.*/, "", key)
		def = $0
		sub(/^[^=]*=[ ]?/, "", def)
		n++
		keys[n] = key
		docs[n] = meaning
		defs[n] = def
	}
	next
}

/^@SETTINGS@$/ {
	for (i = 1; i <= n; i++) {
		print ".TP"
		print ".B " keys[i]
		print roff(docs[i]) "."
		if (defs[i] == "")
			print "Default: empty."
		else
			print "Default: \\fB" roff(defs[i]) "\\fR."
	}
	next
}

{
	gsub(/@VERSION@/, version)
	print
}
