/*
 * Identity recovery by the rules of REST_API.md section 3.2, as pure
 * functions over an answer's status and body. The body words are the old
 * client's, kept exactly so that a cloud built against it recovers the same
 * way; "missing" is broad (section 8 item 9) but only counts on a 401/404 of
 * an authenticated path.
 */
#include "rest/rest.h"

#include <ctype.h>
#include <string.h>

/* Case-insensitive search of word (lower case) in len bytes of body. */
static bool
contains(const char *body, size_t len, const char *word)
{
	size_t w = strlen(word);

	if (body == NULL || w == 0 || len < w)
		return false;
	for (size_t i = 0; i + w <= len; i++) {
		size_t k = 0;
		while (k < w && tolower((unsigned char)body[i + k]) == word[k])
			k++;
		if (k == w)
			return true;
	}
	return false;
}

bool
rest_auth_rejected(int status, const char *body, size_t len)
{
	static const char *const words[] = { "missing", "invalid edge", "unknown edge",
		"invalid_edge", "unknown_edge", "x-edge-id" };

	if (status != 401 && status != 404)
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (contains(body, len, words[i]))
			return true;
	return false;
}

bool
rest_register_retry_fresh(int status, const char *body, size_t len)
{
	if (status >= 200 && status <= 299)
		return false;
	if (status == 404 || contains(body, len, "not found"))
		return true;
	return status == 400 && (contains(body, len, "edge") || contains(body, len, "uuid") ||
	    contains(body, len, "invalid"));
}

enum rest_auth_action
rest_auth_action(int status, const char *body, size_t len, const char *sent_edge_id,
    const char *current_edge_id, bool registering, bool repeated)
{
	if (!rest_auth_rejected(status, body, len))
		return REST_AUTH_NONE;
	if (repeated)
		return REST_AUTH_GIVE_UP;
	if (current_edge_id != NULL && *current_edge_id != '\0' &&
	    strcmp(sent_edge_id ? sent_edge_id : "", current_edge_id) != 0)
		return REST_AUTH_REPEAT;
	return registering ? REST_AUTH_WAIT : REST_AUTH_START;
}
