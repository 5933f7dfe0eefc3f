/* models_live.h - reading what discovery saw, model by model: the lists
 * models_route and models_each (lib/models.c) walk, and discovery's count
 * of what a new listing added and removed. The record itself, its setters,
 * its state and its file are in models.h; this header only adds the
 * read-only walk over one upstream's discovered names. */
#ifndef LC_MODELS_LIVE_H
#define LC_MODELS_LIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "models.h"

/* The number of models upstream u's last working listing held (kept,
 * marked stale, after a failure); 0 for NULL live or u out of range. */
size_t models_live_count(const struct models_live *live, size_t u);

/* Model i (0 <= i < models_live_count) of upstream u, in listing order;
 * owned by live, valid until the next models_live_set or _read of u.
 * NULL when out of range. */
const char *models_live_name(const struct models_live *live, size_t u,
    size_t i);

/* Whether upstream u's discovered models hold name (false for NULL live). */
bool models_live_has(const struct models_live *live, size_t u,
    const char *name);

#endif
