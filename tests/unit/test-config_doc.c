/* test-config_doc.c - unit tests of lib/config_doc.c: every setting of the
 * table has a meaning, no meaning names a key the table lacks, and the
 * template lists every key, commented out, with its default. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_doc.h"
#include "models_int.h"
#include "unit.h"

struct walk {
	char *text;   /* the template, NUL-terminated */
	int keys, documented, in_template;
};

static void
check_key(const char *key, bool secret, void *arg)
{
	struct walk *w = arg;
	char line[512], name[128];
	const char *def = config_default(key);

	(void)secret;
	w->keys++;
	if (config_doc(key) != NULL) {
		w->documented++;
	} else {
		snprintf(name, sizeof(name), "%s has a meaning in "
		    "lib/config_doc.c", key);
		CHECK(0, name);
	}
	if (def == NULL)
		def = "?";
	snprintf(line, sizeof(line), "\n#%s =%s%s\n", key, def[0] ? " " : "",
	    def);
	if (strstr(w->text, line) != NULL) {
		w->in_template++;
	} else {
		snprintf(name, sizeof(name), "the template has #%s = <default>",
		    key);
		CHECK(0, name);
	}
}

static void
check_doc(const char *key, const char *meaning, void *arg)
{
	char name[128];

	(void)arg;
	snprintf(name, sizeof(name), "%s (documented) is a setting", key);
	CHECK(config_default(key) != NULL, name);
	snprintf(name, sizeof(name), "%s's meaning is one line", key);
	CHECK(meaning[0] != '\0' && strchr(meaning, '\n') == NULL, name);
}

struct sec_walk {
	struct lc_models *mt;
	const char *text;
	unsigned ukeys, rkeys;
	int n;
};

/* Each documented section key: a key the table takes with the example's
 * value, in the template as "#  key = value", its meaning one line. */
static void
check_section(const struct cfg_section_doc *d, void *arg)
{
	struct sec_walk *w = arg;
	char err[MODELS_ERR_MAX], name[160], line[300];
	int rc;

	w->n++;
	rc = models_set(w->mt, d->kind, strcmp(d->kind, "upstream") == 0 ?
	    "ollama" : "qwen3*", d->key, d->value, "doc", err);
	snprintf(name, sizeof(name), "[%s] %s = %s is taken", d->kind, d->key,
	    d->value);
	CHECK(rc == 0, name);
	if (rc != 0)
		printf("#   %s\n", err);
	snprintf(line, sizeof(line), "\n#  %s =%s%s\n", d->key,
	    d->value[0] ? " " : "", d->value);
	snprintf(name, sizeof(name), "[%s] %s is in the template's example",
	    d->kind, d->key);
	CHECK(strstr(w->text, line) != NULL, name);
	CHECK(d->meaning[0] != '\0' && strchr(d->meaning, '\n') == NULL,
	    "a section key's meaning is one line");
}

int
main(void)
{
	struct walk w = { NULL, 0, 0, 0 };
	size_t len = 0;
	FILE *fp = open_memstream(&w.text, &len);

	CHECK(fp != NULL, "open_memstream");
	if (fp == NULL)
		UNIT_EXIT();
	CHECK(config_write_template(fp) == 0, "config_write_template succeeds");
	fclose(fp);

	config_each_key(check_key, &w);
	CHECK(w.keys > 40, "the settings table has its keys");
	CHECK(w.documented == w.keys, "every setting has a meaning");
	CHECK(w.in_template == w.keys, "every setting is in the template");
	config_doc_each(check_doc, NULL);

	CHECK(config_default("no_such_key") == NULL,
	    "config_default of an unknown key is NULL");
	CHECK_STR(config_default("state"), "/var/lib/lightchat",
	    "the default state is the installed one");
	CHECK(strstr(w.text, "\n#state = /var/lib/lightchat\n") != NULL,
	    "the template's state is /var/lib/lightchat");
	CHECK(strstr(w.text, "(undocumented)") == NULL,
	    "the template has no undocumented key");

	/* Every line is a comment or empty: installed as is, it changes
	 * nothing. */
	int bad = 0;
	for (char *p = w.text; *p != '\0';) {
		char *nl = strchr(p, '\n');
		if (*p != '#' && *p != '\n')
			bad++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	CHECK(bad == 0, "every line of the template is a comment");

	/* The sections' example: every key of both kinds, once, valid. */
	struct sec_walk sw = { models_new(), w.text, 0, 0, 0 };
	config_doc_sections(check_section, &sw);
	CHECK(sw.n == MODELS_U__COUNT - 1 + MODELS_F__COUNT,
	    "every section key is documented (api_key: environment only)");
	CHECK(sw.mt->nup == 1 && sw.mt->up_set[0] ==
	    (((1u << MODELS_U__COUNT) - 1) & ~(1u << MODELS_U_API_KEY)),
	    "every [upstream] key but api_key is in the example");
	CHECK(sw.mt->nrules == 1 &&
	    sw.mt->rules[0].set == (1u << MODELS_F__COUNT) - 1,
	    "every [model] key is in the example");
	CHECK(strstr(w.text, "\n" CONFIG_DOC_SECTIONS_MARK "\n") != NULL,
	    "the template has the sections' mark");
	models_free(sw.mt);
	free(w.text);
	UNIT_EXIT();
}
