/* id.c - checking and making conversation ids. */
#include "id.h"

#include <stddef.h>
#include <sys/random.h>
#include <sys/types.h>

#include "log.h"

int
id_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return 0;
	for (; id[n]; n++)
		if (!((id[n] >= '0' && id[n] <= '9') ||
		    (id[n] >= 'a' && id[n] <= 'f')))
			return 0;
	return n == ID_LEN;
}

int
id_new(char id[ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[ID_LEN / 2];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		log_err("id: getrandom failed");
		return -1;
	}
	for (size_t i = 0; i < sizeof(rnd); i++) {
		id[2 * i] = hex[rnd[i] >> 4];
		id[2 * i + 1] = hex[rnd[i] & 15];
	}
	id[ID_LEN] = '\0';
	return 0;
}
