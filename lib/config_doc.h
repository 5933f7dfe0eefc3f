/* config_doc.h - what each setting of lib/config.c's table means, and the
 * commented configuration file made from the table (the package's
 * /etc/lightchat/lightchat.conf, lightchat-admin config --template).
 *
 * The meanings are a table of their own, keyed by name: a key the settings
 * table gains without a meaning here is printed as "(undocumented)" and
 * fails tests/unit/test-config_doc.c, so the file cannot drift from what the
 * programs read. */
#ifndef LC_CONFIG_DOC_H
#define LC_CONFIG_DOC_H

#include <stdio.h>

/* Returns the one-line meaning of key (a static string), or NULL when it
 * has none. */
const char *config_doc(const char *key);

/* Calls fn for every key that has a meaning, in this table's order (keys
 * the settings table may not have: the test compares both). */
void config_doc_each(void (*fn)(const char *key, const char *meaning,
    void *arg), void *arg);

/* A key of an [upstream NAME] or [model PATTERN] section (lib/models.h):
 * kind "upstream" or "model", the key, the example's value, its meaning. */
struct cfg_section_doc {
	const char *kind, *key, *value, *meaning;
};

/* Calls fn for every section key documented, in the example's order. */
void config_doc_sections(void (*fn)(const struct cfg_section_doc *doc,
    void *arg), void *arg);

/* The line that starts the sections' example in the template (after it,
 * no flat setting; scripts/conf2man.awk makes lightchat.conf(5)'s
 * SECTIONS from what follows). */
#define CONFIG_DOC_SECTIONS_MARK "# ---- Sections: several upstreams, the model table ----"

/* Writes the configuration file to fp: a header, then for every key of the
 * settings table, in its order, "# <meaning>" and "#<key> = <default>"
 * ("#<key> =" for an empty default; every setting commented out; the
 * secret API key's default is empty); then the commented example of an
 * [upstream] and a [model] section with each of their keys explained.
 * Returns 0, or -1 when writing failed. fp may not be NULL. */
int config_write_template(FILE *fp);

#endif
