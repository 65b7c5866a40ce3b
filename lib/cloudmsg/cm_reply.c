/*
 * The body of an HTTP registration reply ([cloud] register_url): the
 * quick reference's `POST /api/edge/register` -> {edgeId, siteId}. Clouds
 * answer in camelCase or snake_case and some wrap the object ("data",
 * "edge"); the identity fields are read as in edge_registered.
 */
#include "cloudmsg/cloudmsg.h"
#include "cloudmsg/cm_int.h"

#include <string.h>

int
cm_decode_registration(const char *buf, size_t len, struct cm_identity *id, char *err,
    size_t errlen)
{
	static const char *const wrappers[] = { "data", "edge", "result", NULL };
	json_error_t jerr;
	json_t *root;
	const json_t *o;
	int rc;

	memset(id, 0, sizeof(*id));
	if (len > CM_MAX_MSG)
		return cm_fail(err, errlen, "reply of %zu bytes exceeds the limit of %d", len,
		    CM_MAX_MSG);
	if (cm_check_depth(buf, len, CM_MAX_DEPTH) != 0)
		return cm_fail(err, errlen, "reply nests deeper than %d", CM_MAX_DEPTH);
	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return cm_fail(err, errlen, "invalid JSON at byte %d: %s", jerr.position,
		    jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return cm_fail(err, errlen, "reply is not a JSON object");
	}
	o = root;
	if (json_object_get(root, "edgeId") == NULL && json_object_get(root, "edge_id") == NULL)
		for (size_t i = 0; wrappers[i] != NULL; i++)
			if (json_is_object(json_object_get(root, wrappers[i]))) {
				o = json_object_get(root, wrappers[i]);
				break;
			}
	rc = cm_dec_identity(o, true, id, err, errlen);
	json_decref(root);
	if (rc != 0)
		memset(id, 0, sizeof(*id));
	return rc;
}
